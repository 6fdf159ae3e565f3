"""The GPU path: vLLM's OpenAI-compatible server, started with our settings.

`vllm_command` and `vllm_env` are the one place its command line and environment are built
(and unit-tested); `tutor serve-llm` runs them, and the tutor reaches the server with
TUTOR_LLM_BACKEND=openai.
"""

from __future__ import annotations

from tutor.config import Settings


def vllm_command(settings: Settings, host: str = "127.0.0.1", extra: list[str] = ()) -> list[str]:
    """`vllm serve` for the configured model, named as the tutor will ask for it."""
    return [
        "vllm",
        "serve",
        settings.vllm_model,
        "--host",
        host,
        "--port",
        str(settings.vllm_port),
        "--served-model-name",
        settings.vllm_model,
        "--max-model-len",
        str(settings.llm_context_tokens),
        "--gpu-memory-utilization",
        str(settings.vllm_gpu_memory_utilization),
        "--generation-config",
        "vllm",  # our temperature and max_tokens, not the model repo's defaults
        *extra,
    ]


NO_KEY = "not-needed"


def vllm_env(settings: Settings) -> dict[str, str]:
    """The API key travels in vLLM's environment (VLLM_API_KEY), never on its command line,
    where any user of the machine could read it in `ps`."""
    return {"VLLM_API_KEY": settings.llm_api_key} if settings.llm_api_key != NO_KEY else {}


def client_settings_hint(settings: Settings) -> str:
    return (
        f"TUTOR_LLM_BACKEND=openai TUTOR_LLM_BASE_URL=http://127.0.0.1:{settings.vllm_port}/v1 "
        f"TUTOR_LLM_MODEL={settings.vllm_model} TUTOR_LLM_CONCURRENCY=8 tutor serve"
    )
