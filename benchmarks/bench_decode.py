"""Plain decoding against prompt-lookup speculative decoding (TUTOR_LLM_LOOKUP_TOKENS), one
run, the same questions, each configuration with its own model copy (so neither reads the
other's KV cache), the order alternated per question.

Reports per configuration: time to first token and total (p50, p95), decode speed (tokens
written per second between the first and the last streamed token), tokens written per
forward pass and the share of drafted tokens the model kept; and the ratios against plain
decoding measured in the same run.

Uses the index in the data directory (`tutor fetch && tutor index` first, for the linked
resources) and a fixed-seed sample of the eval's questions with key facts.

    python benchmarks/bench_decode.py [--lookup 4 8] [--cases 16] [--out FILE]
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

from bench_evidence import load_cases  # noqa: E402
from common import pct, timed  # noqa: E402

from tutor.answer import open_tutor  # noqa: E402
from tutor.config import Settings  # noqa: E402


def answer_once(tutor, question: str) -> dict:
    run = timed(tutor.stream(question))
    answer = run.answer
    written = answer.usage.get("completion_tokens", 0) if answer else 0
    streamed = run.last_token_s is not None
    return {
        "first_token_s": run.first_token_s,
        "total_s": run.total_s,
        "completion_tokens": written,
        "decode_s": run.last_token_s - run.first_token_s if streamed else 0.0,
        "decode_steps": answer.counts.get("decode_steps") if answer else None,
        "draft_accepted": answer.counts.get("draft_accepted") if answer else None,
        "abstained": bool(answer and answer.abstained),
        "text": answer.text if answer else "",
    }


def summarise(rows: list[dict]) -> dict:
    written = [r for r in rows if r["completion_tokens"] > 1 and r["decode_s"] > 0]
    tokens = sum(r["completion_tokens"] - 1 for r in written)
    seconds = sum(r["decode_s"] for r in written)
    steps = [r for r in written if r["decode_steps"]]
    return {
        "first_token_p50_s": round(pct([r["first_token_s"] for r in rows], 0.5), 2),
        "first_token_p95_s": round(pct([r["first_token_s"] for r in rows], 0.95), 2),
        "total_p50_s": round(pct([r["total_s"] for r in rows], 0.5), 2),
        "total_p95_s": round(pct([r["total_s"] for r in rows], 0.95), 2),
        "decode_tokens_per_s": round(tokens / seconds, 2) if seconds else None,
        "tokens_per_forward_pass": round(
            sum(r["completion_tokens"] for r in steps) / sum(r["decode_steps"] for r in steps), 2
        )
        if steps
        else 1.0,
        "completion_tokens_p50": pct([r["completion_tokens"] for r in rows], 0.5),
        "declined": sum(r["abstained"] for r in rows),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--lookup", type=int, nargs="+", default=[4], help="draft sizes to try")
    parser.add_argument("--cases", type=int, default=16)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/decode.json"))
    args = parser.parse_args()

    base = Settings(answer_cache=False)  # generated answers, not cache hits
    configs = {"plain": 0} | {f"lookup {k}": k for k in args.lookup}
    tutors = {
        name: open_tutor(base.model_copy(update={"llm_lookup_tokens": k}))
        for name, k in configs.items()
    }
    cases = load_cases(base, args.cases, args.seed)
    print(
        f"# machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}, {time.strftime('%Y-%m-%d')}; "
        f"model {base.llm_model}, temperature {base.temperature}; {len(cases)} questions"
    )
    for tutor in tutors.values():
        tutor.ask("What is a GAN?")  # load the model and fill the rules' KV cache
    rows: dict[str, list[dict]] = {name: [] for name in configs}
    for i, case in enumerate(cases, 1):
        order = list(tutors) if i % 2 else list(reversed(tutors))
        for name in order:
            rows[name].append(answer_once(tutors[name], case["question"]) | {"id": case["id"]})
        print(f"  {i}/{len(cases)} answered", flush=True)

    summary = {name: summarise(r) for name, r in rows.items()}
    plain = summary["plain"]
    ratios = {
        name: {
            "decode_speed": round(s["decode_tokens_per_s"] / plain["decode_tokens_per_s"], 3),
            "first_token_p50": round(s["first_token_p50_s"] / plain["first_token_p50_s"], 3),
            "total_p50": round(s["total_p50_s"] / plain["total_p50_s"], 3),
        }
        for name, s in summary.items()
        if name != "plain" and s["decode_tokens_per_s"] and plain["decode_tokens_per_s"]
    }
    print(
        f"{'':>10} {'first p50':>9} {'first p95':>9} {'total p50':>9} {'total p95':>9} "
        f"{'decode tok/s':>12} {'tok/pass':>8} {'declined':>8}"
    )
    for name, s in summary.items():
        print(
            f"{name:>10} {s['first_token_p50_s']:>8.1f}s {s['first_token_p95_s']:>8.1f}s "
            f"{s['total_p50_s']:>8.1f}s {s['total_p95_s']:>8.1f}s "
            f"{s['decode_tokens_per_s'] or 0:>12.1f} {s['tokens_per_forward_pass']:>8.2f} "
            f"{s['declined']:>8}"
        )
    for name, r in ratios.items():
        print(f"{name} / plain: " + ", ".join(f"{k} {v:.2f}x" for k, v in r.items()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "date": time.strftime("%Y-%m-%d"),
                "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                "model": base.llm_model,
                "temperature": base.temperature,
                "cases": len(cases),
                "summary": summary,
                "ratios": ratios,
                "answers": rows,
            },
            indent=1,
        )
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
