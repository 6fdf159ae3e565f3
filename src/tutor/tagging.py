"""Tag fetched resource passages with the roadmap topics they serve.

A resource page rarely says which roadmap topic it belongs to, and the catalog maps whole
resources (Dive into Deep Learning serves 31 topics). So each passage is compared with
every topic's study note (the mean of the note's passage embeddings): the closest topic is
its tag when the similarity clears a threshold and the passage is clearly closer to it
than to the runner-up (a passage about as close to many topics is generic: navigation,
set-up, a summary). Where the catalog says every page of a resource serves one topic
(`every_page`, the tool docs), that topic is used as it is. The rules (tutor.config's
tag_* settings) were chosen on a hand-labelled sample of passages
(evals/datasets/topic_tags.jsonl; `python evals/tools/calibrate_topic_tags.py` re-measures).

Tagged passages take their topic's phase and section, so phase filters and the UI's topic
scope include resources; an untagged passage keeps its resource's phase only when the
catalog names just one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tutor.chunking import Chunk
from tutor.fetch import Resource, load_catalog
from tutor.roadmap import NoteRef

TAGGER_VERSION = 1


@dataclass(frozen=True)
class TagRules:
    min_similarity: float  # the closest topic's cosine, for a tag at all
    min_gap: float  # how much closer than the runner-up (a passage close to many is generic)
    restrict_to_catalog: bool  # only the topics the catalog lists for the resource

    def describe(self) -> dict:
        return {"version": TAGGER_VERSION} | self.__dict__


@dataclass
class TopicCentroids:
    topic_ids: list[str]
    vectors: np.ndarray  # one unit row per topic

    @classmethod
    def from_notes(cls, chunks: list[Chunk], vectors: np.ndarray) -> TopicCentroids:
        """Each study note's passages, averaged (topic id = the note's file stem)."""
        rows: dict[str, list[int]] = {}
        for i, chunk in enumerate(chunks):
            if chunk.source_id.startswith("notes/"):
                stem = chunk.source_id.rsplit("/", 1)[-1].removesuffix(".md")
                rows.setdefault(stem, []).append(i)
        ids = sorted(rows)
        means = np.stack([vectors[rows[t]].mean(axis=0) for t in ids]) if ids else np.zeros((0, 1))
        means /= np.linalg.norm(means, axis=1, keepdims=True) + 1e-12
        return cls(ids, means.astype(np.float32))


def catalog_by_id(corpus_dir: Path) -> dict[str, Resource]:
    """The resource catalog by id; empty for a corpus without one (a test corpus)."""
    if not (Path(corpus_dir) / "resources.yaml").is_file():
        return {}
    return {r.id: r for r in load_catalog(corpus_dir)}


def resource_of(source_id: str) -> str | None:
    """`resources/<id>/<path>` -> `<id>`."""
    parts = source_id.split("/", 2)
    return parts[1] if len(parts) == 3 and parts[0] == "resources" else None


def choose_topics(
    similarities: np.ndarray, topic_ids: list[str], resource: Resource | None, rules: TagRules
) -> list[str]:
    """The tags for one passage from its cosine to each topic."""
    if resource and resource.every_page:
        return [resource.every_page]  # the catalog is specific: one resource, one topic
    allowed = set(resource.topics) if resource and rules.restrict_to_catalog else set()
    candidates = sorted(
        (
            (float(s), t)
            for s, t in zip(similarities, topic_ids, strict=True)
            if not allowed or t in allowed
        ),
        reverse=True,
    )
    if not candidates or candidates[0][0] < rules.min_similarity:
        return []
    runner_up = candidates[1][0] if len(candidates) > 1 else -1.0
    return [candidates[0][1]] if candidates[0][0] - runner_up >= rules.min_gap else []


def tag_resource_chunks(
    chunks: list[Chunk],
    vectors: np.ndarray,
    catalog: dict[str, Resource],
    notes: list[NoteRef],
    rules: TagRules,
) -> int:
    """Set `topics`, `phase` and `section` of every fetched passage in place. Returns how
    many passages got a tag."""
    centroids = TopicCentroids.from_notes(chunks, vectors)
    by_topic = {n.topic_id: n for n in notes}
    rows = [i for i, c in enumerate(chunks) if resource_of(c.source_id)]
    if not rows or not centroids.topic_ids:
        return 0
    similarities = vectors[rows] @ centroids.vectors.T
    tagged = 0
    for row, sims in zip(rows, similarities, strict=True):
        chunk = chunks[row]
        resource = resource_of(chunk.source_id)
        chunk.topics = choose_topics(sims, centroids.topic_ids, catalog.get(resource), rules)
        note = by_topic.get(chunk.topics[0]) if chunk.topics else None
        if note:
            chunk.phase, chunk.section, tagged = note.phase, note.section, tagged + 1
        else:
            phases = catalog[resource].phases if resource in catalog else ()
            chunk.phase, chunk.section = (phases[0] if len(phases) == 1 else None), None
    return tagged
