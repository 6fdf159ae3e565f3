"""Hybrid retrieval: dense (FAISS) and BM25 hits fused by reciprocal rank, near-duplicates
dropped, optional phase filter. Returns ranked Hits; no prompting here."""

from __future__ import annotations

import functools
import re
import threading
from dataclasses import dataclass

import numpy as np

from tutor.chunking import Chunk
from tutor.config import Settings
from tutor.index import LoadedIndex
from tutor.terms import TermFrequencies


@dataclass
class Hit:
    chunk: Chunk
    score: float  # fused RRF score: only the order means anything
    dense_score: float  # cosine similarity of query and passage, used for the abstention gate
    bm25_score: float | None
    dense_rank: int | None
    bm25_rank: int | None

    def to_dict(self) -> dict:
        return {
            "chunk_id": self.chunk.id,
            "source_id": self.chunk.source_id,
            "title": self.chunk.title,
            "heading_path": self.chunk.heading_path,
            "url": self.chunk.url,
            "phase": self.chunk.phase,
            "section": self.chunk.section,
            "topic": self.chunk.topic,
            "topics": self.chunk.topics,
            "start_char": self.chunk.start_char,
            "end_char": self.chunk.end_char,
            "score": round(self.score, 5),
            "dense_score": round(self.dense_score, 4),
            "bm25_score": None if self.bm25_score is None else round(self.bm25_score, 4),
            "text": self.chunk.text,
        }


def rrf_fuse(rankings: list[list[str]], k: int = 60) -> dict[str, float]:
    """Reciprocal rank fusion (Cormack, Clarke and Buettcher, SIGIR 2009): sum of 1 / (k + rank).

    >>> sorted(rrf_fuse([["a", "b"], ["b", "c"]], k=1).items())
    [('a', 0.5), ('b', 0.8333333333333333), ('c', 0.3333333333333333)]
    """
    fused: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            fused[item] = fused.get(item, 0.0) + 1.0 / (k + rank)
    return fused


_WORD = re.compile(r"\w+")


def _shingles(text: str, n: int = 3) -> set[tuple[str, ...]]:
    words = _WORD.findall(text.lower())
    return {tuple(words[i : i + n]) for i in range(max(1, len(words) - n + 1))}


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def drop_near_duplicates(hits: list[Hit], threshold: float) -> list[Hit]:
    """Keep the best-ranked of passages whose word 3-gram sets overlap more than `threshold`."""
    kept: list[tuple[Hit, set]] = []
    for hit in hits:
        shingles = _shingles(hit.chunk.text)
        if all(jaccard(shingles, other) <= threshold for _, other in kept):
            kept.append((hit, shingles))
    return [hit for hit, _ in kept]


class Retriever:
    """Holds the loaded index and the embedder; answers `search(query)`."""

    def __init__(self, index: LoadedIndex, embedder, settings: Settings):
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self._row_of = {c.id: i for i, c in enumerate(index.chunks)}
        # llama-index's BM25 retriever takes its depth from an attribute, so setting it and
        # searching is one step: searches in parallel threads must not see each other's.
        self._bm25_lock = threading.Lock()

    @functools.cached_property
    def term_frequencies(self) -> TermFrequencies:
        """Word document frequencies over this index (counted once, about 0.4 s for 15,675
        passages), for the answerability gate."""
        return TermFrequencies.of(c.text for c in self.index.chunks)

    def search(
        self,
        query: str,
        top_k: int | None = None,
        phase: int | str | None = None,
        mode: str = "hybrid",
    ) -> list[Hit]:
        """Best passages for `query`. mode: 'hybrid' (default), 'dense' or 'bm25'."""
        from llama_index.core.vector_stores import VectorStoreQuery

        top_k = top_k or self.settings.top_k
        total = len(self.index.chunks)
        # A phase filter is applied after retrieval, so look deeper to still fill top_k.
        depth = min(total, self.settings.candidates_per_retriever * (8 if phase is not None else 1))
        query_vector = self.embedder.embed_query(query)

        dense_ids: list[str] = []
        if mode in ("hybrid", "dense"):
            result = self.index.vector_store.query(
                VectorStoreQuery(query_embedding=query_vector.tolist(), similarity_top_k=depth)
            )
            dense_ids = [self.index.chunks[int(i)].id for i in result.ids]
        bm25_ids: list[str] = []
        bm25_scores: dict[str, float] = {}
        if mode in ("hybrid", "bm25"):
            with self._bm25_lock:
                self.index.bm25.similarity_top_k = depth
                nodes = self.index.bm25.retrieve(query)
            for node in nodes:
                if node.score and node.score > 0:
                    bm25_ids.append(node.node.node_id)
                    bm25_scores[node.node.node_id] = float(node.score)

        if phase is not None:
            wanted = str(phase)
            dense_ids = [
                i
                for i in dense_ids
                if self._chunk(i).phase is not None and str(self._chunk(i).phase) == wanted
            ]
            bm25_ids = [
                i
                for i in bm25_ids
                if self._chunk(i).phase is not None and str(self._chunk(i).phase) == wanted
            ]

        fused = rrf_fuse([r for r in (dense_ids, bm25_ids) if r], self.settings.rrf_k)
        dense_rank = {cid: r for r, cid in enumerate(dense_ids, 1)}
        bm25_rank = {cid: r for r, cid in enumerate(bm25_ids, 1)}
        ordered = sorted(fused, key=lambda cid: -fused[cid])
        rows = np.array([self._row_of[cid] for cid in ordered], dtype=np.int64)
        cosines = self.index.embeddings[rows] @ query_vector if len(rows) else np.zeros(0)
        hits = [
            Hit(
                chunk=self._chunk(cid),
                score=fused[cid],
                dense_score=float(cos),
                bm25_score=bm25_scores.get(cid),
                dense_rank=dense_rank.get(cid),
                bm25_rank=bm25_rank.get(cid),
            )
            for cid, cos in zip(ordered, cosines, strict=True)
        ]
        return drop_near_duplicates(hits, self.settings.near_duplicate_jaccard)[:top_k]

    def _chunk(self, chunk_id: str) -> Chunk:
        return self.index.chunks[self._row_of[chunk_id]]
