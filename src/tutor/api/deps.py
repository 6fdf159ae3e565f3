"""Dependencies the routes declare: the shared service, the key guard (FastAPI's security
classes, so OpenAPI documents both ways to present a key), the rate limit, and the checks
that the tutor and its model can answer now."""

from __future__ import annotations

import hashlib
from typing import Annotated

from fastapi import Depends, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from tutor.answer import Tutor
from tutor.api.errors import ApiError, as_api_error
from tutor.api.gate import QueueFull
from tutor.api.security import is_forwarded, is_loopback, key_matches
from tutor.api.service import Service
from tutor.errors import TutorError

LOADING_RETRY_S = 5

bearer_key = HTTPBearer(
    auto_error=False, description="An API key from TUTOR_API_KEYS: `Authorization: Bearer KEY`."
)
header_key = APIKeyHeader(
    name="X-API-Key", auto_error=False, description="The same key, as an `X-API-Key` header."
)


async def get_service(request: Request) -> Service:
    return request.app.state.service


ServiceDep = Annotated[Service, Depends(get_service)]


def rate_limit(service: Service, identity: str) -> None:
    wait = service.limiter.check(identity)
    if wait is not None:
        raise ApiError(
            429,
            f"Rate limit of {service.limiter.per_minute} requests a minute reached; "
            f"retry in {wait} s.",
            {"Retry-After": str(wait)},
        )


async def guard(
    request: Request,
    service: ServiceDep,
    bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_key)],
    x_api_key: Annotated[str | None, Security(header_key)],
) -> None:
    """The rate limit first, then the key: a caller guessing keys spends the budget of its
    address like anyone else, so guessing is throttled too.

    Without configured keys only clients on this machine are served; a request relayed by a
    reverse proxy (it carries a forwarding header) counts as coming from beyond it."""
    key = bearer.credentials if bearer else x_api_key
    client = request.client.host if request.client else "unknown"
    valid = bool(service.keys) and key_matches(key, service.keys)
    identity = "key:" + hashlib.sha256(key.encode()).hexdigest()[:16] if valid else "ip:" + client
    rate_limit(service, identity)
    if service.keys and not valid:
        raise ApiError(
            401,
            "A valid API key is required: `Authorization: Bearer KEY`.",
            {"WWW-Authenticate": "Bearer"},
        )
    if not service.keys and (not is_loopback(client) or is_forwarded(request.headers)):
        raise ApiError(
            403,
            "This tutor has no API keys, so it serves only clients on its own machine. "
            "Set TUTOR_API_KEYS to serve others (behind a reverse proxy too).",
        )


async def probe_limit(request: Request, service: ServiceDep) -> None:
    """Readiness probes need no key, but are throttled per address like everything else."""
    rate_limit(service, "ip:" + (request.client.host if request.client else "unknown"))


async def require_tutor(service: ServiceDep) -> Tutor:
    try:
        return service.require_tutor()
    except TutorError as exc:
        raise as_api_error(exc) from None


async def answering_tutor(
    service: ServiceDep, tutor: Annotated[Tutor, Depends(require_tutor)]
) -> Tutor:
    """The tutor, when it can take an answer now: 503 with Retry-After while the model loads
    (one load, in the background), 503 with the reason when loading failed, 429 with
    Retry-After when the line for the model is full. The model slot itself is taken later,
    by the answer's body (gate.model_events)."""
    state = service.llm_state
    if state == "loading":
        raise ApiError(
            503,
            f"The model is loading; retry in {LOADING_RETRY_S} s.",
            {"Retry-After": str(LOADING_RETRY_S)},
        )
    if state.startswith("failed"):
        raise ApiError(503, f"The model could not be loaded: {state[8:]}")
    try:
        service.gate.check_room()
    except QueueFull as exc:
        raise as_api_error(exc) from None
    return tutor


TutorDep = Annotated[Tutor, Depends(require_tutor)]
AnsweringTutor = Annotated[Tutor, Depends(answering_tutor)]
