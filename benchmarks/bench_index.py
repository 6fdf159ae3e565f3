"""Full index of the core corpus plus the fetched resources, with the embedder in fp32 and in
bfloat16 (TUTOR_EMBED_PRECISION), in one run: build time, chunks per second, and retrieval
quality of each index (recall@k and MRR of the eval's gold-sourced questions, queries
embedded the same way as the index).

Both builds start from scratch in one temporary data directory (the resources are copied
from the mirror once); the order is fp32 first, so bfloat16 never gains from a warmer page
cache for the model files.

    python benchmarks/bench_index.py [--mirror ../shared/resources] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from tutor.config import Settings  # noqa: E402

SUITES = ("answerable", "multi_turn", "false_premise", "benign_lookalikes")  # as the eval


def gold_queries(settings: Settings) -> list[tuple[str, list[str]]]:
    from tutor.evals.datasets import load_suite

    queries = []
    for suite in SUITES:
        for record in load_suite(settings.evals_dir / "datasets", suite):
            gold = record.get("gold_sources")
            question = record.get("standalone") or record.get("question")
            if gold and isinstance(question, str):
                queries.append((question, gold))
    return queries


def retrieval(settings: Settings, embedder, queries) -> dict:
    from tutor.evals.metrics import first_gold_rank, retrieval_scores
    from tutor.index import load_index
    from tutor.retrieve import Retriever

    retriever = Retriever(load_index(settings), embedder, settings)
    out = {}
    for mode in ("dense", "hybrid"):
        ranks = []
        for query, gold in queries:
            hits = retriever.search(query, top_k=10, mode=mode)
            ranks.append(first_gold_rank([h.chunk.source_id for h in hits], gold))
        scores = retrieval_scores(ranks)
        out[mode] = {
            "recall@5": round(scores["recall@5"]["value"], 4),
            "recall@10": round(scores["recall@10"]["value"], 4),
            "mrr": round(scores["mrr"], 4),
            "queries": scores["n"],
        }
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--mirror", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "resources"
    )
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/index.json"))
    args = parser.parse_args()

    from tutor.embed import Embedder, cpu_has_bf16
    from tutor.fetch import fetch_resources, load_catalog
    from tutor.index import build_index

    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="tutor-bench-index-")))
    fetch_resources(load_catalog(settings.corpus_dir), settings.data_dir, mirror=args.mirror)
    queries = gold_queries(settings)
    print(
        f"# machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"bfloat16 in hardware: {cpu_has_bf16()}; {time.strftime('%Y-%m-%d')}; embedder "
        f"{settings.embed_model}; {len(queries)} gold-sourced questions"
    )
    results = {}
    for precision in ("fp32", "bf16"):
        embedder = Embedder(settings.embed_model, precision)
        report = build_index(settings, embedder=embedder, rebuild=True)
        results[precision] = {
            "chunks": report.chunks,
            "seconds": round(report.seconds, 1),
            "chunks_per_s": round(report.chunks_embedded / report.seconds, 1),
            "retrieval": retrieval(settings, embedder, queries),
        }
        r = results[precision]
        print(
            f"{precision}: {r['chunks']} chunks in {r['seconds']} s ({r['chunks_per_s']}/s); "
            + "; ".join(
                f"{mode} recall@5 {s['recall@5']:.3f}, MRR {s['mrr']:.3f}"
                for mode, s in r["retrieval"].items()
            ),
            flush=True,
        )
    speedup = results["fp32"]["seconds"] / results["bf16"]["seconds"]
    print(f"index speed-up bf16 / fp32: {speedup:.2f}x")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "date": time.strftime("%Y-%m-%d"),
                "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                "embed_model": settings.embed_model,
                "results": results,
                "index_speedup": round(speedup, 3),
            },
            indent=1,
        )
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
