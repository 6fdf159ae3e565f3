"""One answer's life in the API: the core's events, taken from the model through the gate
(gate.model_events owns the slot), then shaped as our Server-Sent Events, as OpenAI chunks,
or collected into one answer. sse-starlette writes the stream: keep-alive pings while an
answer waits in line, and the generator is stopped when the client goes."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable, Iterator

from sse_starlette import EventSourceResponse, ServerSentEvent

from tutor.answer import Answer, Done, Retrieved, Token
from tutor.api.errors import ApiError, error_body
from tutor.api.gate import model_events
from tutor.api.metrics import Metrics
from tutor.api.service import Service

MakeEvents = Callable[[], Iterator]
PING_S = 10  # keeps proxies from closing a stream that waits for the model
SEND_TIMEOUT_S = 60  # a client that reads nothing for this long is dropped


async def answer_events(
    service: Service, metrics: Metrics, make_events: MakeEvents
) -> AsyncIterator:
    """The core's events for one answer, with first-token and token metrics."""
    started = time.perf_counter()
    first = None
    async for event in model_events(service.gate, make_events, metrics.cancelled.inc):
        if isinstance(event, Token):
            metrics.tokens.inc()
            if first is None:
                first = time.perf_counter() - started
                metrics.first_token.observe(first)
        yield event


async def collect(service: Service, metrics: Metrics, make_events: MakeEvents) -> Answer:
    async for event in answer_events(service, metrics, make_events):
        if isinstance(event, Done):
            return event.answer
    raise ApiError(500, "The answer ended unexpectedly.")


def event_stream(content: AsyncIterator) -> EventSourceResponse:
    return EventSourceResponse(
        content,
        ping=PING_S,
        sep="\n",
        send_timeout=SEND_TIMEOUT_S,
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _event(name: str, data) -> ServerSentEvent:
    return ServerSentEvent(data=json.dumps(data, ensure_ascii=False), event=name)


async def tutor_sse(service: Service, metrics: Metrics, make_events: MakeEvents):
    """Our stream: `retrieved`, `token`..., then `done` with the whole answer, or `error`."""
    try:
        async for event in answer_events(service, metrics, make_events):
            if isinstance(event, Retrieved):
                passages = [x.to_dict() for x in event.passages]
                yield _event("retrieved", {"query": event.query, "passages": passages})
            elif isinstance(event, Token):
                yield _event("token", {"text": event.text})
            elif isinstance(event, Done):
                yield _event("done", event.answer.to_dict())
    except Exception as exc:  # the status line is sent: the failure becomes an event
        yield _event("error", error_body(exc))


def references(answer: Answer) -> str:
    """The numbered sources, appended to an OpenAI client's text (it has no citation UI)."""
    if not answer.citations:
        return ""
    lines = []
    for c in answer.citations:
        where = " > ".join(c.heading_path) or c.title
        lines.append(f"[{c.number}] {where} ({c.url or c.source_id})")
    return "\n\nSources:\n" + "\n".join(lines)


def usage(answer: Answer) -> dict:
    prompt = answer.usage.get("prompt_tokens", 0)
    completion = answer.usage.get("completion_tokens", 0)
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


async def openai_sse(
    service: Service,
    metrics: Metrics,
    make_events: MakeEvents,
    completion_id: str,
    created: int,
    model: str,
):
    """OpenAI's chunk stream: a role chunk, content chunks, a last chunk with the finish
    reason, citations and usage, then `[DONE]`."""

    def chunk(delta: dict, finish: str | None = None, **extra) -> ServerSentEvent:
        body = {
            "id": completion_id,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            **extra,
        }
        return ServerSentEvent(data=json.dumps(body, ensure_ascii=False))

    yield chunk({"role": "assistant", "content": ""})
    try:
        async for event in answer_events(service, metrics, make_events):
            if isinstance(event, Token):
                yield chunk({"content": event.text})
            elif isinstance(event, Done):
                answer = event.answer
                if refs := references(answer):
                    yield chunk({"content": refs})
                yield chunk(
                    {},
                    "length" if answer.truncated else "stop",
                    citations=[c.__dict__ for c in answer.citations],
                    sentences=answer.sentences,
                    abstained=answer.abstained,
                    placement=answer.placement,
                    premise=answer.premise,
                    usage=usage(answer),
                )
    except Exception as exc:
        body = error_body(exc)
        yield ServerSentEvent(
            data=json.dumps({"error": {"message": body["detail"], "code": body["status"]}})
        )
    yield ServerSentEvent(data="[DONE]")
