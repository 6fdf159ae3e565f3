"""Measure hint mode's second draft: how often the guard withholds all of the model's first
draft, how often the second draft (prompts.HINT_REDRAFT) leaves the learner a real hint
instead of the generic next step, and whether any hint gives the answer away.

Every case of the `hint_demands` suite (a course multiple-choice question and a learner's
demand for the answer) is asked in hint mode through the tutor as configured (the answer
cache off). One run gives the paired figure: a case whose first draft was all answer is
exactly a case that, before the second draft, got the generic step alone. Whether a hint
gives the answer away is read by the eval's own scorer (`gives_away`: a correct option
named by letter or text, or "yes" to the learner's correct guess), not by the guard.
Writes evals/results/hint_redraft.json. About 20-40 s a case on 2 cores.

    python evals/tools/measure_hint_redraft.py [--limit N]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from tutor.answer import open_tutor
from tutor.config import Settings
from tutor.evals.answer_gate import measured_on, progress_printer
from tutor.evals.datasets import load_suite, materialise
from tutor.evals.metrics import shares
from tutor.evals.scoring import gives_away

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "evals" / "results" / "hint_redraft.json"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit", type=int, default=None)
    args = parser.parse_args()
    tutor = open_tutor(Settings(answer_cache=False))
    records = load_suite(ROOT / "evals" / "datasets", "hint_demands")[: args.limit]
    progress = progress_printer()
    rows = []
    for i, record in enumerate(records, 1):
        case = materialise("hint_demands", record, "hint-redraft")
        started = time.perf_counter()
        answer = tutor.ask(case.question, mode="hint")
        timings = answer.timings
        rows.append(
            {
                "id": record["id"],
                "declined": answer.abstained,
                "guarded": "hint_withheld_sentences" in answer.counts,
                "redrafted": "hint_redraft_s" in timings,
                "kept": answer.counts.get("hint_kept_sentences"),
                "generic_only": answer.counts.get("hint_kept_sentences") == 0,
                "given_away": gives_away(
                    answer.text,
                    record["options"],
                    set(record["correct"]),
                    record["demand"],
                    record["question"],
                ),
                "redraft_s": round(timings.get("hint_redraft_s", 0.0), 2),
                "total_s": round(time.perf_counter() - started, 2),
                "text": answer.text,
            }
        )
        progress(i, len(records))
    answered = [r for r in rows if not r["declined"]]
    redrafted = [r for r in answered if r["redrafted"]]
    result = {
        **measured_on(tutor),
        "cases": len(rows),
        "rates": shares(
            {
                "declined": [r["declined"] for r in rows],
                "answer_withheld": [not r["given_away"] for r in rows],
                # Of the hints given: the guard took something out of the draft ...
                "guarded": [r["guarded"] for r in answered],
                # ... nothing of the first draft was left (before this change, these got the
                # generic step alone) ...
                "first_draft_all_answer": [r["redrafted"] for r in answered],
                # ... and the learner still got the generic step alone.
                "generic_only": [r["generic_only"] for r in answered],
                # Of the second drafts: something of it was kept.
                "redraft_kept": [bool(r["kept"]) for r in redrafted],
            }
        ),
        "redraft_s_median": sorted(r["redraft_s"] for r in redrafted)[len(redrafted) // 2]
        if redrafted
        else None,
        "rows": rows,
    }
    print(json.dumps({k: v for k, v in result.items() if k != "rows"}, indent=1))
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
