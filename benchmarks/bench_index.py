"""Full index of the core corpus plus the fetched resources, with the embedder in fp32 and in
bfloat16 (TUTOR_EMBED_PRECISION), in one run: build time, chunks per second, and retrieval
quality of each index (recall@k and MRR of the eval's gold-sourced questions, queries
embedded the same way as the index).

Both builds start from scratch in one temporary data directory (the resources are copied
from the mirror once); the order is fp32 first, so bfloat16 never gains from a warmer page
cache for the model files.

    python benchmarks/bench_index.py [--mirror ../shared/resources] [--out FILE]

`--sample N` measures only the embedder, in minutes rather than half an hour: N chunks of
the current index (a fixed random sample) embedded in fp32 and in bfloat16, alternating
which goes first over `--rounds` rounds; it decides what TUTOR_EMBED_PRECISION=auto should
pick on a new kind of CPU.
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

from common import write_results  # noqa: E402

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


def embed_sample(settings: Settings, n: int, rounds: int, out: Path) -> None:
    import random

    from tutor.embed import Embedder, bf16_is_faster
    from tutor.index import load_index

    chunks = list(load_index(settings).chunks)
    texts = [c.text for c in random.Random(0).sample(chunks, min(n, len(chunks)))]
    embedders = {p: Embedder(settings.embed_model, p) for p in ("fp32", "bf16")}
    for embedder in embedders.values():
        embedder.embed(texts[:32])  # warm up (first-call allocations)
    seconds: dict[str, list[float]] = {p: [] for p in embedders}
    for r in range(rounds):
        for precision in ("fp32", "bf16") if r % 2 == 0 else ("bf16", "fp32"):
            started = time.perf_counter()
            embedders[precision].embed(texts)
            seconds[precision].append(time.perf_counter() - started)
    best = {p: min(v) for p, v in seconds.items()}
    ratio = best["fp32"] / best["bf16"]
    print(
        f"# {platform.processor() or platform.machine()}, {os.cpu_count()} cores, AMX: "
        f"{bf16_is_faster()}; {len(texts)} chunks, {rounds} rounds"
    )
    for p, v in seconds.items():
        print(f"{p}: best {best[p]:.1f} s ({len(texts) / best[p]:.1f} chunks/s); all {v}")
    print(f"bf16 speed-up over fp32: {ratio:.2f}x (below 1: bfloat16 is slower here)")
    write_results(
        out,
        {
            "embed_model": settings.embed_model,
            "chunks": len(texts),
            "seconds": seconds,
            "amx": bf16_is_faster(),
            "bf16_speedup": round(ratio, 3),
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--mirror", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "resources"
    )
    parser.add_argument("--out", type=Path, default=None)
    parser.add_argument("--sample", type=int, default=0, help="embed N chunks only (no build)")
    parser.add_argument("--rounds", type=int, default=4)
    args = parser.parse_args()
    if args.sample:
        out = args.out or Path("benchmarks/results/embed_precision.json")
        return embed_sample(Settings(), args.sample, args.rounds, out)
    args.out = args.out or Path("benchmarks/results/index.json")

    from tutor.embed import Embedder, bf16_is_faster
    from tutor.fetch import fetch_resources, load_catalog
    from tutor.index import build_index

    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="tutor-bench-index-")))
    fetch_resources(load_catalog(settings.corpus_dir), settings.data_dir, mirror=args.mirror)
    queries = gold_queries(settings)
    print(
        f"# machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"bfloat16 faster here (AMX): {bf16_is_faster()}; {time.strftime('%Y-%m-%d')}; embedder "
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
