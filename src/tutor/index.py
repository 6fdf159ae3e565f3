"""Build, save and load the hybrid index: FAISS (dense) and BM25 (keywords) over chunks.

Layout of `<data_dir>/`:
    index -> builds/<build id>     a symlink, swapped atomically when a build completes
    builds/<build id>/manifest.json   embedding model, chunker settings, source hashes
    builds/<build id>/chunks.jsonl    one chunk per line, in FAISS row order
    builds/<build id>/embeddings.npy  the vectors, reused by the next incremental build
    builds/<build id>/faiss/          llama-index FaissVectorStore
    builds/<build id>/bm25/           llama-index BM25Retriever

A build writes a new folder beside the old one and swaps the symlink only
when everything is on disk, so a build killed midway leaves the previous
index answering. Knows nothing of questions or LLMs.
"""

from __future__ import annotations

import contextlib
import errno
import io
import json
import os
import shutil
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from llama_index.core import Document

from tutor.chunking import CHUNKER_VERSION, Chunk, chunk_document
from tutor.config import Settings
from tutor.errors import IndexMismatchError, IndexMissingError, TutorError
from tutor.fetch import resource_metadata, resources_dir
from tutor.ingest import SkippedFile, SourceFile, UnreadableFile, discover, load_document
from tutor.roadmap import study_notes
from tutor.tagging import catalog_by_id, tag_resource_chunks

FORMAT_VERSION = 1
# (stage, done, total): stages are "scan", "chunk", "embed", "write"
ProgressFn = Callable[[str, int, int], None]


@dataclass
class BuildReport:
    sources: int = 0
    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: int = 0
    chunks: int = 0
    chunks_embedded: int = 0
    skipped: list[SkippedFile] = field(default_factory=list)
    rebuilt_from_scratch_because: str | None = None
    cleaned_unfinished_builds: int = 0
    seconds: float = 0.0
    tagged: int = 0  # fetched passages tagged with a roadmap topic


@dataclass
class LoadedIndex:
    """An index opened for search."""

    path: Path
    manifest: dict
    chunks: list[Chunk]
    embeddings: np.ndarray
    vector_store: object  # llama_index FaissVectorStore
    bm25: object  # llama_index BM25Retriever

    @property
    def embed_model(self) -> str:
        return self.manifest["embed_model"]


def _chunker_settings(settings: Settings) -> dict:
    return {
        "version": CHUNKER_VERSION,
        "chunk_tokens": settings.chunk_tokens,
        "chunk_overlap_tokens": settings.chunk_overlap_tokens,
    }


def source_roots(settings: Settings, extra_paths: Iterable[Path]) -> list[tuple[Path, str]]:
    """The corpus folder (ids relative to it), fetched resources (`resources/<id>/...`) and
    extra folders (ids prefixed by folder name)."""
    roots = [(settings.corpus_dir, "")]
    fetched = resources_dir(settings.data_dir)
    if fetched.is_dir():  # what `tutor fetch` brought in
        roots.append((fetched, "resources/"))
    for path in extra_paths:
        path = Path(path).resolve()
        roots.append((path, f"{path.name}/"))
    return roots


def read_and_chunk(
    settings: Settings, source: SourceFile, count_tokens: Callable[[str], int]
) -> tuple[Document, list[Chunk]]:
    """A source read (with its catalog facts, for a fetched file) and chunked as the index
    chunks it: (document, chunks). Raises UnreadableFile."""
    document = load_document(source, resource_metadata(settings.data_dir, source.source_id))
    return document, chunk_document(
        document, count_tokens, settings.chunk_tokens, settings.chunk_overlap_tokens
    )


def read_manifest(index_dir: Path) -> dict | None:
    try:
        return json.loads((index_dir / "manifest.json").read_text())
    except (OSError, ValueError):
        return None


def _reusable_previous(settings: Settings, embed_model: str) -> tuple[dict | None, str | None]:
    """The previous build if its vectors can be reused, else why not."""
    manifest = read_manifest(settings.index_dir)
    if manifest is None:
        return None, None
    if manifest.get("format_version") != FORMAT_VERSION:
        return None, "the index format changed"
    if manifest.get("embed_model") != embed_model:
        return None, (
            f"the embedding model changed ({manifest.get('embed_model')} -> {embed_model}); "
            "vectors from two models are never mixed"
        )
    if manifest.get("chunker") != _chunker_settings(settings):
        return None, "the chunker settings changed"
    return manifest, None


def _clean_unfinished(builds_dir: Path, keep: Path | None) -> int:
    count = 0
    if not builds_dir.is_dir():
        return 0
    for path in builds_dir.iterdir():
        if keep is not None and path.resolve() == keep.resolve():
            continue
        shutil.rmtree(path, ignore_errors=True)
        count += 1
    return count


@contextlib.contextmanager
def _build_lock(data_dir: Path):
    """One build at a time per data directory; the OS drops the lock if the process dies."""
    import fcntl

    with (data_dir / ".build.lock").open("w") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise TutorError(
                f"Another `tutor index` is building in {data_dir}. Wait for it to finish."
            ) from exc
        yield


def build_index(
    settings: Settings,
    extra_paths: Iterable[Path] = (),
    embedder=None,
    progress: ProgressFn | None = None,
    rebuild: bool = False,
) -> BuildReport:
    """Index the corpus plus `extra_paths`, re-embedding only new or changed sources."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with _build_lock(settings.data_dir):
        return _build(settings, extra_paths, embedder, progress, rebuild)


def _build(settings, extra_paths, embedder, progress, rebuild) -> BuildReport:
    started = time.perf_counter()
    progress = progress or (lambda stage, done, total: None)
    report = BuildReport()
    builds_dir = settings.data_dir / "builds"
    current = settings.index_dir.resolve() if settings.index_dir.exists() else None
    report.cleaned_unfinished_builds = _clean_unfinished(builds_dir, current)
    # The new build lives beside the current one from the start; it becomes the index only
    # when complete, so a crash or kill at any point leaves the old index answering.
    build_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S") + f"-{uuid.uuid4().hex[:8]}"
    staging = builds_dir / build_id
    staging.mkdir(parents=True)
    try:
        report = _fill_build(settings, extra_paths, embedder, progress, rebuild, report, staging)
    except BaseException as exc:
        shutil.rmtree(staging, ignore_errors=True)
        if isinstance(exc, OSError) and exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise TutorError(
                f"The disk is full: the new index could not be written to {settings.data_dir} "
                f"({exc.strerror}). The previous index is untouched and still answers. Free "
                "some space (or set TUTOR_DATA_DIR to a larger disk) and run `tutor index` "
                "again."
            ) from exc
        raise
    if not any(staging.iterdir()):  # nothing changed: no new build was written
        staging.rmdir()
    report.seconds = time.perf_counter() - started
    return report


def _fill_build(settings, extra_paths, embedder, progress, rebuild, report, staging):
    from tutor.embed import Embedder, token_counter

    previous, why_not = (
        (None, "--rebuild was asked for")
        if rebuild
        else _reusable_previous(settings, settings.embed_model)
    )
    if previous is None and settings.index_dir.exists():
        report.rebuilt_from_scratch_because = why_not
    extra = [Path(p) for p in extra_paths]
    # Keep indexing the folders an earlier build was given, even when rebuilding from scratch.
    remembered = (read_manifest(settings.index_dir) or {}).get("extra_paths", [])
    extra = [Path(p) for p in remembered if Path(p).exists()] + extra
    extra = list(dict.fromkeys(p.resolve() for p in extra))
    for path in extra:
        if not path.exists():
            raise TutorError(f"Source path {path} does not exist.")

    sources: list[SourceFile] = []
    for root, prefix in source_roots(settings, extra):
        if not root.exists():
            raise TutorError(f"Corpus folder {root} is missing. Set TUTOR_CORPUS_DIR.")
        sources.extend(discover(root, prefix))
    report.sources = len(sources)

    old_sources: dict = previous["sources"] if previous else {}
    old_chunks: dict[str, list[int]] = {}
    old_rows: list[Chunk] = []
    old_vectors = None
    if previous:
        old_rows = [
            Chunk.from_dict(json.loads(line))
            for line in (settings.index_dir / "chunks.jsonl").read_text().splitlines()
        ]
        old_vectors = np.load(settings.index_dir / "embeddings.npy")
        for row, chunk in enumerate(old_rows):
            old_chunks.setdefault(chunk.source_id, []).append(row)

    count_tokens = token_counter(settings.embed_model)
    kept_rows: list[int] = []
    new_chunks: list[Chunk] = []
    source_hashes: dict[str, dict] = {}
    for i, source in enumerate(sources):
        progress("chunk", i, len(sources))
        try:
            raw_hash = _hash_file(source.path)
        except OSError as exc:
            report.skipped.append(SkippedFile(source.path, f"cannot read it ({exc.strerror})"))
            continue
        old = old_sources.get(source.source_id)
        if old and old["sha256"] == raw_hash and source.source_id in old_chunks:
            kept_rows.extend(old_chunks[source.source_id])
            source_hashes[source.source_id] = old
            report.unchanged += 1
            continue
        try:
            document, chunks = read_and_chunk(settings, source, count_tokens)
        except UnreadableFile as exc:
            report.skipped.append(SkippedFile(source.path, str(exc)))
            continue
        new_chunks.extend(chunks)
        source_hashes[source.source_id] = {
            "sha256": raw_hash,
            "path": str(source.path),
            "title": document.metadata["title"],
            "chunks": len(chunks),
        }
        (report.changed if old else report.added).append(source.source_id)
    progress("chunk", len(sources), len(sources))
    report.removed = sorted(set(old_sources) - set(source_hashes))
    if not source_hashes or (previous is None and not new_chunks):
        raise TutorError("No readable sources found: nothing to index.")

    unchanged_roots = previous is not None and previous.get("extra_paths") == [
        str(p) for p in extra
    ]
    tag_rules = settings.tag_rules()
    rules = tag_rules.describe()
    same_tags = previous is not None and previous.get("tagging", {}).get("rules") == rules
    if unchanged_roots and same_tags and not (report.added or report.changed or report.removed):
        report.chunks = len(kept_rows)
        return report  # nothing to do: the current index is up to date

    if new_chunks:
        embedder = embedder or Embedder(settings.embed_model, settings.embed_precision)
        if embedder.name != settings.embed_model:
            raise IndexMismatchError(
                f"Embedder {embedder.name} does not match TUTOR_EMBED_MODEL={settings.embed_model}."
            )
        dim = embedder.dim
        new_vectors = embedder.embed(
            [c.indexed_text() for c in new_chunks],
            settings.embed_batch_size,
            lambda d, t: progress("embed", d, t),
        )
    elif previous is not None:
        dim = int(previous["embed_dim"])
        new_vectors = np.zeros((0, dim), dtype=np.float32)
    report.chunks_embedded = len(new_chunks)

    chunks = [old_rows[r] for r in kept_rows] + new_chunks
    vectors = np.concatenate(
        [old_vectors[kept_rows] if kept_rows else np.zeros((0, dim), np.float32), new_vectors]
    ).astype(np.float32)
    report.chunks = len(chunks)
    progress("tag", 0, 1)
    report.tagged = tag_resource_chunks(
        chunks,
        vectors,
        catalog_by_id(settings.corpus_dir),
        study_notes(settings.corpus_dir),
        tag_rules,
    )
    progress("tag", 1, 1)

    manifest = {
        "format_version": FORMAT_VERSION,
        "embed_model": settings.embed_model,
        "embed_dim": dim,
        "chunker": _chunker_settings(settings),
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "chunk_count": len(chunks),
        "extra_paths": [str(p) for p in extra],
        "sources": dict(sorted(source_hashes.items())),
        "tagging": {"rules": rules, "tagged": report.tagged},
    }
    progress("write", 0, 1)
    _write_and_swap(settings, staging, manifest, chunks, vectors)
    progress("write", 1, 1)
    return report


def _hash_file(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def _write_and_swap(
    settings: Settings, staging: Path, manifest: dict, chunks: list[Chunk], vectors: np.ndarray
) -> None:
    import faiss
    from llama_index.core.schema import TextNode
    from llama_index.retrievers.bm25 import BM25Retriever
    from llama_index.vector_stores.faiss import FaissVectorStore

    with (staging / "chunks.jsonl").open("w") as f:
        for chunk in chunks:
            f.write(json.dumps(chunk.to_dict(), ensure_ascii=False) + "\n")
    np.save(staging / "embeddings.npy", vectors)

    nodes = [
        TextNode(id_=c.id, text=c.indexed_text(), embedding=vectors[i].tolist())
        for i, c in enumerate(chunks)
    ]
    store = FaissVectorStore(faiss_index=faiss.IndexFlatIP(int(manifest["embed_dim"])))
    store.add(nodes)
    store.persist(str(staging / "faiss" / "default__vector_store.json"))
    for node in nodes:
        node.embedding = None  # BM25 persists its nodes; vectors would only bloat them
    bm25 = BM25Retriever.from_defaults(
        nodes=nodes, similarity_top_k=settings.candidates_per_retriever
    )
    with contextlib.redirect_stderr(io.StringIO()):  # bm25s draws its own progress bars
        bm25.persist(str(staging / "bm25"))
    # The manifest goes last: a folder without one is an unfinished build.
    (staging / "manifest.json").write_text(json.dumps(manifest, indent=1))

    link_tmp = settings.data_dir / f".index-{staging.name}"
    old_target = settings.index_dir.resolve() if settings.index_dir.is_symlink() else None
    if settings.index_dir.exists() and not settings.index_dir.is_symlink():
        raise TutorError(
            f"{settings.index_dir} is not an index this tool manages. Move it away and re-run."
        )
    os.symlink(staging.relative_to(settings.data_dir.resolve()), link_tmp)
    os.replace(link_tmp, settings.index_dir)  # atomic on POSIX
    if old_target is not None and old_target != staging.resolve():
        shutil.rmtree(old_target, ignore_errors=True)


def load_index(settings: Settings) -> LoadedIndex:
    """Open the current index, or say how to build one."""
    from llama_index.retrievers.bm25 import BM25Retriever
    from llama_index.vector_stores.faiss import FaissVectorStore

    # Resolve the link to the current build once: a rebuild that swaps it meanwhile cannot
    # mix one build's manifest with another's files.
    path = settings.index_dir.resolve()
    manifest = read_manifest(path)
    if manifest is None:
        raise IndexMissingError(f"No index at {settings.index_dir}. Build one: `tutor index`.")
    if manifest.get("format_version") != FORMAT_VERSION:
        raise IndexMismatchError(
            f"The index at {path} has an older format. Rebuild it: `tutor index --rebuild`."
        )
    if manifest["embed_model"] != settings.embed_model:
        raise IndexMismatchError(
            f"The index at {path} was built with embedding model '{manifest['embed_model']}' but "
            f"TUTOR_EMBED_MODEL is '{settings.embed_model}'. Rebuild it: `tutor index` "
            "(or set TUTOR_EMBED_MODEL back)."
        )
    try:
        chunks = [
            Chunk.from_dict(json.loads(line))
            for line in (path / "chunks.jsonl").read_text().splitlines()
        ]
        embeddings = np.load(path / "embeddings.npy")
        store = FaissVectorStore.from_persist_dir(str(path / "faiss"))
        with contextlib.redirect_stderr(io.StringIO()):
            bm25 = BM25Retriever.from_persist_dir(str(path / "bm25"))
    except (OSError, ValueError, KeyError) as exc:
        raise IndexMissingError(
            f"The index at {path} is damaged ({exc.__class__.__name__}: {exc}). "
            "Rebuild it: `tutor index --rebuild`."
        ) from exc
    if not (len(chunks) == embeddings.shape[0] == store.client.ntotal):
        raise IndexMissingError(
            f"The index at {path} is inconsistent. Rebuild it: `tutor index --rebuild`."
        )
    return LoadedIndex(path, manifest, chunks, embeddings, store, bm25)


def source_view(index: LoadedIndex, item_id: str) -> dict | None:
    """A source's metadata and passages, given its source id or one of its chunk ids (then
    that chunk is also returned as `chunk`); None when the index has neither."""
    chunk = next((c for c in index.chunks if c.id == item_id), None)
    source_id = chunk.source_id if chunk else item_id
    members = [c for c in index.chunks if c.source_id == source_id]
    if not members:
        return None

    def passage(c: Chunk) -> dict:
        return {
            "chunk_id": c.id,
            "heading_path": c.heading_path,
            "url": c.url,
            "start_char": c.start_char,
            "end_char": c.end_char,
            "text": c.text,
        }

    view = {
        "source_id": source_id,
        "title": members[0].title,
        "url": members[0].url.split("#")[0] if members[0].url else None,
        "phase": members[0].phase,
        "chunks": [passage(c) for c in members],
        "sha256": index.manifest.get("sources", {}).get(source_id, {}).get("sha256"),
    }
    if chunk:
        view["chunk"] = passage(chunk)
    return view
