"""One mapping from failures to HTTP answers. Bodies never carry stack traces or file
system paths: TutorErrors become 4xx/5xx with their message (paths masked); anything
unexpected is logged with a reference and answered with a plain 500."""

from __future__ import annotations

import logging
import re
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from tutor.api.gate import QueueFull
from tutor.errors import (
    BadInputError,
    IndexMismatchError,
    IndexMissingError,
    LLMUnavailableError,
    ModelChecksumError,
    ModelMissingError,
    TutorError,
)

log = logging.getLogger("tutor.api")
_PATH = re.compile(r"(?<![\w.])/(?:[\w.@+-]+/)+[\w.@+-]*")
_UNAVAILABLE = (
    IndexMissingError,
    IndexMismatchError,
    ModelMissingError,
    ModelChecksumError,
    LLMUnavailableError,
)


class ApiError(Exception):
    """An answer with a status, a public message and headers (Retry-After, WWW-Authenticate)."""

    def __init__(self, status: int, detail: str, headers: dict | None = None):
        super().__init__(detail)
        self.status, self.detail, self.headers = status, detail, headers or {}


def public_message(exc: Exception | str) -> str:
    """The error's message with file system paths masked."""
    return _PATH.sub("<path>", str(exc))


def status_for(exc: Exception) -> int:
    if isinstance(exc, ApiError):
        return exc.status
    if isinstance(exc, QueueFull):
        return 429
    if isinstance(exc, BadInputError):
        return 422
    if isinstance(exc, _UNAVAILABLE):
        return 503
    return 500


def as_api_error(exc: TutorError | QueueFull) -> ApiError:
    headers = {"Retry-After": str(exc.retry_after_s)} if isinstance(exc, QueueFull) else None
    return ApiError(status_for(exc), public_message(exc), headers)


def error_body(exc: BaseException) -> dict:
    """What a stream says when its answer fails part-way (the status line is already sent)."""
    if isinstance(exc, TutorError | QueueFull | ApiError):
        return {"status": status_for(exc), "detail": public_message(exc)}
    log.error("Unexpected error while streaming an answer", exc_info=exc)
    return {"status": 500, "detail": "Internal error; see the server log."}


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError):
        return JSONResponse({"detail": exc.detail}, exc.status, headers=exc.headers)

    @app.exception_handler(TutorError)
    async def tutor_error(request: Request, exc: TutorError):
        return JSONResponse({"detail": public_message(exc)}, status_for(exc))

    @app.exception_handler(QueueFull)
    async def queue_full(request: Request, exc: QueueFull):
        error = as_api_error(exc)
        return JSONResponse({"detail": error.detail}, 429, headers=error.headers)

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
