"""Probes and metrics: /healthz (alive), /readyz (can answer), /metrics (Prometheus)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, PlainTextResponse
from starlette.concurrency import run_in_threadpool

from tutor.api import metrics as m
from tutor.api.deps import ServiceDep, guard, probe_limit
from tutor.api.errors import public_message

router = APIRouter(tags=["ops"])


def model_label(settings) -> str:
    return settings.llm_model.rsplit("/", 1)[-1]


@router.get("/healthz")
async def healthz() -> dict:
    """The process is alive."""
    return {"status": "ok"}


@router.get("/readyz", dependencies=[Depends(probe_limit)])
async def readyz(service: ServiceDep) -> JSONResponse:
    """Ready to answer: the index is loaded and the model loaded (or its server reachable,
    checked at most every few seconds). `notes` says what needs attention without
    stopping answers, such as an index rebuilt since start-up."""
    problems, notes, index = [], [], {}
    if service.tutor is None:
        problems.append(public_message(service.load_error or "The tutor is starting."))
    else:
        manifest = service.tutor.retriever.index.manifest
        sources = manifest.get("sources", {})
        index = {
            "chunks": manifest.get("chunk_count"),
            "sources": len(sources),
            "fetched_sources": sum(s.startswith("resources/") for s in sources),
            "embed_model": manifest.get("embed_model"),
            "built_at": manifest.get("built_at"),
        }
        if note := service.index_note():
            notes.append(note)
        if problem := await run_in_threadpool(service.llm_problem):
            problems.append(public_message(problem))
    settings = service.settings
    body = {
        "status": "not ready" if problems else "ready",
        "problems": problems,
        "notes": notes,
        "index": index,
        "llm": {
            "backend": settings.llm_backend,
            "model": model_label(settings),
            "state": service.llm_state,
            "loads": service.tutor.llm_loads if service.tutor else 0,
        },
    }
    return JSONResponse(body, 503 if problems else 200)


@router.get("/metrics", dependencies=[Depends(guard)])
async def metrics(service: ServiceDep, request: Request) -> PlainTextResponse:
    """Prometheus metrics: requests, latencies, first-token time, tokens, queue depth."""
    registry: m.Metrics = request.app.state.metrics
    registry.queue_depth.set(service.gate.waiting)
    registry.running.set(service.gate.running)
    return PlainTextResponse(registry.render(), media_type=m.CONTENT_TYPE)
