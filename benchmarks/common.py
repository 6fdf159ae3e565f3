"""What the benchmark scripts share: percentiles, latency summaries, and result files that
say where and when they were measured."""

from __future__ import annotations

import json
import os
import platform
import time
from collections.abc import Iterable
from dataclasses import dataclass
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


@dataclass
class Timed:
    """A tutor answer as its reader saw it arrive."""

    answer: object | None  # tutor.answer.Answer, None when the stream ended without one
    first_token_s: float  # the total when nothing was streamed (a decline)
    last_token_s: float | None
    total_s: float
    events: list


def timed(stream: Iterable) -> Timed:
    """Read a tutor's event stream to the end, timing the first and last streamed token."""
    from tutor.answer import Done, Token

    started = time.perf_counter()
    first = last = None
    answer = None
    events = []
    for event in stream:
        events.append(event)
        if isinstance(event, Token):
            last = time.perf_counter() - started
            first = last if first is None else first
        elif isinstance(event, Done):
            answer = event.answer
    total = time.perf_counter() - started
    return Timed(answer, first if first is not None else total, last, total, events)
