"""Whole passages vs selected evidence (TUTOR_EVIDENCE_TOKENS), measured in one run on the same
questions: evidence tokens, time to first token, total time, declines, and the key-fact recall
of the answers as the calibrated local judge sees it.

Uses the index in the data directory (`tutor fetch && tutor index` first, for the linked
resources) and the eval's questions that have key facts (answerable, answerable_mirror,
false_premise), a fixed-seed sample of them.

    python benchmarks/bench_evidence.py [--budget 250] [--cases 30] [--out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import time
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from common import pct, timed  # noqa: E402

from tutor.answer import open_tutor  # noqa: E402
from tutor.config import Settings  # noqa: E402

DATASETS = ("answerable.jsonl", "answerable_mirror.jsonl", "false_premise.jsonl")


def mean_interval(values: list[float], resamples: int = 2000) -> tuple[float, float, float]:
    """Mean and a 95% percentile-bootstrap interval (fixed seed)."""
    rng = random.Random(0)
    means = sorted(statistics.fmean(rng.choices(values, k=len(values))) for _ in range(resamples))
    return statistics.fmean(values), means[int(0.025 * resamples)], means[int(0.975 * resamples)]


def load_cases(settings: Settings, count: int, seed: int) -> list[dict]:
    cases = []
    for name in DATASETS:
        path = settings.evals_dir / "datasets" / name
        cases += [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    cases = [c for c in cases if c.get("key_facts")]
    random.Random(seed).shuffle(cases)
    return cases[:count]


def answer_once(tutor, question: str) -> dict:
    run = timed(tutor.stream(question))
    return {
        "first_token_s": run.first_token_s,
        "total_s": run.total_s,
        "prompt_tokens": run.answer.prompt_tokens.get("evidence", 0),
        "abstained": run.answer.abstained,
        "text": run.answer.text,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument(
        "--budget",
        type=int,
        default=Settings.model_fields["evidence_tokens"].default,
        help="evidence tokens to compare with whole passages (default: the tutor's default)",
    )
    parser.add_argument("--cases", type=int, default=30)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/evidence.json"))
    args = parser.parse_args()

    settings = Settings(answer_cache=False)  # timings of generated answers, not of cache hits
    tutor = open_tutor(settings)
    cases = load_cases(settings, args.cases, args.seed)
    configs = {"whole passages": 0, f"evidence {args.budget}": args.budget}
    print(
        f"# machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}, {time.strftime('%Y-%m-%d')}; "
        f"model {settings.llm_model}; {len(cases)} questions"
    )
    tutor.ask("What is a GAN?")  # load the model and fill the system prompt's KV cache
    rows: dict[str, list[dict]] = {name: [] for name in configs}
    for i, case in enumerate(cases, 1):
        # Alternate the order so neither configuration always runs on a warm cache.
        order = list(configs.items()) if i % 2 else list(reversed(configs.items()))
        for name, budget in order:
            tutor.settings = settings.model_copy(update={"evidence_tokens": budget})
            row = answer_once(tutor, case["question"]) | {"id": case["id"]}
            rows[name].append(row)
        print(f"  {i}/{len(cases)} answered", flush=True)

    from tutor.evals.datasets import load_calibration
    from tutor.evals.judges import calibrate, make_judge
    from tutor.evals.metrics import key_fact_recall

    judge = make_judge(settings)
    calibration = calibrate(judge, load_calibration(settings.evals_dir / "datasets"))
    facts = {c["id"]: c["key_facts"] for c in cases}

    summary = {}
    for name, answers in rows.items():
        recall = [
            key_fact_recall(a["text"], facts[a["id"]], judge.entails) if not a["abstained"] else 0
            for a in answers
        ]
        mean, low, high = mean_interval(recall)
        summary[name] = {
            "prompt_tokens_p50": pct([a["prompt_tokens"] for a in answers], 0.5),
            "first_token_p50_s": round(pct([a["first_token_s"] for a in answers], 0.5), 2),
            "first_token_p95_s": round(pct([a["first_token_s"] for a in answers], 0.95), 2),
            "total_p50_s": round(pct([a["total_s"] for a in answers], 0.5), 2),
            "total_p95_s": round(pct([a["total_s"] for a in answers], 0.95), 2),
            "declined": round(sum(a["abstained"] for a in answers) / len(answers), 3),
            "key_fact_recall": round(mean, 3),
            "key_fact_recall_ci95": [round(low, 3), round(high, 3)],
        }
    whole, evidence = (summary[n] for n in configs)
    ratios = {
        "prompt_tokens": evidence["prompt_tokens_p50"] / max(1, whole["prompt_tokens_p50"]),
        "first_token_p50": evidence["first_token_p50_s"] / whole["first_token_p50_s"],
        "total_p50": evidence["total_p50_s"] / whole["total_p50_s"],
    }
    print(
        f"judge: {calibration['judge']}, test-half balanced accuracy "
        f"{calibration['balanced_accuracy']:.3f} (floor {calibration['floor']})"
    )
    header = f"{'':>16} {'evidence tok':>10} {'first p50':>9} {'first p95':>9} {'total p50':>9} "
    print(header + f"{'total p95':>9} {'declined':>8} {'key facts (95% CI)':>20}")
    for name, s in summary.items():
        print(
            f"{name:>16} {s['prompt_tokens_p50']:>10} {s['first_token_p50_s']:>8.1f}s "
            f"{s['first_token_p95_s']:>8.1f}s {s['total_p50_s']:>8.1f}s {s['total_p95_s']:>8.1f}s "
            f"{s['declined']:>8.0%} {s['key_fact_recall']:>7.2f} "
            f"({s['key_fact_recall_ci95'][0]:.2f}-{s['key_fact_recall_ci95'][1]:.2f})"
        )
    print("evidence / whole: " + ", ".join(f"{k} {v:.2f}x" for k, v in ratios.items()))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(
        json.dumps(
            {
                "date": time.strftime("%Y-%m-%d"),
                "machine": f"{platform.machine()}, {os.cpu_count()} cores",
                "model": settings.llm_model,
                "cases": len(cases),
                "judge": {k: calibration[k] for k in ("judge", "balanced_accuracy", "ci95")},
                "summary": summary,
                "ratios": {k: round(v, 3) for k, v in ratios.items()},
                "answers": rows,
            },
            indent=1,
        )
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
