"""How well fetched passages are tagged with roadmap topics, on a hand-labelled sample.

evals/datasets/topic_tags.jsonl holds passages of the fetched resources (by chunk id, no
text) with the topics a reader judged them to serve ([] when none). The sample is split
once by chunk id into a tuning half, where the tagger's rules are chosen, and a test half,
where they are reported. Precision is the share of given tags that the label holds;
coverage the share of labelled passages with a topic that get at least one right tag;
false tags the share of topic-less passages that get any.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tutor.chunking import Chunk
from tutor.config import Settings
from tutor.embed import Embedder, token_counter
from tutor.fetch import load_catalog, resources_dir
from tutor.index import read_and_chunk
from tutor.ingest import SourceFile, discover
from tutor.tagging import TagRules, TopicCentroids, choose_topics, resource_of

DATASET = Path(__file__).resolve().parents[3] / "evals" / "datasets" / "topic_tags.jsonl"


def split_of(chunk_id: str) -> str:
    """A fixed half for every passage: tune or test."""
    return "tune" if hashlib.sha256(chunk_id.encode()).digest()[0] % 2 == 0 else "test"


@dataclass
class LabelledPassage:
    chunk: Chunk
    gold: set[str]
    split: str
    similarities: np.ndarray  # cosine to each topic centroid


def _chunks(settings: Settings, source: SourceFile, count) -> list[Chunk]:
    return read_and_chunk(settings, source, count)[1]


def load_sample(settings: Settings, embedder: Embedder) -> tuple[list[LabelledPassage], list]:
    """The labelled passages, re-chunked from the fetched resources under the data dir
    and embedded the way the index embeds them. Raises FileNotFoundError when a labelled
    file is not fetched (run `tutor fetch` first)."""
    rows = [json.loads(line) for line in DATASET.read_text().splitlines() if line.strip()]
    count = token_counter(settings.embed_model)
    root = resources_dir(settings.data_dir)
    wanted = {r["chunk_id"]: r for r in rows}
    found: dict[str, Chunk] = {}
    for source_id in sorted({r["source_id"] for r in rows}):
        path = root / source_id.removeprefix("resources/")
        if not path.is_file():
            raise FileNotFoundError(f"{source_id} is not fetched into {root}: run `tutor fetch`.")
        for chunk in _chunks(settings, SourceFile(path, source_id), count):
            if chunk.id in wanted:
                found[chunk.id] = chunk
    missing = sorted(set(wanted) - set(found))
    if missing:
        raise FileNotFoundError(f"{len(missing)} labelled passages changed since labelling.")

    notes = [
        c
        for source in discover(settings.corpus_dir)
        if source.source_id.startswith("notes/")
        for c in _chunks(settings, source, count)
    ]
    note_vectors = embedder.embed([c.indexed_text() for c in notes], settings.embed_batch_size)
    centroids = TopicCentroids.from_notes(notes, note_vectors)
    chunks = [found[r["chunk_id"]] for r in rows]
    vectors = embedder.embed([c.indexed_text() for c in chunks], settings.embed_batch_size)
    sims = vectors @ centroids.vectors.T
    sample = [
        LabelledPassage(c, set(r["topics"]), split_of(c.id), s)
        for c, r, s in zip(chunks, rows, sims, strict=True)
    ]
    return sample, centroids.topic_ids


def score(sample: list[LabelledPassage], topic_ids, catalog: dict, rules: TagRules) -> dict:
    given = right = covered = with_topic = false_tagged = empty = 0
    for p in sample:
        resource = catalog.get(resource_of(p.chunk.source_id))
        tags = choose_topics(p.similarities, topic_ids, resource, rules)
        given += len(tags)
        right += len(set(tags) & p.gold)
        if p.gold:
            with_topic += 1
            covered += bool(set(tags) & p.gold)
        else:
            empty += 1
            false_tagged += bool(tags)
    return {
        "passages": len(sample),
        "tags_given": given,
        "precision": right / given if given else None,
        "coverage": covered / with_topic if with_topic else None,
        "false_tag_rate": false_tagged / empty if empty else None,
    }


def calibrate(settings: Settings, embedder: Embedder, min_precision: float = 0.75) -> dict:
    """Choose the rules with the best coverage at `min_precision` or more on the tuning
    half; report both halves and the rules in use now."""
    sample, topic_ids = load_sample(settings, embedder)
    catalog = {r.id: r for r in load_catalog(settings.corpus_dir)}
    tune = [p for p in sample if p.split == "tune"]
    test = [p for p in sample if p.split == "test"]
    best = None
    for restrict in (True, False):
        for gap in np.arange(0.0, 0.301, 0.01):
            for threshold in np.arange(0.2, 0.61, 0.02):
                rules = TagRules(round(float(threshold), 2), round(float(gap), 2), restrict)
                result = score(tune, topic_ids, catalog, rules)
                if (result["precision"] or 0) < min_precision:
                    continue
                key = (result["coverage"] or 0, result["precision"])
                if best is None or key > best[0]:
                    best = (key, rules)
    chosen = best[1] if best else None
    current = settings.tag_rules()
    return {
        "dataset": str(DATASET.name),
        "labelled": len(sample),
        "tune_passages": len(tune),
        "test_passages": len(test),
        "min_precision_on_tune": min_precision,
        "chosen": chosen.describe() if chosen else None,
        "chosen_on_tune": score(tune, topic_ids, catalog, chosen) if chosen else None,
        "chosen_on_test": score(test, topic_ids, catalog, chosen) if chosen else None,
        "in_use": current.describe(),
        "in_use_on_test": score(test, topic_ids, catalog, current),
        "in_use_on_all": score(sample, topic_ids, catalog, current),
    }
