"""The tutor's own endpoints: search, ask (JSON or Server-Sent Events), sources, roadmap."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool

from tutor.answer import Turn
from tutor.api.deps import AnsweringTutor, ServiceDep, TutorDep, guard
from tutor.api.errors import ApiError
from tutor.api.schemas import AnswerOut, AskRequest, SearchOut, SearchRequest
from tutor.api.streaming import collect, event_stream, tutor_sse

router = APIRouter(prefix="/v1", tags=["tutor"], dependencies=[Depends(guard)])


@router.post("/search", response_model=SearchOut)
async def search(body: SearchRequest, tutor: TutorDep) -> dict:
    """Retrieval only: the best passages for a query, with scores and locations."""
    hits = await run_in_threadpool(
        tutor.retriever.search, body.query.strip(), body.top_k, body.phase, body.mode
    )
    return {"query": body.query, "hits": [h.to_dict() for h in hits]}


@router.post(
    "/ask",
    response_model=AnswerOut,
    responses={200: {"content": {"text/event-stream": {}}}},
)
async def ask(body: AskRequest, request: Request, service: ServiceDep, tutor: AnsweringTutor):
    """A cited answer. With `"stream": true` (or `Accept: text/event-stream`): Server-Sent
    Events `retrieved`, `token`..., then `done` with the whole answer (or `error`)."""
    limit = service.settings.api_max_history_turns
    if len(body.history) > limit:
        raise ApiError(422, f"history: at most {limit} turns are accepted; drop older turns.")
    history = [Turn(t.role, t.content) for t in body.history]

    def events():
        return tutor.stream(
            body.question,
            history,
            body.top_k,
            body.phase,
            body.mode,
            body.level,
            studied=body.studied,
        )

    metrics = request.app.state.metrics
    if body.stream or "text/event-stream" in request.headers.get("accept", ""):
        return event_stream(tutor_sse(service, metrics, events))
    return (await collect(service, metrics, events)).to_dict()


@router.get("/sources/{item_id:path}")
async def source(item_id: str, tutor: TutorDep) -> dict:
    """A source's metadata and its passages, or one passage (chunk id) in full. Clients
    percent-encode the id (it may hold `/`, `?`, `#`)."""
    from tutor.index import source_view

    view = source_view(tutor.retriever.index, item_id)
    if view is None:
        raise ApiError(404, f"No source or passage '{item_id}' in the index.")
    return view


@router.get("/roadmap")
async def roadmap(service: ServiceDep) -> list[dict]:
    """The roadmap as a tree: phases, sections, topics, resources and study notes."""
    from tutor.roadmap import roadmap_tree, study_notes

    path = service.settings.corpus_dir / "roadmap.md"
    if not path.is_file():
        raise ApiError(503, "The roadmap file is missing; set TUTOR_CORPUS_DIR.")
    return roadmap_tree(path.read_text(encoding="utf-8"), study_notes(service.settings.corpus_dir))


@router.get("/path")
async def learning_path(service: ServiceDep) -> dict:
    """The suggested learning order as a prerequisite graph: its steps (with the phases
    and sections each covers), every topic in path order with its direct prerequisites,
    and the edges between topics (implied ones left out). Learners' progress stays on
    their machine: mark it up client-side."""
    from tutor.path import load_path

    # The tutor built the path when it started; before that, read it from the corpus.
    path = service.tutor.path if service.tutor else load_path(service.settings.corpus_dir)
    if path is None:
        raise ApiError(503, "The roadmap file is missing; set TUTOR_CORPUS_DIR.")
    return path.to_dict()
