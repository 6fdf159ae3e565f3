"""What the benchmark scripts share: percentiles, latency summaries, and result files that
say where and when they were measured."""

from __future__ import annotations

import json
import os
import platform
import time
from pathlib import Path


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def latency(runs: list[dict]) -> dict:
    """Time to first token and total time, p50 and p95, of runs timed with those keys."""
    return {
        f"{key}_{name}_s": round(pct([r[f"{key}_s"] for r in runs], q), 2)
        for key in ("first_token", "total")
        for name, q in (("p50", 0.5), ("p95", 0.95))
    }


def write_results(path: Path, fields: dict) -> None:
    """Write a benchmark's figures as JSON, headed by the date and the machine."""
    path.parent.mkdir(parents=True, exist_ok=True)
    header = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
    }
    path.write_text(json.dumps(header | fields, indent=1))
    print(f"wrote {path}")
