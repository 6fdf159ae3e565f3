"""Choose and measure the similarity above which the answer cache answers a reworded
question (`cache_min_similarity`), on hand-written question pairs
(evals/datasets/question_pairs.jsonl: same meaning, or look-alikes that mean something
else). The pairs are split once by a hash of their id. The threshold is the lowest that lets
no different-meaning pair of the tuning half through (a wrong cached answer is much worse
than a missed one); the test half is scored once with it. Embeddings only: seconds.
Writes evals/results/cache_match.json.

    python evals/tools/calibrate_cache_match.py
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

from tutor.answer_cache import normalise
from tutor.config import Settings
from tutor.embed import Embedder

ROOT = Path(__file__).resolve().parents[2]
PAIRS = ROOT / "evals" / "datasets" / "question_pairs.jsonl"
OUT = ROOT / "evals" / "results" / "cache_match.json"


def half(pair_id: str) -> str:
    return "tune" if hashlib.sha256(pair_id.encode()).digest()[0] % 2 == 0 else "test"


def main() -> int:
    settings = Settings()
    embedder = Embedder(settings.embed_model, settings.embed_precision)
    pairs = [json.loads(line) for line in PAIRS.read_text().splitlines() if line.strip()]
    for p in pairs:
        a, b = (embedder.embed_query(normalise(p[k])) for k in ("a", "b"))
        p["similarity"] = float(a @ b)
        p["half"] = half(p["id"])
    tune = [p for p in pairs if p["half"] == "tune"]
    different = [p["similarity"] for p in tune if not p["same"]]
    threshold = round(max(different) + 0.005, 3)

    def scores(rows: list[dict]) -> dict:
        same = [p for p in rows if p["same"]]
        other = [p for p in rows if not p["same"]]
        wrong = [p for p in other if p["similarity"] >= threshold]
        return {
            "pairs": len(rows),
            "same_matched": round(sum(p["similarity"] >= threshold for p in same) / len(same), 3),
            "different_matched": round(len(wrong) / len(other), 3),
            "wrong_matches": [(p["a"], p["b"], round(p["similarity"], 3)) for p in wrong],
            "same_matched_by_kind": {
                kind: round(
                    sum(p["similarity"] >= threshold for p in same if p["kind"] == kind) / n, 3
                )
                for kind, n in Counter(p["kind"] for p in same).items()
            },
        }

    sweep = {
        str(t): {
            "same_matched": round(
                sum(p["similarity"] >= t for p in pairs if p["same"])
                / sum(p["same"] for p in pairs),
                3,
            ),
            "different_matched": round(
                sum(p["similarity"] >= t for p in pairs if not p["same"])
                / sum(not p["same"] for p in pairs),
                3,
            ),
        }
        for t in (0.9, 0.93, 0.95, 0.97, 0.99)
    }
    result = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "embed_model": settings.embed_model,
        "threshold": min(threshold, 1.0),  # 1.0: no threshold is safe, near matches stay off
        "all_pairs_by_threshold": sweep,
        "tune": scores(tune),
        "test": scores([p for p in pairs if p["half"] == "test"]),
    }
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
