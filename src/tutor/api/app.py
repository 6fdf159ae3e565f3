"""The tutor's HTTP service. Routes are thin: they validate, wait their turn for the model,
call the core (`Tutor.stream`, `Retriever.search`) and shape the result.

Errors never carry stack traces or file paths: TutorErrors map to 4xx/5xx with their
message (paths masked); anything unexpected is logged and answered with a plain 500.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from tutor import __version__
from tutor.answer import Done, Retrieved, Token, Turn
from tutor.api import metrics as m
from tutor.api.gate import LLMGate, QueueFull, iterate_in_thread
from tutor.api.schemas import (
    ERROR_RESPONSES,
    AnswerOut,
    AskRequest,
    ChatCompletionRequest,
    SearchOut,
    SearchRequest,
)
from tutor.api.security import BodySizeLimit, RateLimiter, key_matches, presented_key
from tutor.config import Settings
from tutor.errors import (
    BadInputError,
    IndexMismatchError,
    IndexMissingError,
    LLMUnavailableError,
    ModelChecksumError,
    ModelMissingError,
    TutorError,
)
from tutor.sse import format_event

log = logging.getLogger("tutor.api")
MODEL_NAME = "genai-tutor"
_PATH = re.compile(r"(?<![\w.])/(?:[\w.@+-]+/)+[\w.@+-]*")


class ApiError(Exception):
    def __init__(self, status: int, detail: str, headers: dict | None = None):
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers or {}


def public_message(exc: Exception) -> str:
    """The error's message with file system paths masked."""
    return _PATH.sub("<path>", str(exc))


def status_for(exc: TutorError) -> int:
    if isinstance(exc, BadInputError):
        return 422
    if isinstance(
        exc,
        IndexMissingError
        | IndexMismatchError
        | ModelMissingError
        | ModelChecksumError
        | LLMUnavailableError,
    ):
        return 503
    return 500


class Service:
    """What the routes share: the tutor (once loaded), the model gate and the limiter."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.tutor = None
        self.load_error: TutorError | None = None
        self.llm_state = "not loaded"
        self.gate = LLMGate(settings.llm_concurrency, settings.api_queue_size)
        self.limiter = RateLimiter(settings.api_rate_limit_per_minute)
        self.keys = settings.api_key_list

    def load(self) -> None:
        from tutor.answer import open_tutor

        try:
            self.tutor = open_tutor(self.settings)
        except TutorError as exc:
            self.load_error = exc
            log.warning("The tutor cannot answer yet: %s", exc)
            return
        if self.settings.llm_backend == "llamacpp":
            # Load the model now, in the background, so the first learner does not wait.
            threading.Thread(target=self._load_llm, daemon=True).start()

    def _load_llm(self) -> None:
        self.llm_state = "loading"
        try:
            self.tutor.llm  # noqa: B018 - the property loads the model
            self.llm_state = "loaded"
        except TutorError as exc:
            self.llm_state = f"failed: {public_message(exc)}"

    def require_tutor(self):
        if self.tutor is None:
            error = self.load_error or IndexMissingError("The tutor is still starting.")
            raise ApiError(status_for(error), public_message(error))
        return self.tutor

    def llm_problem(self) -> str | None:
        """Why the model cannot answer now, or None."""
        if self.settings.llm_backend == "openai":
            import httpx

            try:
                response = httpx.get(
                    self.settings.llm_base_url.rstrip("/") + "/models",
                    headers={"Authorization": f"Bearer {self.settings.llm_api_key}"},
                    timeout=3.0,
                )
                response.raise_for_status()
            except httpx.HTTPError as exc:
                return (
                    f"The LLM server at {self.settings.llm_base_url} is not reachable "
                    f"({exc.__class__.__name__}). Start it (`tutor serve-llm` on a GPU) or fix "
                    "TUTOR_LLM_BASE_URL."
                )
            return None
        if self.llm_state.startswith("failed"):
            return f"The model could not be loaded: {self.llm_state[8:]}"
        if self.llm_state != "loaded":
            return f"The model is {self.llm_state}."
        return None


def create_app(settings: Settings | None = None) -> FastAPI:
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
    registry = m.Metrics()
    app.state.metrics = registry

    if settings.cors_origin_list:
        from fastapi.middleware.cors import CORSMiddleware

        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origin_list,
            allow_methods=["GET", "POST"],
            allow_headers=["Authorization", "X-API-Key", "Content-Type"],
        )
    app.add_middleware(BodySizeLimit, max_bytes=settings.api_max_body_bytes)

    @app.middleware("http")
    async def count_requests(request: Request, call_next):
        started = time.perf_counter()
        response = await call_next(request)
        route = request.scope.get("route")
        path = getattr(route, "path", "unmatched")
        registry.observe_request(path, request.method, response.status_code, started)
        return response

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return JSONResponse({"detail": exc.detail}, exc.status, headers=exc.headers)

    @app.exception_handler(TutorError)
    async def tutor_error(request: Request, exc: TutorError):
        return JSONResponse({"detail": public_message(exc)}, status_for(exc))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError):
        # Field-level messages, without echoing the (possibly huge) input back.
        errors = [
            {"field": ".".join(str(p) for p in e["loc"]), "message": e["msg"]} for e in exc.errors()
        ]
        summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors)
        return JSONResponse({"detail": summary, "errors": errors}, 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        detail = exc.detail if isinstance(exc.detail, str) else "Request failed."
        if exc.status_code == 404:
            detail = f"No such endpoint: {request.method} {request.url.path}. See /docs."
        return JSONResponse({"detail": detail}, exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception):
        ref = uuid.uuid4().hex[:8]
        log.exception("Unexpected error (ref %s) on %s %s", ref, request.method, request.url.path)
        return JSONResponse({"detail": f"Internal error (ref {ref}); see the server log."}, 500)

    async def guard(request: Request) -> None:
        """API key (when keys are configured) and the per-client rate limit."""
        client = request.client.host if request.client else "unknown"
        if service.keys:
            key = presented_key(request.headers)
            if not key_matches(key, service.keys):
                raise ApiError(
                    401,
                    "A valid API key is required: `Authorization: Bearer KEY`.",
                    {"WWW-Authenticate": "Bearer"},
                )
            client = "key:" + hashlib.sha256(key.encode()).hexdigest()[:16]
        wait = service.limiter.check(client)
        if wait is not None:
            raise ApiError(
                429,
                f"Rate limit of {settings.api_rate_limit_per_minute} requests a minute "
                f"reached; retry in {wait} s.",
                {"Retry-After": str(wait)},
            )

    # --- health and metrics ---------------------------------------------------------

    @app.get("/healthz", tags=["ops"])
    async def healthz() -> dict:
        """The process is alive."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"])
    async def readyz() -> JSONResponse:
        """Ready to answer: the index is loaded and the model reachable."""
        problems = []
        index = {}
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
            if problem := await run_in_threadpool(service.llm_problem):
                problems.append(public_message(problem))
        body = {
            "status": "not ready" if problems else "ready",
            "problems": problems,
            "index": index,
            "llm": {
                "backend": settings.llm_backend,
                "model": _model_label(settings),
                "state": service.llm_state,
            },
        }
        return JSONResponse(body, 503 if problems else 200)

    @app.get("/metrics", tags=["ops"], dependencies=[Depends(guard)])
    async def metrics() -> PlainTextResponse:
        """Prometheus metrics: requests, latencies, tokens, queue depth."""
        registry.queue_depth.set(service.gate.waiting)
        registry.running.set(service.gate.running)
        return PlainTextResponse(registry.render(), media_type=m.CONTENT_TYPE)

    # --- the tutor ------------------------------------------------------------------

    @app.post("/v1/search", response_model=SearchOut, tags=["tutor"], dependencies=[Depends(guard)])
    async def search(body: SearchRequest) -> dict:
        """Retrieval only: the best passages for a query, with scores and locations."""
        tutor = service.require_tutor()
        hits = await run_in_threadpool(
            tutor.retriever.search, body.query.strip(), body.top_k, body.phase, body.mode
        )
        return {"query": body.query, "hits": [h.to_dict() for h in hits]}

    @app.post(
        "/v1/ask",
        response_model=AnswerOut,
        tags=["tutor"],
        dependencies=[Depends(guard)],
        responses={200: {"content": {"text/event-stream": {}}}},
    )
    async def ask(body: AskRequest, request: Request):
        """A cited answer. With `"stream": true` (or `Accept: text/event-stream`): Server-Sent
        Events `retrieved`, `token`..., then `done` with the whole answer (or `error`)."""
        tutor = service.require_tutor()
        history = _history(body.history, settings.api_max_history_turns)

        def events():
            return tutor.stream(
                body.question, history, body.top_k, body.phase, body.mode, body.level
            )

        streaming = body.stream or "text/event-stream" in request.headers.get("accept", "")
        await _enter(service)
        if streaming:
            return StreamingResponse(
                _sse(service, registry, events),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
            )
        answer = await _collect(service, registry, events)
        return answer.to_dict()

    @app.get("/v1/sources/{item_id:path}", tags=["tutor"], dependencies=[Depends(guard)])
    async def source(item_id: str) -> dict:
        """A source's metadata and its passages, or one passage (chunk id) in full."""
        from tutor.index import source_view

        view = source_view(service.require_tutor().retriever.index, item_id)
        if view is None:
            raise ApiError(404, f"No source or passage '{item_id}' in the index.")
        return view

    @app.get("/v1/roadmap", tags=["tutor"], dependencies=[Depends(guard)])
    async def roadmap() -> list[dict]:
        """The roadmap as a tree: phases, sections, topics, resources and study notes."""
        from tutor.roadmap import roadmap_tree, study_notes

        path = settings.corpus_dir / "roadmap.md"
        if not path.is_file():
            raise ApiError(503, "The roadmap file is missing; set TUTOR_CORPUS_DIR.")
        return roadmap_tree(path.read_text(encoding="utf-8"), study_notes(settings.corpus_dir))

    # --- OpenAI-compatible --------------------------------------------------------------

    @app.get("/v1/models", tags=["openai"], dependencies=[Depends(guard)])
    async def models() -> dict:
        """The tutor as a model, for OpenAI-compatible chat clients."""
        return {
            "object": "list",
            "data": [
                {
                    "id": MODEL_NAME,
                    "object": "model",
                    "created": 0,
                    "owned_by": "genai-tutor",
                    "root": _model_label(settings),
                }
            ],
        }

    @app.post("/v1/chat/completions", tags=["openai"], dependencies=[Depends(guard)])
    async def chat_completions(body: ChatCompletionRequest):
        """OpenAI chat completions. The last user message is the question, earlier turns the
        history; client system prompts are ignored (the tutor's rules always apply). The
        answer carries numbered references in its text and a `citations` field."""
        tutor = service.require_tutor()
        question, history = _openai_turns(body, settings.api_max_history_turns)

        def events():
            return tutor.stream(question, history, body.top_k, None, body.mode, body.level)

        await _enter(service)
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        if body.stream:
            return StreamingResponse(
                _openai_stream(service, registry, events, completion_id, created),
                media_type="text/event-stream",
                headers={"Cache-Control": "no-cache"},
            )
        answer = await _collect(service, registry, events)
        text = answer.text + _references(answer)
        return {
            "id": completion_id,
            "object": "chat.completion",
            "created": created,
            "model": MODEL_NAME,
            "choices": [
                {
                    "index": 0,
                    "finish_reason": "stop",
                    "message": {"role": "assistant", "content": text},
                }
            ],
            "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
            "citations": [c.__dict__ for c in answer.citations],
            "abstained": answer.abstained,
        }

    return app


def _model_label(settings: Settings) -> str:
    return settings.llm_model.rsplit("/", 1)[-1]


def _history(turns, limit: int) -> list[Turn]:
    if len(turns) > limit:
        raise ApiError(422, f"history: at most {limit} turns are accepted; drop older turns.")
    return [Turn(t.role, t.content) for t in turns]


def _text_of(content) -> str:
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if p.get("type") == "text")
    return content or ""


def _openai_turns(body: ChatCompletionRequest, limit: int) -> tuple[str, list[Turn]]:
    turns = [
        (m.role, _text_of(m.content)) for m in body.messages if m.role in ("user", "assistant")
    ]
    if not turns or turns[-1][0] != "user":
        raise ApiError(422, "messages: the last message must be the learner's (role 'user').")
    question = turns[-1][1]
    if not question.strip():
        raise ApiError(422, "messages: the last user message is empty.")
    from tutor.config import MAX_QUESTION_CHARS

    if len(question) > MAX_QUESTION_CHARS:
        raise ApiError(
            422, f"messages: the question is longer than {MAX_QUESTION_CHARS} characters."
        )
    history = [Turn(role, text) for role, text in turns[:-1]]
    if len(history) > limit:
        history = history[-limit:]  # chat clients resend everything; keep the recent turns
    return question, history


def _references(answer) -> str:
    if not answer.citations:
        return ""
    lines = []
    for c in answer.citations:
        where = " > ".join(c.heading_path) or c.title
        lines.append(f"[{c.number}] {where} ({c.url or c.source_id})")
    return "\n\nSources:\n" + "\n".join(lines)


async def _enter(service: Service) -> None:
    try:
        await service.gate.acquire()
    except QueueFull as exc:
        raise ApiError(429, str(exc), {"Retry-After": str(exc.retry_after_s)}) from None


async def _answer_events(service: Service, registry, make_events) -> AsyncIterator:
    """The core's events for one answer; holds the gate (already entered) until done."""
    started = time.perf_counter()
    first = None
    try:
        async for event in iterate_in_thread(make_events, registry.cancelled.inc):
            if isinstance(event, Token):
                registry.tokens.inc()
                if first is None:
                    first = time.perf_counter() - started
                    registry.first_token.observe(first)
            yield event
    finally:
        service.gate.release(time.perf_counter() - started)


async def _collect(service: Service, registry, make_events):
    async for event in _answer_events(service, registry, make_events):
        if isinstance(event, Done):
            return event.answer
    raise ApiError(500, "The answer ended unexpectedly.")


async def _sse(service: Service, registry, make_events) -> AsyncIterator[str]:
    try:
        async for event in _answer_events(service, registry, make_events):
            if isinstance(event, Retrieved):
                yield format_event(
                    "retrieved",
                    {"query": event.query, "passages": [x.to_dict() for x in event.passages]},
                )
            elif isinstance(event, Token):
                yield format_event("token", {"text": event.text})
            elif isinstance(event, Done):
                yield format_event("done", event.answer.to_dict())
    except TutorError as exc:
        yield format_event("error", {"status": status_for(exc), "detail": public_message(exc)})
    except Exception:
        log.exception("Unexpected error while streaming an answer")
        yield format_event(
            "error", {"status": 500, "detail": "Internal error; see the server log."}
        )


async def _openai_stream(service, registry, make_events, completion_id, created):
    def chunk(delta: dict, finish: str | None = None, **extra) -> str:
        body = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": MODEL_NAME,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"

    yield chunk({"role": "assistant", "content": ""})
    try:
        async for event in _answer_events(service, registry, make_events):
            if isinstance(event, Token):
                yield chunk({"content": event.text})
            elif isinstance(event, Done):
                refs = _references(event.answer)
                if refs:
                    yield chunk({"content": refs})
                yield chunk(
                    {},
                    "stop",
                    citations=[c.__dict__ for c in event.answer.citations],
                    abstained=event.answer.abstained,
                )
    except TutorError as exc:
        error = {"error": {"message": public_message(exc), "code": status_for(exc)}}
        yield f"data: {json.dumps(error)}\n\n"
    yield "data: [DONE]\n\n"
