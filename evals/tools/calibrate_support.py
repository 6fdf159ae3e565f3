"""Choose and measure the per-sentence support threshold (tutor.support) on hand-labelled
pairs: the tutor's own answer sentences against the passages they cite
(evals/datasets/judge_calibration.jsonl, origin "answer"). The threshold is the one with the
best balanced accuracy on the tuning half; the test half is scored once with it. Written
near-miss pairs are reported too, as the case this score is weak on. Embeddings only: about
a minute. Writes evals/results/support.json; set the result as `support_min_similarity`.

    python evals/tools/calibrate_support.py
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from tutor.config import Settings
from tutor.embed import Embedder
from tutor.evals.datasets import load_calibration
from tutor.evals.judges import _ba, best_threshold, bootstrap_interval
from tutor.evidence import sentence_spans

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "evals" / "results" / "support.json"


def score(embedder: Embedder, claim: str, passage: str) -> float:
    """The best cosine between the claim and a sentence of the passage, as tutor.support
    computes it for an answer sentence."""
    sentences = [passage[s:e] for s, e in sentence_spans(passage)] or [passage]
    vectors = embedder.embed([claim, *sentences])
    return float((vectors[1:] @ vectors[0]).max())


def main() -> int:
    settings = Settings()
    embedder = Embedder(settings.embed_model, settings.embed_precision)
    pairs = load_calibration(settings.evals_dir / "datasets")
    scored = [(p, score(embedder, p["claim"], p["passage"])) for p in pairs]

    def rows(split: str, origin: str) -> list[tuple[float, bool]]:
        return [
            (s, p["supported"]) for p, s in scored if p["split"] == split and p["origin"] == origin
        ]

    threshold = best_threshold(rows("tune", "answer"))
    # Below the weak threshold a sentence is shown as not found in the passages: the highest
    # that keeps at least 97 % of the tuning half's backed sentences above it, so that label
    # is almost never wrong about a backed sentence.
    backed = sorted(s for s, y in rows("tune", "answer") if y)
    weak = round(backed[int(0.03 * len(backed))] - 0.005, 3)
    result = {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "embed_model": settings.embed_model,
        "threshold": round(threshold, 4),
        "weak_threshold": weak,
        "pairs": {o: {s: len(rows(s, o)) for s in ("tune", "test")} for o in ("answer", "written")},
    }
    for split in ("tune", "test"):
        for origin in ("answer", "written"):
            data = rows(split, origin)
            result[f"{split}_{origin}"] = {
                "balanced_accuracy": round(_ba(data, threshold), 4),
                "ci95": bootstrap_interval(data, threshold),
                "supported_kept": round(
                    sum(s >= threshold for s, y in data if y) / max(1, sum(y for _, y in data)), 4
                ),
                "unsupported_caught": round(
                    sum(s < threshold for s, y in data if not y)
                    / max(1, sum(not y for _, y in data)),
                    4,
                ),
                # Shown "not found": how many backed sentences would wrongly get that label,
                # and how many unbacked ones it catches.
                "backed_below_weak": round(
                    sum(s < weak for s, y in data if y) / max(1, sum(y for _, y in data)), 4
                ),
                "unsupported_below_weak": round(
                    sum(s < weak for s, y in data if not y) / max(1, sum(not y for _, y in data)),
                    4,
                ),
            }
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
