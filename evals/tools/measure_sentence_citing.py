"""Measure what writing each sentence's own citation into the answer, and taking out the
sentences no passage backs, does to the claim metrics, paired on the same answers.

The pipeline finds, for every answer sentence, the passage sentence that backs it best
(tutor.support); `cite_each_sentence` writes that into the text. This tool takes the rows
of an eval run (whose rows keep the pipeline's per-sentence support), renders each answer
of the content suites five ways, and scores every version with the eval's own scorer and
calibrated judge, so the model's output is the same in all five and only the rendering
differs (on a run made with sentences already withheld, as_written is that rendering):

- as_written: the text as the run shows it (the pipeline before this change);
- per_sentence: each backed sentence carries its backer's marker, nothing taken out;
- withhold_not_found: ... and sentences with no passage sentence near them taken out;
- withhold_unbacked: ... and every sentence below the support threshold taken out;
- withhold_unbacked_if_backed: ... but only from an answer that keeps a backed sentence.

An answer left with no claim becomes a decline. Writes evals/results/sentence_citing.json.
Judging is the cost (verdicts are cached in the data directory, shared with `tutor eval`).

    python evals/tools/measure_sentence_citing.py evals/runs/<run>/cases.jsonl
"""

from __future__ import annotations

import argparse
import copy
import json
import re
from pathlib import Path

from tutor.config import Settings
from tutor.evals.answer_gate import progress_printer
from tutor.evals.datasets import load_calibration, load_fact_calibration, materialise
from tutor.evals.judges import calibrate, calibrate_facts, make_judge
from tutor.evals.scoring import score_case, summarise
from tutor.evals.targets import Reply
from tutor.support import SentenceSupport, cite_each_sentence, withheld_levels

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "evals" / "results" / "sentence_citing.json"
MARKERS_ONLY = re.compile(r"^(?:\s*\[\d+\])+\s*$")
SUITES = ("answerable", "false_premise", "multi_turn")
VARIANTS = {
    "as_written": None,
    "per_sentence": "none",
    "withhold_not_found": "not_found",
    "withhold_unbacked": "unbacked",
    "withhold_unbacked_if_backed": "unbacked_if_backed",
}
METRICS = (
    "false_abstention",
    "hallucination",
    "faithfulness",
    "citation_recall",
    "citation_precision",
    "key_fact_recall",
)


def rendered(row: dict, setting: str | None) -> tuple[str, bool]:
    """The answer's text under one setting, and whether it became a decline."""
    text = row["reply"]["text"]
    if setting is None:
        return text, False
    sentences: list[SentenceSupport] = []
    for s in copy.deepcopy(row["reply"]["sentences"]):
        if sentences and MARKERS_ONLY.match(s["text"]):
            # Runs before the fix of 2026-12-07 split a closing "[n]" at the end of the
            # text off its sentence; it belongs to the sentence before.
            gap = text[text.find(sentences[-1].text) + len(sentences[-1].text) :]
            sentences[-1].text += gap[: gap.find(s["text"])] + s["text"]
            continue
        sentences.append(
            SentenceSupport(
                **{k: v for k, v in s.items() if k not in ("span", "withheld")},
                span=tuple(s["span"]) if s.get("span") else None,
            )
        )
    shown = cite_each_sentence(text, sentences, withheld_levels(setting, sentences))
    withheld = any(s.withheld for s in sentences)
    left = any(s.supported is not None and not s.withheld for s in sentences)
    return shown, withheld and not left


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("cases", type=Path, help="cases.jsonl of an eval run")
    parser.add_argument("--out", type=Path, default=OUT, help="where to write the result")
    args = parser.parse_args()
    rows = [json.loads(line) for line in args.cases.read_text().splitlines() if line.strip()]
    rows = [
        r
        for r in rows
        if r["target"] == "ours"
        and r["suite"] in SUITES
        and "error" not in r["verdict"]
        and r["reply"].get("sentences") is not None
    ]
    settings = Settings()
    judge = make_judge(settings)
    calibration = calibrate(judge, load_calibration(ROOT / "evals" / "datasets"))
    facts = calibrate_facts(judge, load_fact_calibration(ROOT / "evals" / "datasets"))
    progress = progress_printer()
    scored: dict[str, list[dict]] = {name: [] for name in VARIANTS}
    examples = []
    for i, row in enumerate(rows, 1):
        case = materialise(row["suite"], row["record"], "sentence-citing")
        for name, setting in VARIANTS.items():
            text, declined = rendered(row, setting)
            reply = Reply(
                text=text,
                citations=row["reply"]["citations"],
                context=row["reply"]["context"],
                abstained=row["reply"]["abstained"] or declined,
                first_token_s=None,
                total_s=0.0,
            )
            verdict = score_case(case, reply, judge.entails, "", "", states=judge.states)
            scored[name].append({**row, "verdict": verdict})
            if name == "withhold_unbacked" and text != row["reply"]["text"] and len(examples) < 12:
                examples.append({"id": row["id"], "before": row["reply"]["text"], "after": text})
        progress(i, len(rows))
    summary = {name: summarise(results) for name, results in scored.items()}
    table = {
        name: {
            suite: {m: s[suite][m] for m in METRICS if s.get(suite, {}).get(m) is not None}
            for suite in SUITES
            if suite in s
        }
        for name, s in summary.items()
    }
    result = {
        "run": str(args.cases),
        "judge": {k: calibration[k] for k in ("judge", "balanced_accuracy", "below_floor_on")}
        | {"facts": {k: facts[k] for k in ("balanced_accuracy", "threshold", "low_confidence")}},
        "cases": len(rows),
        "variants": table,
        "examples": examples,
    }
    for name, suites in table.items():
        line = ", ".join(
            f"{m} {v['value']:.2f} ({v['k']}/{v['n']})"
            for m, v in suites.get("answerable", {}).items()
        )
        print(f"{name:20} {line}")
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
