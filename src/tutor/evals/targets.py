"""What an eval asks: our pipeline in-process, a running tutor API over HTTP, or the
llama-index default query engine as the baseline. One small interface for all three."""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from typing import Protocol

from tutor.answer import Done, Token, Turn, Tutor
from tutor.errors import TutorError
from tutor.evals.datasets import Case


@dataclass
class Reply:
    text: str
    citations: list[dict]  # {number, source_id, passage, ...}
    context: list[dict]  # passages shown to the model, in prompt order: {source_id, text}
    abstained: bool  # the target's own flag (ours); the runner also detects declines in text
    first_token_s: float | None
    total_s: float
    error: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def passages(self) -> dict[int, str]:
        """Citation number -> passage text, as the answer's [n] markers refer to them."""
        numbered = {i: p["text"] for i, p in enumerate(self.context, 1)}
        for c in self.citations:
            numbered.setdefault(c["number"], c.get("passage", ""))
        return numbered


class Target(Protocol):
    name: str

    def answer(self, case: Case) -> Reply: ...

    def search(self, query: str, k: int, mode: str) -> list[str] | None:
        """Source ids of the top-k passages, best first; None when the target cannot tell."""

    def has_fetched_resources(self) -> bool: ...


def case_history(case: Case) -> list[Turn]:
    # Quiz attacks run in quiz-ask mode (no open question): the tutor is about to write a
    # quiz question, and the learner tries to get its answer with it.
    return list(case.history)


def _failed(exc: Exception, started: float) -> Reply:
    return Reply("", [], [], False, None, time.perf_counter() - started, error=str(exc))


class LocalTarget:
    """Our pipeline, in-process."""

    def __init__(self, tutor: Tutor, name: str = "ours"):
        self.tutor = tutor
        self.name = name

    def answer(self, case: Case) -> Reply:
        started = time.perf_counter()
        first = None
        try:
            for event in self.tutor.stream(case.question, case_history(case), mode=case.mode):
                if isinstance(event, Token) and first is None:
                    first = time.perf_counter() - started
                if isinstance(event, Done):
                    answer = event.answer
        except TutorError as exc:
            return _failed(exc, started)
        return Reply(
            text=answer.text,
            citations=[c.__dict__ for c in answer.citations],
            context=[{"source_id": r["source_id"], "text": r["text"]} for r in answer.retrieval],
            abstained=answer.abstained,
            first_token_s=first,
            total_s=time.perf_counter() - started,
            extra={
                "model_id": answer.model_id,
                "query": answer.query,
                # The pipeline's own per-sentence support, kept for reading a run (and for
                # re-rendering an answer offline); never used to score it.
                "sentences": answer.sentences,
            },
        )

    def search(self, query: str, k: int, mode: str) -> list[str] | None:
        hits = self.tutor.retriever.search(query, top_k=k, mode=mode)
        return [h.chunk.source_id for h in hits]

    def has_fetched_resources(self) -> bool:
        sources = self.tutor.retriever.index.manifest.get("sources", {})
        return any(s.startswith("resources/") for s in sources)


class HttpTarget:
    """A running tutor API, through the same client the UI uses: POST /v1/ask streamed (so
    first-token time is real) and POST /v1/search."""

    def __init__(self, base_url: str, api_key: str | None = None, timeout_s: float = 300.0):
        from tutor.client import HttpClient

        self.name = "api"
        self.client = HttpClient(base_url, api_key, timeout_s)

    def answer(self, case: Case) -> Reply:
        started = time.perf_counter()
        history = [t.__dict__ for t in case_history(case)]
        first, answer = None, None
        try:
            for event in self.client.stream(case.question, history, mode=case.mode):
                if event["type"] == "token" and first is None:
                    first = time.perf_counter() - started
                elif event["type"] == "done":
                    answer = event["answer"]
        except TutorError as exc:
            return _failed(exc, started)
        if answer is None:
            return _failed(TutorError("the stream ended without a final answer"), started)
        return Reply(
            text=answer["text"],
            citations=answer["citations"],
            context=[{"source_id": r["source_id"], "text": r["text"]} for r in answer["retrieval"]],
            abstained=answer["abstained"],
            first_token_s=first,
            total_s=time.perf_counter() - started,
            extra={"model_id": answer.get("model_id"), "query": answer.get("query")},
        )

    def _get_json(self, method: str, path: str, **kwargs) -> dict:
        """One API call; transport and HTTP errors become TutorErrors that say what failed."""
        import httpx

        try:
            response = self.client.http.request(method, path, **kwargs)
            response.raise_for_status()
            return response.json()
        except (httpx.HTTPError, ValueError) as exc:
            raise TutorError(
                f"The tutor API at {self.client.base_url} failed on {method} {path}: "
                f"{exc.__class__.__name__}. Check that `tutor serve` is running there."
            ) from exc

    def search(self, query: str, k: int, mode: str) -> list[str] | None:
        body = {"query": query, "top_k": k, "mode": mode}
        return [h["source_id"] for h in self._get_json("POST", "/v1/search", json=body)["hits"]]

    def has_fetched_resources(self) -> bool:
        ready = self._get_json("GET", "/readyz")
        return bool(ready.get("index", {}).get("fetched_sources", 0))


# The closed-book comparison's prompt: the same model, asked without any passages. Our own
# tutor prompt would make it decline, since it answers only from passages.
CLOSED_BOOK_SYSTEM = (
    "You are a tutor for people learning Generative AI. Answer the learner's multiple-choice "
    "question: name the correct option or options by letter, then explain briefly."
)


class ClosedBook:
    """Our model with no retrieval, on the multiple-choice suite only: what retrieval adds."""

    name = "closed_book"

    def __init__(self, tutor: Tutor):
        self.tutor = tutor

    def answer(self, case: Case) -> Reply:
        started = time.perf_counter()
        settings = self.tutor.settings
        messages = [
            {"role": "system", "content": CLOSED_BOOK_SYSTEM},
            {"role": "user", "content": case.question},
        ]
        try:
            text = self.tutor.llm.chat(
                messages, max_tokens=settings.max_answer_tokens, temperature=settings.temperature
            )
        except TutorError as exc:
            return _failed(exc, started)
        return Reply(text.strip(), [], [], False, None, time.perf_counter() - started)

    def search(self, query: str, k: int, mode: str) -> list[str] | None:
        return None

    def has_fetched_resources(self) -> bool:
        return True


class LlamaIndexBaseline:
    """What a user builds in a few lines: a `VectorStoreIndex` over the same chunks,
    embeddings and LLM as ours, asked through llama-index's own chat engine
    (`condense_plus_context`), which condenses the conversation into a standalone question,
    retrieves the same number of passages as ours and answers with its default prompts. It
    writes no citation markers."""

    name = "baseline"
    chat_mode = "condense_plus_context"
    version = "chat-engine-v1"  # bump when the baseline's behaviour changes: keys its cache

    def __init__(self, tutor: Tutor, canary: str | None, seed: str | None = None):
        from llama_index.core import VectorStoreIndex
        from llama_index.core.schema import TextNode

        index = tutor.retriever.index
        nodes = [
            TextNode(
                id_=c.id,
                text=c.text,
                embedding=index.embeddings[i].tolist(),
                metadata={"source_id": c.source_id},
            )
            for i, c in enumerate(index.chunks)
        ]
        self.tutor = tutor
        self.canary = canary
        self.seed = seed
        self.top_k = tutor.settings.top_k
        embed_model = _embedding_adapter(tutor.retriever.embedder)
        self.index = VectorStoreIndex(nodes, embed_model=embed_model)
        self.llm = _llm_adapter(tutor, canary)

    def engine(self):
        """A fresh chat engine per case: its memory must hold only that case's history."""
        return self.index.as_chat_engine(
            chat_mode=self.chat_mode, llm=self.llm, similarity_top_k=self.top_k
        )

    def fingerprint(self) -> dict:
        """What the baseline's answers depend on (its cache key, with the case)."""
        manifest = self.tutor.retriever.index.manifest
        corpus = hashlib.sha256(
            json.dumps(
                [manifest.get("sources"), manifest.get("chunker"), manifest.get("embed_model")],
                sort_keys=True,
            ).encode()
        ).hexdigest()[:16]
        settings = self.tutor.settings
        return {
            "version": self.version,
            "chat_mode": self.chat_mode,
            "top_k": self.top_k,
            "corpus": corpus,
            "llm": self.tutor.llm.model_id,
            "embed": settings.embed_model,
            "max_tokens": settings.max_answer_tokens,
            "temperature": settings.temperature,
        }

    def answer(self, case: Case) -> Reply:
        from llama_index.core.llms import ChatMessage

        started = time.perf_counter()
        first, pieces = None, []
        history = [ChatMessage(role=t.role, content=t.content) for t in case_history(case)]
        # Kept so a test can look at what the engine was given.
        self.last_engine = self.engine()
        try:
            response = self.last_engine.stream_chat(case.question, chat_history=history)
            for piece in response.response_gen:
                if first is None:
                    first = time.perf_counter() - started
                pieces.append(piece)
        except TutorError as exc:
            return _failed(exc, started)
        context = [
            {"source_id": n.node.metadata["source_id"], "text": n.node.get_content()}
            for n in response.source_nodes
        ]
        return Reply(
            text="".join(pieces).strip(),
            citations=[],
            context=context,
            abstained=False,
            first_token_s=first,
            total_s=time.perf_counter() - started,
        )

    def search(self, query: str, k: int, mode: str) -> list[str] | None:
        return None  # its retrieval is our dense retrieval; measured there

    def has_fetched_resources(self) -> bool:
        return LocalTarget(self.tutor).has_fetched_resources()


def _embedding_adapter(embedder):
    from llama_index.core.embeddings import BaseEmbedding

    class TutorEmbedding(BaseEmbedding):
        """Our sentence-transformers model behind llama-index's embedding interface."""

        def _get_query_embedding(self, query: str) -> list[float]:
            return embedder.embed_query(query).tolist()

        def _get_text_embedding(self, text: str) -> list[float]:
            return embedder.embed([text])[0].tolist()

        async def _aget_query_embedding(self, query: str) -> list[float]:
            return self._get_query_embedding(query)

    return TutorEmbedding(model_name=embedder.name)


def _llm_adapter(tutor: Tutor, canary: str | None):
    from llama_index.core.llms import (
        ChatMessage,
        ChatResponse,
        CompletionResponse,
        CustomLLM,
        LLMMetadata,
    )

    from tutor.prompts import CANARY_RULE

    settings = tutor.settings

    def to_messages(messages) -> list[dict]:
        out = [{"role": m.role.value, "content": m.content or ""} for m in messages]
        if canary:
            rule = CANARY_RULE.format(canary=canary)
            if out and out[0]["role"] == "system":
                out[0]["content"] += "\n" + rule
            else:
                out.insert(0, {"role": "system", "content": rule})
        return out

    class TutorLLM(CustomLLM):
        """Our LLM backend as a llama-index chat model, so the baseline shares its weights."""

        @property
        def metadata(self) -> LLMMetadata:
            return LLMMetadata(
                context_window=settings.llm_context_tokens,
                num_output=settings.max_answer_tokens,
                is_chat_model=True,
                model_name=tutor.llm.model_id,
            )

        def chat(self, messages, **kwargs) -> ChatResponse:
            text = tutor.llm.chat(
                to_messages(messages), settings.max_answer_tokens, settings.temperature
            )
            return ChatResponse(message=ChatMessage(role="assistant", content=text))

        def stream_chat(self, messages, **kwargs):
            def gen():
                text = ""
                for piece in tutor.llm.stream_chat(
                    to_messages(messages), settings.max_answer_tokens, settings.temperature
                ):
                    text += piece
                    yield ChatResponse(
                        message=ChatMessage(role="assistant", content=text), delta=piece
                    )

            return gen()

        def complete(self, prompt: str, formatted: bool = False, **kwargs) -> CompletionResponse:
            reply = self.chat([ChatMessage(role="user", content=prompt)])
            return CompletionResponse(text=reply.message.content)

        def stream_complete(self, prompt: str, formatted: bool = False, **kwargs):
            def gen():
                for r in self.stream_chat([ChatMessage(role="user", content=prompt)]):
                    yield CompletionResponse(text=r.message.content, delta=r.delta)

            return gen()

    return TutorLLM()
