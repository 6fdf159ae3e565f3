"""Server-Sent Events, both ways: the API writes them, the UI client and tests read them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any


def format_event(name: str, data: Any) -> str:
    """One event, its data as JSON.

    >>> format_event("token", {"text": "Hi"})
    'event: token\\ndata: {"text": "Hi"}\\n\\n'
    """
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


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
