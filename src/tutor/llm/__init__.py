"""LLM backends behind one interface; `make_backend` picks one from the settings."""

from __future__ import annotations

from tutor.config import Settings
from tutor.errors import TutorError
from tutor.llm.base import LLMBackend, Message
from tutor.models import Progress, resolve_llm_model

__all__ = ["LLMBackend", "Message", "make_backend"]


def make_backend(settings: Settings, progress: Progress | None = None) -> LLMBackend:
    if settings.llm_backend == "llamacpp":
        from tutor.llm.llamacpp import LlamaCppBackend

        model = resolve_llm_model(settings.llm_model, settings.models_dir, progress)
        return LlamaCppBackend(
            model,
            settings.llm_context_tokens,
            settings.llm_threads,
            settings.models_dir,
            lookup_tokens=settings.llm_lookup_tokens,
            prefix_states=settings.llm_prefix_states,
        )
    if settings.llm_backend == "openai":
        from tutor.llm.openai_compat import OpenAICompatBackend

        return OpenAICompatBackend(
            settings.llm_base_url, settings.llm_model, settings.llm_api_key, settings.llm_timeout_s
        )
    raise TutorError(
        f"Unknown TUTOR_LLM_BACKEND '{settings.llm_backend}'. Use 'llamacpp' or 'openai'."
    )
