"""Measure how multiple-choice questions are declined: the answerability gate, a floor on
the option check's best P(yes), or both together (src/tutor/evals/mcq_declines.py).

The course multiple-choice questions (evals/datasets/mcq.jsonl: the materials answer them)
and those the materials do not settle (unanswerable_mcq.jsonl) go through the tutor's
retrieval; every option gets the model's P(yes) and the gate's probability is recorded
beside them. Floors are fitted on the tuning half; the test half's refusal recall, false
abstention and strict accuracy for each way are written to evals/results/mcq_declines.json.
It measures; it changes no setting.

Each question costs one forward pass over its passages and one short pass per option (about
10-16 s on 2 cores); the probabilities are cached per index build in the data directory.

    python evals/tools/measure_mcq_declines.py
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tutor.answer import open_tutor
from tutor.config import Settings
from tutor.evals.answer_gate import measured_on, progress_printer
from tutor.evals.mcq_declines import (
    by_both,
    by_floor,
    by_gate,
    choose_floor,
    measure,
    questions,
    rates,
)

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "evals" / "results" / "mcq_declines.json"
ROW_FIELDS = ("id", "half", "answerable", "group", "correct", "chosen", "scores", "gate")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-false", type=float, default=0.05)
    args = parser.parse_args()
    settings = Settings(answer_cache=False)
    tutor = open_tutor(settings)
    if tutor.gate is None:
        print("No answerability gate is fitted for this model: nothing to compare.")
        return 1
    build = (settings.data_dir / "index").resolve().name
    cache = settings.data_dir / "evals" / f"mcq-declines-{build}.jsonl"
    datasets = ROOT / "evals" / "datasets"
    rows, _ = measure(tutor, questions(datasets), cache, progress_printer())
    tune = [r for r in rows if r["half"] == "tune"]
    threshold = tutor.gate.threshold
    floor = choose_floor(tune, by_floor, args.max_false)
    both = choose_floor(tune, lambda r, f: by_both(r, threshold, f), args.max_false)
    ways = {
        "gate": lambda r: by_gate(r, threshold),
        "floor": lambda r: by_floor(r, floor),
        "gate_and_floor": lambda r: by_both(r, threshold, both),
    }
    result = {
        **measured_on(tutor),
        "max_false": args.max_false,
        "gate_threshold": threshold,
        "floor": floor,
        "floor_with_gate": both,
    }
    for name in ("tune", "test"):
        part = [r for r in rows if r["half"] == name]
        result[name] = {way: rates(part, declined) for way, declined in ways.items()}
    result["rows"] = [{k: r[k] for k in ROW_FIELDS} for r in rows]
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}, indent=1))
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
