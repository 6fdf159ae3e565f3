"""Fit the premise check (tutor.premise) for the configured model and measure it.

The questions of evals/datasets/false_premise.jsonl (the premise is false) and
true_premise.jsonl (it is true, and the materials say so) go through the tutor's retrieval;
the model is asked whether the passages show the premise is true, and P(yes) is read from
its logits. The threshold is fitted on the tuning half (at most `--max-false-flags` of its
true premises flagged) and the test half's catch rate and false-flag rate are recorded
next to it, in src/tutor/premise_checks.json and evals/results/premise_check.json.

Each question costs one forward pass over its passages (about 6-10 s on 2 cores); P(yes)
is cached per index build in the data directory, so a rerun only pays for new questions.

    python evals/tools/calibrate_premise_check.py            # measure, fit, write
    python evals/tools/calibrate_premise_check.py --dry-run  # measure and print only
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tutor.answer import open_tutor
from tutor.config import Settings
from tutor.evals.answer_gate import measured_on, progress_printer
from tutor.evals.premise_check import auc, choose_threshold, measure, questions, rates
from tutor.premise import PremiseThreshold, save_threshold

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "evals" / "results" / "premise_check.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-false-flags", type=float, default=0.1)
    parser.add_argument("--dry-run", action="store_true", help="print; write nothing")
    args = parser.parse_args()
    settings = Settings()
    build = (settings.data_dir / "index").resolve().name
    cache = settings.data_dir / "evals" / f"premise-check-{build}.jsonl"
    progress = progress_printer()
    tutor = open_tutor(settings)
    rows, model_id = measure(tutor, questions(ROOT / "evals" / "datasets"), cache, progress)
    tune = [r for r in rows if r["half"] == "tune"]
    test = [r for r in rows if r["half"] == "test"]
    threshold = choose_threshold(tune, args.max_false_flags)
    result = {
        **measured_on(tutor),
        "max_false_flags": args.max_false_flags,
        "questions": {
            name: {"true": sum(r["true"] for r in part), "false": sum(not r["true"] for r in part)}
            for name, part in (("tune", tune), ("test", test))
        },
        "threshold": threshold,
        "tune": rates(tune, threshold) | {"auc": auc(tune)},
        "test": rates(test, threshold) | {"auc": auc(test)},
        "rows": [{k: r[k] for k in ("id", "half", "true", "premise", "p_true")} for r in rows],
    }
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}, indent=1))
    if not args.dry_run:
        calibration = {k: result[k] for k in ("measured_at", "questions", "test")}
        save_threshold(PremiseThreshold(model_id, threshold, calibration))
        OUT.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
