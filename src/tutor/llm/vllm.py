"""The GPU path: vLLM's OpenAI-compatible server, started with our settings.

`vllm_command` is the one place the command line is built (and unit-tested); `tutor
serve-llm` runs it, and the tutor reaches it with TUTOR_LLM_BACKEND=openai.
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
        "--api-key",
        settings.llm_api_key,
        "--generation-config",
        "vllm",  # our temperature and max_tokens, not the model repo's defaults
        *extra,
    ]


def client_settings_hint(settings: Settings) -> str:
    return (
        f"TUTOR_LLM_BACKEND=openai TUTOR_LLM_BASE_URL=http://127.0.0.1:{settings.vllm_port}/v1 "
        f"TUTOR_LLM_MODEL={settings.vllm_model} TUTOR_LLM_CONCURRENCY=8 tutor serve"
    )
