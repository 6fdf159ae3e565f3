"""API keys (constant-time check), per-key rate limits and a request body size limit."""

from __future__ import annotations

import hmac
import ipaddress
import json
import math
import time

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


# Headers a reverse proxy adds: a request that carries one came from beyond this machine,
# however local the proxy's own connection is.
FORWARDING_HEADERS = ("forwarded", "x-forwarded-for", "x-real-ip")


def is_forwarded(headers) -> bool:
    return any(name in headers for name in FORWARDING_HEADERS)


class RateLimiter:
    """`per_minute` requests in any sliding minute per client (the `limits` library's moving
    window, in memory: one process, one budget)."""

    def __init__(self, per_minute: int):
        from limits import RateLimitItemPerMinute
        from limits.storage import MemoryStorage
        from limits.strategies import MovingWindowRateLimiter

        self.per_minute = per_minute
        self._item = RateLimitItemPerMinute(per_minute)
        self._window = MovingWindowRateLimiter(MemoryStorage())

    def check(self, client: str) -> int | None:
        """None if allowed (and counted), else the whole seconds to wait."""
        if self._window.hit(self._item, client):
            return None
        reset_at, _ = self._window.get_window_stats(self._item, client)
        return max(1, math.ceil(reset_at - time.time()))


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
