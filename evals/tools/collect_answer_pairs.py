"""Collect (claim, passage) pairs from the tutor's own answers, for hand labelling into the
judge calibration set (evals/datasets/judge_calibration.jsonl, origin "answer").

Each answer sentence is paired with what the eval's judge would check it against: the
passages it cites (citation recall) or, uncited, every passage the model was shown
(faithfulness). Cases come from outside the `make eval` sample.

    python evals/tools/collect_answer_pairs.py --per-suite 12 --out /tmp/answer_pairs.jsonl
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from pathlib import Path

from tutor.config import Settings
from tutor.evals import datasets
from tutor.evals.metrics import statements
from tutor.evals.runner import stratified_sample
from tutor.evals.targets import LocalTarget

EVAL_SAMPLE = 150  # the Makefile's `make eval --sample`


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-suite", type=int, default=12)
    parser.add_argument("--suites", default="answerable,false_premise,multi_turn")
    parser.add_argument("--seed", default="answer-pairs-v1")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()

    from tutor.answer import open_tutor

    settings = Settings(answer_cache=False)
    tutor = open_tutor(settings)
    target = LocalTarget(tutor)
    has_mirror = target.has_fetched_resources()
    # Cases already collected into this file or already labelled are not asked again.
    labelled = settings.evals_dir / "datasets" / "judge_calibration.jsonl"
    done = {r["case"] for r in map(json.loads, labelled.read_text().splitlines()) if "case" in r}
    if args.out.exists():
        done |= {json.loads(line)["case"] for line in args.out.read_text().splitlines()}
    # Never from the cases `make eval` asks: the judge is calibrated on answers it will not
    # be grading in the eval of record.
    every = {s: datasets.load_suite(settings.evals_dir / "datasets", s) for s in datasets.SUITES}
    in_sample = {
        (s, r["id"]) for s, rs in stratified_sample(every, EVAL_SAMPLE).items() for r in rs
    }
    rng = random.Random(args.seed)
    with args.out.open("a") as sink:
        for suite in args.suites.split(","):
            records = datasets.load_suite(settings.evals_dir / "datasets", suite)
            records = [
                r
                for r in records
                if (has_mirror or not r.get("needs_mirror")) and (suite, r["id"]) not in in_sample
            ]
            for record in rng.sample(records, min(args.per_suite, len(records))):
                case = datasets.materialise(suite, record, args.seed)
                if f"{suite}/{case.id}" in done:
                    continue
                started = time.perf_counter()
                reply = target.answer(case)
                if reply.error or reply.abstained:
                    continue
                passages = reply.passages
                context = "\n".join(p["text"] for p in reply.context)
                for n, (claim, numbers) in enumerate(statements(reply.text)):
                    cited = [passages[m] for m in numbers if m in passages]
                    row = {
                        "case": f"{suite}/{case.id}",
                        "question": case.question,
                        "claim": claim,
                        # What the eval asks the judge: a cited sentence against its cited
                        # passages (citation recall), an uncited one against everything the
                        # model was shown (faithfulness).
                        "passage": "\n".join(cited) if cited else context,
                        "cited": bool(cited),
                        "inferred": any(c.get("inferred") for c in reply.citations),
                        "sentence": n,
                        "answer": reply.text,
                    }
                    sink.write(json.dumps(row, ensure_ascii=False) + "\n")
                sink.flush()
                print(
                    f"{suite}/{case.id}: {time.perf_counter() - started:.1f}s",
                    file=sys.stderr,
                    flush=True,
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
