"""Reading Server-Sent Events (the UI's HTTP client and the tests); the API writes them
with sse-starlette."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any


def iter_sse(lines: Iterator[str]) -> Iterator[tuple[str, Any]]:
    """(event, data) pairs from Server-Sent Event lines; data is parsed as JSON.

    >>> list(iter_sse(iter(["event: token", 'data: {"text": "Hi"}', "", ": ping", ""])))
    [('token', {'text': 'Hi'})]
    """
    event, data = "message", []
    for line in lines:
        if not line:
            if data:
                yield event, json.loads("\n".join(data))
            event, data = "message", []
        elif line.startswith(":"):
            continue
        elif line.startswith("event:"):
            event = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())
    if data:
        yield event, json.loads("\n".join(data))
