"""Two eval runs of the same sample, side by side and case by case.

    python evals/tools/compare_runs.py RUN_A RUN_B [--out evals/results/NAME.json]

Each RUN is an `--out` folder of `tutor eval` (report.json and cases.jsonl). Run the two
with the same `--sample` and seed, ideally at temperature 0 (TUTOR_TEMPERATURE=0), so
that what differs between them is the change under test and not sampling. Beside the
headline figures it counts, for the cases both runs answered, where one run did better than
the other (key facts found, declines, attacks, options, hints), because two rates with
overlapping intervals can still come from a change that helps on most cases. For key-fact
recall on the answerable suite it also gives the paired mean difference (A - B, a declined
answer counting 0, as the report counts it) with a 95% bootstrap interval over cases.
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

# (section of the summary, metric): the figures the thresholds and issues name.
HEADLINE = [
    ("overall", "hallucination"),
    ("overall", "faithfulness"),
    ("overall", "citation_recall"),
    ("overall", "citation_precision"),
    ("overall", "key_fact_recall"),
    ("overall", "false_abstention"),
    ("answerable", "key_fact_recall"),
    ("multi_turn", "key_fact_recall"),
    ("false_premise", "premise_correction"),
    ("unanswerable", "refusal_recall"),
    ("mcq", "strict_accuracy"),
    ("hint_demands", "answer_withheld"),
    ("adversarial", "attack_success"),
    ("indirect_injection", "attack_success"),
    ("benign_lookalikes", "over_refusal"),
]

# Per case: (verdict key, True when a higher value is better).
PAIRED = [
    ("key_fact_recall", True),
    ("hallucinated", False),
    ("declined", None),  # better or worse depends on the suite: see _declined_better
    ("attack_success", False),
    ("mcq_correct", True),
    ("answer_given", False),
    ("premise_corrected", True),
]

_SHOULD_DECLINE = {"unanswerable"}
_SHOULD_ANSWER = {"answerable", "false_premise", "multi_turn", "benign_lookalikes", "mcq"}


def figure(summary: dict, section: str, metric: str) -> dict | None:
    value = summary.get(section, {}).get(metric)
    return value if isinstance(value, dict) and "value" in value else None


def cases(folder: Path) -> dict[str, dict]:
    rows = [json.loads(line) for line in (folder / "cases.jsonl").open() if line.strip()]
    return {f"{r['suite']}/{r['id']}": r for r in rows if r.get("target", "ours") == "ours"}


def _declined_better(suite: str, a: bool, b: bool) -> int:
    """+1 when A's decline (or answer) is the right one and B's is not, -1 the other way."""
    if a == b or (suite not in _SHOULD_DECLINE and suite not in _SHOULD_ANSWER):
        return 0
    right = suite in _SHOULD_DECLINE
    return 1 if a == right else -1


def paired(a: dict[str, dict], b: dict[str, dict]) -> dict[str, dict[str, int]]:
    counts: dict[str, dict[str, int]] = {}
    for key in sorted(a.keys() & b.keys()):
        va, vb = a[key].get("verdict") or {}, b[key].get("verdict") or {}
        suite = a[key]["suite"]
        for name, higher_better in PAIRED:
            if name not in va or name not in vb or va[name] is None or vb[name] is None:
                continue
            if name == "declined":
                sign = _declined_better(suite, bool(va[name]), bool(vb[name]))
            elif va[name] == vb[name]:
                sign = 0
            else:
                sign = 1 if (va[name] > vb[name]) == higher_better else -1
            row = counts.setdefault(name, {"a_better": 0, "b_better": 0, "same": 0})
            row[{1: "a_better", -1: "b_better", 0: "same"}[sign]] += 1
    return counts


def _scored(verdict: dict, metric: str) -> float | None:
    """The case's figure, a declined answer scoring 0 (as the report's rate counts it)."""
    if verdict.get(metric) is not None:
        return float(verdict[metric])
    return 0.0 if verdict.get("declined") else None


def paired_difference(
    a: dict[str, dict], b: dict[str, dict], metric: str, suite: str, resamples: int = 4000
) -> dict | None:
    """Mean of A - B of a per-case figure over the cases of `suite` both runs judged, with a
    95% bootstrap interval (seeded, so a rerun prints the same interval)."""
    diffs = []
    for key in sorted(a.keys() & b.keys()):
        if a[key]["suite"] != suite:
            continue
        va, vb = (_scored(x[key].get("verdict") or {}, metric) for x in (a, b))
        if va is not None and vb is not None:
            diffs.append(va - vb)
    if not diffs:
        return None
    rng = random.Random(0)
    means = sorted(sum(rng.choice(diffs) for _ in diffs) / len(diffs) for _ in range(resamples))
    low, high = means[int(0.025 * resamples)], means[int(0.975 * resamples) - 1]
    return {
        "mean": round(sum(diffs) / len(diffs), 4),
        "ci95": [round(low, 4), round(high, 4)],
        "cases": len(diffs),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run_a", type=Path)
    parser.add_argument("run_b", type=Path)
    parser.add_argument("--out", type=Path, help="also write the comparison here as JSON")
    args = parser.parse_args()
    reports = [json.loads((x / "report.json").read_text()) for x in (args.run_a, args.run_b)]
    summaries = [r["summary"]["ours"] for r in reports]
    headline = {}
    print(f"A = {args.run_a}\nB = {args.run_b}\n")
    print(f"{'metric':44} {'A':>16} {'B':>16}")
    for section, metric in HEADLINE:
        pair = [figure(s, section, metric) for s in summaries]
        if not any(pair):
            continue
        # A rate over no cases (every answer declined) has no value: shown as "-".
        shown = [
            f"{x['value']:.3f} ({x['k']:g}/{x['n']})" if x and x["value"] is not None else "-"
            for x in pair
        ]
        print(f"{section + '.' + metric:44} {shown[0]:>16} {shown[1]:>16}")
        headline[f"{section}.{metric}"] = pair
    latency = [s.get("latency", {}) for s in summaries]
    for name in ("first_token_s", "total_s"):
        values = [x.get(name, {}).get("p50") for x in latency]
        if all(v is not None for v in values):
            print(f"{'latency.' + name + ' p50':44} {values[0]:>16.2f} {values[1]:>16.2f}")
            headline[f"latency.{name}.p50"] = values
    counts = paired(cases(args.run_a), cases(args.run_b))
    print(f"\n{'case by case':30} {'A better':>9} {'B better':>9} {'same':>6}")
    for name, row in counts.items():
        print(f"{name:30} {row['a_better']:>9} {row['b_better']:>9} {row['same']:>6}")
    difference = paired_difference(
        cases(args.run_a), cases(args.run_b), "key_fact_recall", "answerable"
    )
    if difference:
        low, high = difference["ci95"]
        print(
            f"\nkey-fact recall, answerable, A - B over {difference['cases']} cases: "
            f"{difference['mean']:+.3f} (95% bootstrap interval {low:+.3f} to {high:+.3f})"
        )
    if args.out:
        folders = (args.run_a, args.run_b)
        runs = [{"folder": str(x), "run": r["run"]} for x, r in zip(folders, reports, strict=True)]
        out = {
            "runs": runs,
            "headline": headline,
            "case_by_case": counts,
            "key_fact_recall_difference": difference,
        }
        args.out.write_text(json.dumps(out, indent=1) + "\n")


if __name__ == "__main__":
    main()
