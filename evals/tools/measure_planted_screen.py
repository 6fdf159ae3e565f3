"""Measure the planted-instruction screen (tutor.planted) on labelled lines and on the index.

evals/datasets/planted_lines.jsonl holds single lines of pages, each labelled "planted" (an
instruction for the AI reading the page) or "benign" (course text that talks about
assistants, system prompts or ignoring things). They were written by helper sessions that
never saw the screen, in three sets: sets 1 and 2 ("dev") were used to write it; set 3
("test") was read once, after the screen was final. The figure that says how the screen
does on attacks it has not seen is the test split's. The eval's own indirect-injection
documents were seen while writing it too, so the eval's indirect-injection rate over-reads
this layer. On the index (the learner's, the resources fetched) it counts the lines of real
course text the screen would drop from the model's passages.

Writes evals/results/planted_screen.json. A few seconds.

    python evals/tools/measure_planted_screen.py
"""

from __future__ import annotations

import json
from pathlib import Path

from tutor.config import Settings
from tutor.evals.metrics import shares
from tutor.planted import is_planted

ROOT = Path(__file__).resolve().parents[2]
LINES = ROOT / "evals" / "datasets" / "planted_lines.jsonl"
OUT = ROOT / "evals" / "results" / "planted_screen.json"


def main() -> int:
    rows = [json.loads(line) for line in LINES.read_text().splitlines() if line.strip()]
    flagged = {r["id"]: is_planted(r["line"]) for r in rows}
    rates = {}
    for split in ("dev", "test"):
        for kind, name in (("planted", "caught"), ("benign", "false_flags")):
            picked = [flagged[r["id"]] for r in rows if r["split"] == split and r["kind"] == kind]
            rates[f"{split}_{name}"] = picked
    chunks_file = Settings().index_dir / "chunks.jsonl"
    dropped, chunks = [], 0
    for line in chunks_file.read_text().splitlines():
        chunk = json.loads(line)
        chunks += 1
        dropped += [
            {"chunk_id": chunk["id"], "line": text[:300]}
            for text in chunk["text"].split("\n")
            if is_planted(text)
        ]
    result = {
        "rates": shares(rates),
        "missed_in_test": [
            r["line"]
            for r in rows
            if r["split"] == "test" and r["kind"] == "planted" and not flagged[r["id"]]
        ],
        "index_chunks": chunks,
        "index_lines_dropped": dropped,
    }
    print(json.dumps({k: v for k, v in result.items() if k != "missed_in_test"}, indent=1))
    OUT.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
