"""Place an answer on the roadmap: which topic it is about, where that topic sits in the
phases and the suggested order, and what it builds on.

An answer's topic is decided by what it cites: a study note is its own topic, a fetched
passage carries the topic it was tagged with (tutor.tagging), and the first citation counts
most. Passages the model read but did not cite decide only when no citation has a topic.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence

from tutor.chunking import Chunk
from tutor.path import LearningPath


def topic_of_chunk(chunk: Chunk, path: LearningPath) -> str | None:
    if chunk.source_id.startswith("notes/"):
        topic = path.by_source(chunk.source_id)
        return topic.id if topic else None
    return next((t for t in chunk.topics if t in path.topics), None)


def answer_topic(cited: Sequence[Chunk], read: Sequence[Chunk], path: LearningPath) -> str | None:
    """The topic most of the answer's evidence is about, earlier citations weighing more."""
    for chunks in (cited, read):
        votes: dict[str, float] = defaultdict(float)
        for rank, chunk in enumerate(chunks, 1):
            if topic := topic_of_chunk(chunk, path):
                votes[topic] += 1 / rank
        if votes:
            return max(votes, key=votes.get)
    return None


def placement(topic_id: str, path: LearningPath) -> dict:
    """The structured `placement` of an answer (the API's field)."""
    topic = path.topics[topic_id]
    return {
        "topic_id": topic.id,
        "title": topic.title,
        "source_id": topic.source_id,
        "phase": topic.phase,
        "section": topic.section,
        "step": topic.step,
        "where": path.where(topic),
        "prerequisites": [
            {"topic_id": p, "title": path.topics[p].title, "source_id": path.topics[p].source_id}
            for p in topic.prerequisites
        ],
        "missing_prerequisites": [],
    }


def with_missing(place: dict | None, studied: Collection[str] | None) -> dict | None:
    """`place` with the prerequisites the learner has not studied (by topic or note id);
    unchanged when the caller did not say what the learner has studied."""
    if place is None or studied is None:
        return place
    seen = set(studied)
    missing = [p for p in place["prerequisites"] if not {p["topic_id"], p["source_id"]} & seen]
    return place | {"missing_prerequisites": missing}


def describe(place: dict | None, note_ids: bool = True) -> str:
    """One line for a person: where the answer sits, and what to study first (with each
    note's id, for a terminal, unless `note_ids` is false)."""
    if not place:
        return ""
    line = f"On the roadmap: {place['title']}, {place['where']}."
    missing = place.get("missing_prerequisites") or []
    if missing:
        names = ", ".join(
            f"{p['title']} ({p['source_id']})" if note_ids else p["title"] for p in missing
        )
        line += f" It builds on what you have not studied yet: {names}."
    return line
