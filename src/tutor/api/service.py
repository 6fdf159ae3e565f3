"""What the routes share: the tutor (once loaded), the model's state, the gate and the
limiter. Loading happens once, in the background, so the API answers 503 "loading"
instead of blocking (or loading a second copy) while the model starts."""

from __future__ import annotations

import logging
import threading
import time

from tutor.api.errors import public_message
from tutor.api.gate import LLMGate
from tutor.api.security import RateLimiter
from tutor.config import Settings
from tutor.errors import IndexMissingError, TutorError

log = logging.getLogger("tutor.api")
PROBE_TTL_S = 5.0  # /readyz asks a remote LLM server at most this often


class Service:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.tutor = None
        self.load_error: TutorError | None = None
        # "loading" from the start, so no request can slip in before the loader runs.
        self.llm_state = "loading" if settings.llm_backend == "llamacpp" else "remote"
        self.gate = LLMGate(settings.llm_concurrency, settings.api_queue_size)
        self.limiter = RateLimiter(settings.api_rate_limit_per_minute)
        self.keys = settings.api_key_list
        self._probe: tuple[float, str | None] = (0.0, None)
        self._probe_lock = threading.Lock()

    def load(self) -> None:
        from tutor.answer import open_tutor

        try:
            self.tutor = open_tutor(self.settings)
        except TutorError as exc:
            self.load_error = exc
            self.llm_state = "not loaded"
            log.warning("The tutor cannot answer yet: %s", exc)
            return
        if self.settings.llm_backend == "llamacpp":
            # Load and warm the model now, in the background, so the first learner does
            # not wait for it; until then answers get 503 with Retry-After.
            threading.Thread(target=self._load_llm, name="load-llm", daemon=True).start()

    def _load_llm(self) -> None:
        try:
            self.tutor.warm_up()
            self.llm_state = "loaded"
        except TutorError as exc:
            self.llm_state = f"failed: {public_message(exc)}"

    def require_tutor(self):
        if self.tutor is None:
            raise self.load_error or IndexMissingError("The tutor is still starting.")
        return self.tutor

    def index_note(self) -> str | None:
        """Set when `tutor index` replaced the index this process serves: answers keep
        coming from the loaded one until a restart picks up the new one."""
        if self.tutor is None:
            return None
        loaded = self.tutor.retriever.index.path
        try:
            current = self.settings.index_dir.resolve(strict=True)
        except OSError:
            return None
        if current != loaded:
            return (
                "The index was rebuilt since this server started; restart it to serve the new one."
            )
        return None

    def llm_problem(self) -> str | None:
        """Why the model cannot answer now, or None. A remote server is probed at most once
        every PROBE_TTL_S, however often /readyz is hit."""
        if self.settings.llm_backend == "openai":
            with self._probe_lock:
                checked, problem = self._probe
                if time.monotonic() - checked > PROBE_TTL_S:
                    problem = self._probe_remote()
                    self._probe = (time.monotonic(), problem)
                return problem
        if self.llm_state.startswith("failed"):
            return f"The model could not be loaded: {self.llm_state[8:]}"
        if self.llm_state != "loaded":
            return f"The model is {self.llm_state}."
        return None

    def _probe_remote(self) -> str | None:
        import httpx

        try:
            response = httpx.get(
                self.settings.llm_base_url.rstrip("/") + "/models",
                headers={"Authorization": f"Bearer {self.settings.llm_api_key}"},
                timeout=3.0,
            )
            response.raise_for_status()
        except httpx.HTTPError as exc:
            return (
                f"The LLM server at {self.settings.llm_base_url} is not reachable "
                f"({exc.__class__.__name__}). Start it (`tutor serve-llm` on a GPU) or fix "
                "TUTOR_LLM_BASE_URL."
            )
        return None
