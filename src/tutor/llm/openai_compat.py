"""OpenAI-compatible HTTP backend: vLLM on a GPU, llama.cpp's server, or any such endpoint."""

from __future__ import annotations

from collections.abc import Iterator

from tutor.errors import LLMUnavailableError, PromptTooLongError, TutorError
from tutor.llm.base import LLMBackend, Message, yes_share


class OpenAICompatBackend(LLMBackend):
    def __init__(self, base_url: str, model: str, api_key: str, timeout_s: float):
        super().__init__()
        from openai import OpenAI

        self.base_url = base_url
        self.model_id = model
        self.client = OpenAI(base_url=base_url, api_key=api_key, timeout=timeout_s, max_retries=0)

    def yes_probability(self, messages: list[Message]) -> float:
        """From the server's top log-probabilities of the first reply token (vLLM and
        llama.cpp's server return them); the greedy reply when the server gives none."""
        import math

        import openai

        try:
            reply = self.client.chat.completions.create(
                model=self.model_id,
                messages=messages,
                max_tokens=1,
                temperature=0.0,
                logprobs=True,
                top_logprobs=10,
            )
        except (openai.APIConnectionError, openai.APITimeoutError, openai.APIStatusError) as exc:
            raise self._unavailable(exc) from exc
        choice = reply.choices[0]
        content = choice.logprobs.content if choice.logprobs else None
        if content:
            probs = {t.token: math.exp(t.logprob) for t in content[0].top_logprobs}
            share = yes_share(probs)
            if share is not None:
                return share
        text = (choice.message.content or "").strip().lower()
        return 1.0 if text.startswith("yes") else 0.0

    def _unavailable(self, exc: Exception) -> TutorError:
        import openai

        if isinstance(exc, openai.BadRequestError) and "context" in str(exc).lower():
            return PromptTooLongError(
                "The question and conversation are too long for the model to read (the LLM "
                "server said so). Ask a shorter question or start a new conversation."
            )
        if isinstance(exc, openai.APIStatusError):
            return LLMUnavailableError(
                f"The LLM server at {self.base_url} answered HTTP {exc.status_code} for model "
                f"'{self.model_id}'. Check TUTOR_LLM_MODEL names a model it serves."
            )
        return LLMUnavailableError(
            f"The LLM server at {self.base_url} is not reachable ({exc.__class__.__name__}). "
            "Start it (`tutor serve-llm` for vLLM, or `python -m llama_cpp.server`) or set "
            "TUTOR_LLM_BASE_URL; or use the embedded model: TUTOR_LLM_BACKEND=llamacpp."
        )

    def stream_chat(
        self, messages: list[Message], max_tokens: int, temperature: float
    ) -> Iterator[str]:
        import openai

        try:
            stream = self.client.chat.completions.create(
                model=self.model_id,
                messages=messages,
                max_tokens=max_tokens,
                temperature=temperature,
                stream=True,
            )
            for event in stream:
                if event.choices and event.choices[0].delta.content:
                    yield event.choices[0].delta.content
        except (openai.APIConnectionError, openai.APITimeoutError, openai.APIStatusError) as exc:
            raise self._unavailable(exc) from exc
