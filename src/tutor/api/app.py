"""The tutor's HTTP service: routers per concern (routes/), dependencies for keys, limits
and readiness (deps.py), one error mapping (errors.py), and a streaming helper that owns
the model slot for an answer's whole life (streaming.py, gate.py)."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from tutor import __version__
from tutor.api.errors import install_error_handlers
from tutor.api.metrics import Metrics, RequestMetrics
from tutor.api.routes import openai, ops, tutor
from tutor.api.schemas import ERROR_RESPONSES
from tutor.api.security import BodySizeLimit
from tutor.api.service import Service
from tutor.config import Settings

MODEL_NAME = openai.MODEL_NAME


def create_app(settings: Settings | None = None) -> FastAPI:
    """The app for `settings` (read from the environment when None). Settings refuse a
    non-loopback `api_host` without API keys, whichever entry point builds them."""
    settings = settings or Settings()
    service = Service(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        await run_in_threadpool(service.load)
        yield

    app = FastAPI(
        responses=ERROR_RESPONSES,
        title="Generative AI tutor",
        version=__version__,
        description="Cited answers from the Generative AI roadmap and its free resources.",
        lifespan=lifespan,
    )
    app.state.service = service
    app.state.metrics = metrics = Metrics()

    if settings.cors_origin_list:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
        )
    app.add_middleware(BodySizeLimit, max_bytes=settings.api_max_body_bytes)
    app.add_middleware(RequestMetrics, metrics=metrics)

    install_error_handlers(app)
    for router in (ops.router, tutor.router, openai.router):
        app.include_router(router)
    return app
