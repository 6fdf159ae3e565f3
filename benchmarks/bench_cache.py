"""The answer cache: each of bench_core's answer questions asked twice, the first time
generated, the second answered from the cache, both timed in the same run (the first is the
baseline).

Uses the current settings (default: the 1.5B model and whatever index is built) with a
cache file of its own in a temporary folder, so no earlier answer is reused.

    python benchmarks/bench_cache.py [--model qwen2.5-coder-0.5b]

Writes benchmarks/results/cache.json.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")

from bench_core import ASK_QUESTIONS as QUESTIONS  # noqa: E402

from tutor.evals.metrics import percentile  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="TUTOR_LLM_MODEL")
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/cache.json"))
    args = parser.parse_args()

    from tutor.answer import Tutor, open_tutor
    from tutor.answer_cache import AnswerCache
    from tutor.config import Settings

    settings = Settings(**({"llm_model": args.model} if args.model else {}))
    base = open_tutor(settings.model_copy(update={"answer_cache": False}))
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        cache = AnswerCache(Path(folder) / "answer-cache.sqlite")
        tutor = Tutor(settings, base.retriever, base.llm, cache)
        for question in QUESTIONS:
            t0 = time.perf_counter()
            first = tutor.ask(question)
            generated_s = time.perf_counter() - t0
            t0 = time.perf_counter()
            again = tutor.ask(question.lower().rstrip("?"))
            cached_s = time.perf_counter() - t0
            assert again.cached and again.text == first.text
            rows.append({"question": question, "generated_s": generated_s, "cached_s": cached_s})
            print(f"{generated_s:7.2f} s -> {cached_s * 1000:7.1f} ms  {question}", flush=True)
    generated = [r["generated_s"] for r in rows]
    cached = [r["cached_s"] for r in rows]
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} CPU cores",
        "model": base.llm.model_id,
        "chunks": len(base.retriever.index.chunks),
        "generated_p50_s": percentile(generated, 50),
        "cached_answer_s": percentile(cached, 50),
        "cached_max_s": max(cached),
        "speedup_p50": percentile(generated, 50) / percentile(cached, 50),
        "rows": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(
        f"\nmodel {result['model']}, {result['chunks']} chunks: generated p50 "
        f"{result['generated_p50_s']:.2f} s (baseline), cached p50 "
        f"{result['cached_answer_s'] * 1000:.1f} ms, max {result['cached_max_s'] * 1000:.1f} ms; "
        f"{result['speedup_p50']:.0f}x"
    )


if __name__ == "__main__":
    main()
