"""Follow-up questions with and without saved system prompts (TUTOR_LLM_PREFIX_STATES), one
run, the same conversations, each configuration with its own model copy, the order
alternated per conversation.

A follow-up that leans on the conversation ("and how is it different from a VAE?") is
rewritten by the model under its own system prompt before retrieval, so llama.cpp's cache
then holds the rewrite prompt, not the tutor's rules. With saved states the rules come back
from memory; without, they are read again. Reports the follow-up's time to first token and
total (p50, p95), the prompt tokens found in the cache, and the ratios.

Uses the index in the data directory and the eval's multi-turn conversations.

    python benchmarks/bench_followup.py [--cases 10] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from common import latency, pct, timed, write_results  # noqa: E402

from tutor.answer import Retrieved, Turn, open_tutor  # noqa: E402
from tutor.config import Settings  # noqa: E402


def follow_up(tutor, case: dict) -> dict:
    history = [Turn(t["role"], t["content"]) for t in case["history"]]
    run = timed(tutor.stream(case["question"], history=history))
    query = next((e.query for e in run.events if isinstance(e, Retrieved)), case["question"])
    timings = run.answer.timings if run.answer else {}
    counts = run.answer.counts if run.answer else {}
    return {
        "id": case["id"],
        "first_token_s": run.first_token_s,
        "total_s": run.total_s,
        "query_changed": query != case["question"],
        "rewrite_s": timings.get("rewrite_s"),
        # Found in the cache by the first call after the rewrite (the answerability check).
        "prompt_tokens_reused": counts.get("check_prompt_tokens_reused"),
        "abstained": bool(run.answer and run.answer.abstained),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=10)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/followup.json"))
    args = parser.parse_args()

    base = Settings(answer_cache=False)  # generated answers, not cache hits
    configs = {"saved system prompts": base.llm_prefix_states, "none": 0}
    tutors = {
        name: open_tutor(base.model_copy(update={"llm_prefix_states": n}))
        for name, n in configs.items()
    }
    path = base.evals_dir / "datasets" / "multi_turn.jsonl"
    cases = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    cases = cases[: args.cases]
    print(
        f"# machine: {platform.machine()}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}; "
        f"model {base.llm_model}; {len(cases)} follow-ups"
    )
    for tutor in tutors.values():
        tutor.ask("What is a GAN?")  # load the model, read the rules once
    rows: dict[str, list[dict]] = {name: [] for name in tutors}
    for i, case in enumerate(cases, 1):
        for name in list(tutors) if i % 2 else list(tutors)[::-1]:
            rows[name].append(follow_up(tutors[name], case))
        print(
            f"  {i}/{len(cases)} "
            + ", ".join(f"{n} {rows[n][-1]['first_token_s']:.1f} s to first token" for n in rows),
            flush=True,
        )
    summary = {
        name: latency(runs)
        | {
            "query_changed": sum(r["query_changed"] for r in runs),
            "prompt_tokens_reused_p50": pct([r["prompt_tokens_reused"] or 0 for r in runs], 0.5),
        }
        for name, runs in rows.items()
    }
    saved, none = summary["saved system prompts"], summary["none"]
    ratios = {
        "first_token_p50": round(saved["first_token_p50_s"] / none["first_token_p50_s"], 3),
        "total_p50": round(saved["total_p50_s"] / none["total_p50_s"], 3),
    }
    for name, s in summary.items():
        print(
            f"{name:>22}: first token p50 {s['first_token_p50_s']:.1f} s, p95 "
            f"{s['first_token_p95_s']:.1f} s; total p50 {s['total_p50_s']:.1f} s, p95 "
            f"{s['total_p95_s']:.1f} s; the rewrite changed the question in "
            f"{s['query_changed']}/{len(cases)}; prompt tokens the answerability check found "
            f"in the cache p50 {s['prompt_tokens_reused_p50']}"
        )
    print("saved / none: " + ", ".join(f"{k} {v:.2f}x" for k, v in ratios.items()))
    write_results(
        args.out,
        {
            "model": base.llm_model,
            "cases": len(cases),
            "summary": summary,
            "ratios": ratios,
            "answers": rows,
        },
    )


if __name__ == "__main__":
    main()
