"""Measure (and choose) the rules that tag fetched passages with roadmap topics, on the
hand-labelled sample evals/datasets/topic_tags.jsonl. Needs the resources fetched
(`tutor fetch`); takes about a minute. Writes evals/results/topic_tags.json.

    python evals/tools/calibrate_topic_tags.py
"""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

from tutor.config import Settings
from tutor.embed import Embedder
from tutor.evals.topic_tags import calibrate

OUT = Path(__file__).resolve().parents[1] / "results" / "topic_tags.json"


def main() -> int:
    settings = Settings()
    result = calibrate(settings, Embedder(settings.embed_model, settings.embed_precision))
    result["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    result["embed_model"] = settings.embed_model
    OUT.write_text(json.dumps(result, indent=1) + "\n")
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
