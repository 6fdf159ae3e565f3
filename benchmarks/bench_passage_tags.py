"""Passage tags with the source's file path (the format until 2026-12-06) against tags with
the section only (prompts.PASSAGE now), measured in one run on the same questions: prompt
tokens, time to first token, total time, declines.

The path told the model nothing the section does not, and cost about 20 tokens a passage,
all read before the first word. Both formats answer every question with the same model
copy, alternating which goes first.

Uses the index in the data directory (`tutor fetch && tutor index` first, for the linked
resources) and the eval's questions that have key facts, a fixed-seed sample.

    python benchmarks/bench_passage_tags.py [--cases 12] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from bench_evidence import load_cases  # noqa: E402
from common import latency, timed, write_results  # noqa: E402

from tutor import prompts  # noqa: E402
from tutor.answer import open_tutor  # noqa: E402
from tutor.config import Settings  # noqa: E402

WITH_PATH = '<passage number="{number}" source="{source}" section="{section}">\n{text}\n</passage>'


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=12)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/passage_tags.json"))
    args = parser.parse_args()

    settings = Settings(answer_cache=False)  # timings of generated answers, not of cache hits
    tutor = open_tutor(settings)
    cases = load_cases(settings, args.cases, args.seed)
    formats = {"with file path (before)": WITH_PATH, "section only (now)": prompts.PASSAGE}
    print(
        f"# machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}, {time.strftime('%Y-%m-%d')}; "
        f"model {settings.llm_model}; {len(cases)} questions"
    )
    tutor.ask("What is a GAN?")  # load the model and fill the system prompt's KV cache
    rows: dict[str, list[dict]] = {name: [] for name in formats}
    for i, case in enumerate(cases, 1):
        order = list(formats.items()) if i % 2 else list(reversed(formats.items()))
        for name, template in order:
            prompts.PASSAGE = template  # read by format_passages at each call
            run = timed(tutor.stream(case["question"]))
            answer = run.answer
            rows[name].append(
                {
                    "id": case["id"],
                    "first_token_s": run.first_token_s,
                    "total_s": run.total_s,
                    "evidence_tokens": answer.prompt_tokens.get("evidence", 0),
                    "prompt_tokens": answer.usage["prompt_tokens"],
                    "abstained": answer.abstained,
                }
            )
        print(f"  {i}/{len(cases)} answered", flush=True)

    summary = {}
    for name, runs in rows.items():
        summary[name] = latency(runs) | {
            "evidence_tokens_p50": statistics.median(r["evidence_tokens"] for r in runs),
            "declined": sum(r["abstained"] for r in runs),
            "summed_s": round(sum(r["total_s"] for r in runs), 1),
        }
    before, now = (summary[n] for n in formats)
    ratios = {
        "evidence_tokens": now["evidence_tokens_p50"] / max(1, before["evidence_tokens_p50"]),
        "first_token_p50": now["first_token_p50_s"] / before["first_token_p50_s"],
        "total_p50": now["total_p50_s"] / before["total_p50_s"],
        "summed": now["summed_s"] / before["summed_s"],
    }
    print(
        f"{'':>24} {'evidence tok':>12} {'first p50/p95':>14} {'total p50/p95':>14} {'declined':>8}"
    )
    for name, s in summary.items():
        print(
            f"{name:>24} {s['evidence_tokens_p50']:>12} "
            f"{s['first_token_p50_s']:>6.1f}/{s['first_token_p95_s']:<6.1f}s "
            f"{s['total_p50_s']:>6.1f}/{s['total_p95_s']:<6.1f}s {s['declined']:>8}"
        )
    print("now / before: " + ", ".join(f"{k} {v:.2f}x" for k, v in ratios.items()))
    write_results(
        args.out,
        {"model": settings.llm_model, "cases": len(cases), "summary": summary, "ratios": ratios}
        | {"rows": rows},
    )


if __name__ == "__main__":
    main()
