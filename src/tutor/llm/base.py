"""The one LLM interface: stream a chat completion as text pieces."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass

Message = dict[str, str]  # {"role": "system" | "user" | "assistant", "content": ...}


def system_and_user(system: str, user: str) -> list[Message]:
    """One question under a system prompt: what every stage of the pipeline sends."""
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


@dataclass
class GenerationStats:
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    # Prompt tokens found in the model's cache (llama.cpp), not read again.
    prompt_reused: int = 0
    # Speculative decoding (llama.cpp with lookup drafts): forward passes while writing,
    # tokens drafted, and drafted tokens the model kept.
    decode_steps: int = 0
    drafted: int = 0
    accepted: int = 0


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

    def count_tokens(self, text: str) -> int:
        """Tokens of `text` for the model. Backends with the tokenizer at hand override this;
        the fallback is the usual four characters a token of English."""
        return max(1, len(text) // 4)

    def count_prompt_tokens(self, messages: list[Message]) -> int:
        """Tokens the model reads for `messages`. The fallback adds a few for each
        message's role markup; llama.cpp counts the exact chat prompt."""
        return sum(self.count_tokens(m["content"]) + 4 for m in messages)

    def yes_probability(self, messages: list[Message]) -> float:
        """P(the reply starts with "yes") relative to "no", for judges. Backends that can read
        token probabilities override this; the fallback reads the greedy reply."""
        reply = self.chat(messages, max_tokens=2, temperature=0.0).strip().lower()
        return 1.0 if reply.startswith("yes") else 0.0


YES_WORDS = ("yes", "Yes", "YES")
NO_WORDS = ("no", "No", "NO")


def yes_share(token_probs: dict[str, float]) -> float | None:
    """P(yes) / (P(yes) + P(no)) from first-token probabilities keyed by token text
    (leading spaces ignored); None when neither word is among them.

    >>> round(yes_share({"Yes": 0.6, " yes": 0.1, "No": 0.2, "The": 0.1}), 3)
    0.778
    """
    yes = sum(p for t, p in token_probs.items() if t.strip() in YES_WORDS)
    no = sum(p for t, p in token_probs.items() if t.strip() in NO_WORDS)
    return yes / (yes + no) if yes + no > 0 else None
