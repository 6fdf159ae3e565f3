"""What the UI talks to: the tutor in-process, or a running tutor API (TUTOR_API_URL).

Both yield the same plain events ({"type": "token" | "done", ...}) and raise TutorError
with a message that says what to do, so the page has one code path.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol
from urllib.parse import quote

from tutor.config import Settings
from tutor.errors import LLMUnavailableError, TutorError


class TutorClient(Protocol):
    def stream(self, question: str, history: list[dict], **options) -> Iterator[dict]: ...
    def source(self, item_id: str) -> dict: ...
    def roadmap(self) -> list[dict]: ...
    def learning_path(self) -> dict: ...
    def describe(self) -> dict: ...


class LocalClient:
    """The core, in this process. The index and model load on first use."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._tutor = None

    @property
    def tutor(self):
        if self._tutor is None:
            from tutor.answer import open_tutor

            self._tutor = open_tutor(self.settings)
        return self._tutor

    def stream(self, question: str, history: list[dict], **options) -> Iterator[dict]:
        from tutor.answer import Done, Token, Turn

        turns = [Turn(t["role"], t["content"]) for t in history]
        for event in self.tutor.stream(
            question,
            turns,
            options.get("top_k"),
            options.get("phase"),
            options.get("mode", "explain"),
            options.get("level", "intermediate"),
            studied=options.get("studied"),
        ):
            if isinstance(event, Token):
                yield {"type": "token", "text": event.text}
            elif isinstance(event, Done):
                yield {"type": "done", "answer": event.answer.to_dict()}

    def source(self, item_id: str) -> dict:
        """A chunk (by chunk id) or a whole source with its chunks, as GET /v1/sources does."""
        from tutor.index import source_view

        view = source_view(self.tutor.retriever.index, item_id)
        if view is None:
            raise TutorError(f"No source or passage '{item_id}' in the index.")
        return view

    def roadmap(self) -> list[dict]:
        from tutor.roadmap import roadmap_tree, study_notes

        path = self.settings.corpus_dir / "roadmap.md"
        return roadmap_tree(path.read_text(encoding="utf-8"), study_notes(self.settings.corpus_dir))

    def learning_path(self) -> dict:
        from tutor.path import load_path

        path = load_path(self.settings.corpus_dir)
        if path is None:
            raise TutorError(f"No roadmap in {self.settings.corpus_dir}; set TUTOR_CORPUS_DIR.")
        return path.to_dict()

    def describe(self) -> dict:
        return {
            "where": "in-process",
            "backend": self.settings.llm_backend,
            "model": self.settings.llm_model.rsplit("/", 1)[-1],
        }


class HttpClient:
    """A running tutor API."""

    def __init__(self, base_url: str, api_key: str | None = None, timeout_s: float = 300.0):
        import httpx

        self.base_url = base_url.rstrip("/")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.http = httpx.Client(base_url=self.base_url, headers=headers, timeout=timeout_s)

    def _fail(self, exc: Exception) -> TutorError:
        return LLMUnavailableError(
            f"The tutor API at {self.base_url} is not reachable ({exc.__class__.__name__}). "
            "Start it with `tutor serve` (or `make run`), or unset TUTOR_API_URL to run the "
            "tutor inside the UI."
        )

    def _check(self, response) -> None:
        if response.status_code < 400:
            return
        try:
            detail = response.json().get("detail", "")
        except ValueError:
            detail = response.text[:200]
        if response.status_code == 429:
            wait = response.headers.get("retry-after", "a few")
            raise TutorError(f"The tutor is busy answering others; try again in {wait} s.")
        raise TutorError(f"The tutor API said: {detail} (HTTP {response.status_code})")

    def stream(self, question: str, history: list[dict], **options) -> Iterator[dict]:
        import httpx

        from tutor.sse import iter_sse

        body = {
            "question": question,
            "history": history,
            "stream": True,
            **{k: v for k, v in options.items() if v is not None},
        }
        try:
            with self.http.stream("POST", "/v1/ask", json=body) as response:
                if response.status_code >= 400:
                    response.read()
                    self._check(response)
                for name, data in iter_sse(response.iter_lines()):
                    if name == "token":
                        yield {"type": "token", "text": data["text"]}
                    elif name == "done":
                        yield {"type": "done", "answer": data}
                    elif name == "error":
                        raise TutorError(data.get("detail", "The tutor API failed."))
        except httpx.TransportError as exc:
            raise self._fail(exc) from exc

    def _get(self, path: str):
        import httpx

        try:
            response = self.http.get(path)
        except httpx.TransportError as exc:
            raise self._fail(exc) from exc
        self._check(response)
        return response.json()

    def source(self, item_id: str) -> dict:
        # Every character encoded, "/" too: ids may hold "?", "#" or "..", which would
        # otherwise end the path or be resolved away before the server sees them.
        return self._get(f"/v1/sources/{quote(item_id, safe='')}")

    def roadmap(self) -> list[dict]:
        return self._get("/v1/roadmap")

    def learning_path(self) -> dict:
        return self._get("/v1/path")

    def describe(self) -> dict:
        import httpx

        # /readyz may answer 503 (model loading, LLM down) and still describe the setup.
        try:
            info = self.http.get("/readyz").json()
        except (httpx.TransportError, ValueError) as exc:
            raise self._fail(exc) from exc
        return {
            "where": self.base_url,
            "backend": info["llm"]["backend"],
            "model": info["llm"]["model"],
        }


def make_client(settings: Settings) -> TutorClient:
    if settings.api_url:
        return HttpClient(settings.api_url, (settings.api_key_list or [None])[0])
    return LocalClient(settings)
