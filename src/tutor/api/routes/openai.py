"""OpenAI-compatible endpoints, so chat clients can use the tutor as a model."""

from __future__ import annotations

import time
import uuid

from fastapi import APIRouter, Depends, Request

from tutor.answer import Turn
from tutor.api.deps import AnsweringTutor, ServiceDep, guard
from tutor.api.errors import ApiError
from tutor.api.routes.ops import model_label
from tutor.api.schemas import ChatCompletionRequest
from tutor.api.streaming import collect, event_stream, openai_sse, references, usage
from tutor.config import MAX_QUESTION_CHARS

MODEL_NAME = "genai-tutor"
router = APIRouter(prefix="/v1", tags=["openai"], dependencies=[Depends(guard)])


@router.get("/models")
async def models(service: ServiceDep) -> dict:
    """The tutor as a model, for OpenAI-compatible chat clients."""
    model = {
        "id": MODEL_NAME,
        "object": "model",
        "created": 0,
        "owned_by": "genai-tutor",
        "root": model_label(service.settings),
    }
    return {"object": "list", "data": [model]}


@router.post("/chat/completions")
async def chat_completions(
    body: ChatCompletionRequest, request: Request, service: ServiceDep, tutor: AnsweringTutor
):
    """OpenAI chat completions. The last user message is the question, earlier turns the
    history; client system prompts are ignored (the tutor's rules always apply).
    `max_tokens` (at most the server's TUTOR_MAX_ANSWER_TOKENS) and `temperature` are
    honoured; `usage` counts the model's tokens. The answer carries numbered references in
    its text and a `citations` field."""
    question, history = openai_turns(body, service.settings.api_max_history_turns)
    max_tokens = min(body.max_tokens or 10**9, service.settings.max_answer_tokens)

    def events():
        return tutor.stream(
            question,
            history,
            body.top_k,
            None,
            body.mode,
            body.level,
            max_tokens=max_tokens,
            temperature=body.temperature,
        )

    metrics = request.app.state.metrics
    completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    if body.stream:
        return event_stream(
            openai_sse(service, metrics, events, completion_id, created, MODEL_NAME)
        )
    answer = await collect(service, metrics, events)
    return {
        "id": completion_id,
        "object": "chat.completion",
        "created": created,
        "model": MODEL_NAME,
        "choices": [
            {
                "index": 0,
                "finish_reason": "length" if answer.truncated else "stop",
                "message": {"role": "assistant", "content": answer.text + references(answer)},
            }
        ],
        "usage": usage(answer),
        "citations": [c.__dict__ for c in answer.citations],
        "sentences": answer.sentences,
        "abstained": answer.abstained,
        "placement": answer.placement,
        "premise": answer.premise,
    }


def _text_of(content) -> str:
    if isinstance(content, list):
        return " ".join(p.get("text", "") for p in content if p.get("type") == "text")
    return content or ""


def openai_turns(body: ChatCompletionRequest, limit: int) -> tuple[str, list[Turn]]:
    turns = [
        (m.role, _text_of(m.content)) for m in body.messages if m.role in ("user", "assistant")
    ]
    if not turns or turns[-1][0] != "user":
        raise ApiError(422, "messages: the last message must be the learner's (role 'user').")
    question = turns[-1][1]
    if not question.strip():
        raise ApiError(422, "messages: the last user message is empty.")
    if len(question) > MAX_QUESTION_CHARS:
        raise ApiError(
            422, f"messages: the question is longer than {MAX_QUESTION_CHARS} characters."
        )
    history = [Turn(role, text) for role, text in turns[:-1]]
    return question, history[-limit:] if limit else []  # clients resend everything
