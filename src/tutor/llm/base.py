"""The one LLM interface: stream a chat completion as text pieces."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass

Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": ...}


@dataclass
class GenerationStats:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None


class LLMBackend(ABC):
    """A chat model. Subclasses implement `stream_chat`; `chat` and stats live here."""

    model_id: str = "unknown"

    def __init__(self) -> None:
        self.last_stats = GenerationStats()

    @abstractmethod
    def stream_chat(
        self, messages: list[Message], max_tokens: int, temperature: float
    ) -> Iterator[str]:
        """Yield the reply piece by piece; LLMUnavailableError when the model cannot answer."""

    def chat(self, messages: list[Message], max_tokens: int, temperature: float) -> str:
        return "".join(self.stream_chat(messages, max_tokens, temperature))
