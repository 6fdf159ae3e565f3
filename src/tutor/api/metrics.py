"""Prometheus metrics for the API, in a registry of the app's own."""

from __future__ import annotations

import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

CONTENT_TYPE = CONTENT_TYPE_LATEST


class Metrics:
    def __init__(self):
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            "tutor_requests", "HTTP requests", ["route", "method", "status"], registry=r
        )
        self.latency = Histogram(
            "tutor_request_seconds",
            "Request time (for streams: until the response starts)",
            ["route"],
            buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 40, 80),
            registry=r,
        )
        self.first_token = Histogram(
            "tutor_first_token_seconds",
            "Time from the start of an answer to its first token",
            buckets=(0.1, 0.5, 1, 2, 4, 8, 16, 32, 64),
            registry=r,
        )
        self.tokens = Counter("tutor_generated_tokens", "Text pieces streamed", registry=r)
        self.cancelled = Counter(
            "tutor_generations_cancelled", "Answers stopped because the client left", registry=r
        )
        self.queue_depth = Gauge("tutor_queue_depth", "Answers waiting for the model", registry=r)
        self.running = Gauge("tutor_generations_running", "Answers being generated", registry=r)

    def observe_request(self, route: str, method: str, status: int, started: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        self.latency.labels(route).observe(time.perf_counter() - started)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class RequestMetrics:
    """ASGI middleware: counts every request by route, method and status, and times it
    until its response starts. Plain ASGI, so streamed bodies pass through untouched."""

    def __init__(self, app, metrics: Metrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before answering

        async def observed_send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                route = getattr(scope.get("route"), "path", "unmatched")
                self.metrics.observe_request(route, scope["method"], status, started)
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        except Exception:  # answered with a plain 500 by the outermost handler
            route = getattr(scope.get("route"), "path", "unmatched")
            self.metrics.observe_request(route, scope["method"], 500, started)
            raise
