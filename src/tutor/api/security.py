"""API keys (constant-time check), per-key rate limits and a request body size limit."""

from __future__ import annotations

import hmac
import ipaddress
import json
import time
from dataclasses import dataclass, field

LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def key_matches(presented: str | None, keys: list[str]) -> bool:
    """Constant-time comparison against every key, so timing reveals nothing about them."""
    if not presented:
        return False
    found = False
    for key in keys:
        found |= hmac.compare_digest(presented.encode(), key.encode())
    return found


def presented_key(headers) -> str | None:
    auth = headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return headers.get("x-api-key")


@dataclass
class RateLimiter:
    """A token bucket per client: `per_minute` requests a minute, bursts up to that many."""

    per_minute: int
    buckets: dict[str, tuple[float, float]] = field(default_factory=dict)

    def check(self, client: str, now: float | None = None) -> int | None:
        """None if allowed, else the seconds to wait."""
        now = time.monotonic() if now is None else now
        rate = self.per_minute / 60.0
        tokens, last = self.buckets.get(client, (float(self.per_minute), now))
        tokens = min(float(self.per_minute), tokens + (now - last) * rate)
        if tokens < 1.0:
            self.buckets[client] = (tokens, now)
            return max(1, int((1.0 - tokens) / rate + 0.999))
        self.buckets[client] = (tokens - 1.0, now)
        return None


class BodySizeLimit:
    """ASGI middleware: 413 for bodies over `max_bytes`, whether announced by Content-Length
    or streamed in chunks, before the app reads them."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            return await self._reject(send)
        received = 0

        async def limited_receive():
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await self._reject(send)

    async def _reject(self, send):
        body = json.dumps(
            {"detail": f"The request body is larger than {self.max_bytes} bytes."}
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass
