"""Embedded llama.cpp backend (llama-cpp-python), the default on laptops and CPU servers."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from pathlib import Path

from tutor.errors import LLMUnavailableError, ModelMissingError
from tutor.llm.base import LLMBackend, Message
from tutor.models import HubModel


class LlamaCppBackend(LLMBackend):
    def __init__(self, model: Path | HubModel, context_tokens: int, threads: int, models_dir: Path):
        super().__init__()
        try:
            from llama_cpp import Llama
        except ImportError as exc:  # pragma: no cover - part of the default install
            raise ModelMissingError(
                "llama-cpp-python is not installed: pip install llama-cpp-python==0.3.36"
            ) from exc
        options = dict(n_ctx=context_tokens, n_threads=threads, verbose=False)
        try:
            with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull):
                if isinstance(model, HubModel):
                    self.llm = Llama.from_pretrained(
                        repo_id=model.repo_id,
                        filename=model.filename_glob,
                        cache_dir=str(models_dir / "hub"),
                        **options,
                    )
                    self.model_id = f"{model.repo_id}:{model.filename_glob}"
                else:
                    self.llm = Llama(model_path=str(model), **options)
                    self.model_id = model.name
        except Exception as exc:  # hub, network and llama.cpp loader errors have no common base
            if isinstance(model, HubModel):
                raise ModelMissingError(
                    f"Could not get {model.filename_glob} from the Hugging Face repo "
                    f"{model.repo_id}: {exc.__class__.__name__}: {exc} Check the repo id and that "
                    "the Hub is reachable, or use a packaged model (TUTOR_LLM_MODEL="
                    "qwen2.5-coder-1.5b) or a local .gguf path."
                ) from exc
            raise ModelMissingError(
                f"llama.cpp could not load the model {model}: {exc}. Check that the file is a "
                "complete GGUF model."
            ) from exc
        # One Llama object must never run two generations at once.
        self._lock = threading.Lock()

    def count_tokens(self, text: str) -> int:
        return len(self.llm.tokenize(text.encode(), add_bos=False, special=True))

    def stream_chat(
        self, messages: list[Message], max_tokens: int, temperature: float
    ) -> Iterator[str]:
        with self._lock:
            try:
                stream = self.llm.create_chat_completion(
                    messages=messages,
                    max_tokens=max_tokens,
                    temperature=temperature,
                    stream=True,
                )
                completion_tokens = 0
                for event in stream:
                    piece = event["choices"][0]["delta"].get("content")
                    if piece:
                        completion_tokens += 1
                        yield piece
            except ValueError as exc:  # llama.cpp reports context overflow as ValueError
                raise LLMUnavailableError(
                    f"The prompt does not fit the model's context: {exc}. Ask a shorter question "
                    "or lower TUTOR_TOP_K."
                ) from exc
            self.last_stats.completion_tokens = completion_tokens
