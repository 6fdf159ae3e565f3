"""Collect (answer, key fact) pairs from eval runs, for labelling by hand: does the answer
state the fact? The eval's key-fact recall (and with it premise correction) asks the judge
exactly this, a different task from "does the passage back the sentence", so it gets its
own labelled pairs and its own threshold (evals/labelling.md, "Key facts").

Every answered (not declined) case of the content suites gives one pair per gold key fact;
citation markers are taken out of the answer. Cases already in the labelled file are
skipped, so a later run adds only new ones.

    python evals/tools/collect_fact_pairs.py evals/runs/<run>/answers.jsonl ... --out pairs.jsonl
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
LABELLED = ROOT / "evals" / "datasets" / "fact_calibration.jsonl"
SUITES = ("answerable", "false_premise", "multi_turn")
MARKERS = re.compile(r"\s*\[\d+\]")


def records() -> dict[str, dict]:
    """Dataset records by case id (answers.jsonl rows do not carry them)."""
    out = {}
    for path in sorted((ROOT / "evals" / "datasets").glob("*.jsonl")):
        for line in path.read_text().splitlines():
            if line.strip():
                record = json.loads(line)
                if "key_facts" in record:
                    out[record["id"]] = record
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("runs", type=Path, nargs="+", help="answers.jsonl or cases.jsonl files")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    known = records()
    labelled = set()
    if LABELLED.exists():
        labelled = {json.loads(x)["case"] for x in LABELLED.read_text().splitlines() if x.strip()}
    pairs, seen = [], set()
    for run in args.runs:
        for line in run.read_text().splitlines():
            row = json.loads(line)
            reply, record = row["reply"], known.get(row["id"])
            if (
                row["target"] != "ours"
                or row["suite"] not in SUITES
                or record is None
                or reply.get("error")
                or reply.get("abstained")
                or row["id"] in labelled | seen
            ):
                continue
            seen.add(row["id"])
            answer = " ".join(MARKERS.sub("", reply["text"]).split())
            for i, fact in enumerate(record["key_facts"], 1):
                pairs.append(
                    {
                        "id": f"fact-{row['id']}-{i}",
                        "case": row["id"],
                        "suite": row["suite"],
                        "question": record["question"],
                        "answer": answer,
                        "fact": fact,
                    }
                )
    args.out.write_text("".join(json.dumps(p, ensure_ascii=False) + "\n" for p in pairs))
    print(f"{len(pairs)} pairs from {len(seen)} answers -> {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
