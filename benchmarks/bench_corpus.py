"""Corpus benchmark: index size and build time for the core corpus, then core + the fetched
mirror; and whether 20 topic searches find a study note and, with the mirror, a resource.

    python benchmarks/bench_corpus.py [--mirror ../shared/resources]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_roadmap import TOPIC_QUERIES  # noqa: E402

from tutor.config import Settings  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--mirror", type=Path, default=Path(__file__).resolve().parents[2] / "shared" / "resources"
    )
    args = parser.parse_args()

    from tutor.embed import Embedder
    from tutor.fetch import fetch_resources, load_catalog
    from tutor.index import build_index, load_index
    from tutor.retrieve import Retriever

    settings = Settings(data_dir=Path(tempfile.mkdtemp(prefix="tutor-corpus-")))
    embedder = Embedder(settings.embed_model, settings.embed_precision)
    print(f"# {time.strftime('%Y-%m-%d')}, {os.cpu_count()} cores, embedder {settings.embed_model}")

    def measure(label: str) -> None:
        report = build_index(settings, embedder=embedder)
        index = load_index(settings)
        print(
            f"{label}: {len(index.manifest['sources'])} documents, {report.chunks} chunks, "
            f"built in {report.seconds:.1f} s ({report.chunks_embedded} chunks embedded, "
            f"{report.chunks_embedded / report.seconds:.1f} chunks/s), "
            f"{len(report.skipped)} files skipped"
        )
        for skipped in report.skipped:
            print(f"   skipped {skipped.path}: {skipped.reason}")
        retriever = Retriever(index, embedder, settings)
        note_hits = resource_hits = 0
        for query, note in TOPIC_QUERIES:
            hits = retriever.search(query, top_k=5)
            sources = [h.chunk.source_id for h in hits]
            note_hits += f"notes/{note}" in sources[:3]
            from_resources = [s for s in sources if s.startswith("resources/")]
            resource_hits += bool(from_resources)
            if from_resources:
                print(f"   {query!r}: {from_resources[0]}")
        print(
            f"   topic searches with their study note in the top 3: {note_hits}/20; "
            f"with a fetched resource in the top 5: {resource_hits}/20"
        )

    measure("core corpus")
    t = time.perf_counter()
    report = fetch_resources(
        load_catalog(settings.corpus_dir), settings.data_dir, mirror=args.mirror
    )
    print(
        f"fetch --from mirror: {sum(report.fetched.values())} files in "
        f"{time.perf_counter() - t:.1f} s, {len(report.failed)} failed"
    )
    measure("core + mirror (incremental: only the new files are embedded)")


if __name__ == "__main__":
    main()
