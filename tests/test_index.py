import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tutor.errors import IndexMismatchError, IndexMissingError, TutorError
from tutor.index import build_index, load_index, read_manifest
from tutor.retrieve import Retriever


def test_build_writes_a_manifest_describing_the_index(settings, embedder):
    report = build_index(settings, embedder=embedder)
    manifest = read_manifest(settings.index_dir)
    assert report.chunks == manifest["chunk_count"] > 0
    assert manifest["embed_model"] == "all-MiniLM-L6-v2"
    assert manifest["embed_dim"] == 384
    assert manifest["chunker"] == {"version": 1, "chunk_tokens": 192, "chunk_overlap_tokens": 32}
    assert set(manifest["sources"]) == {
        "roadmap.md",
        "gans.md",
        "backprop.md",
        "attention.mdx",
        "overfitting.txt",
        "rnn.ipynb",
        "quantization.html",
        "diffusion.pdf",
    }
    assert all(len(s["sha256"]) == 64 for s in manifest["sources"].values())
    assert manifest["built_at"]


def test_incremental_rebuild_reembeds_only_the_edited_file(settings, embedder, corpus_copy):
    build_index(settings, embedder=embedder)
    gans = corpus_copy / "gans.md"
    extra = "\n## Wasserstein GAN\n\nWGAN uses the earth mover's distance.\n"
    gans.write_text(gans.read_text() + extra)
    report = build_index(settings, embedder=embedder)
    assert report.changed == ["gans.md"] and report.added == [] and report.removed == []
    assert report.unchanged == 7
    index = load_index(settings)
    gans_chunks = [c for c in index.chunks if c.source_id == "gans.md"]
    assert report.chunks_embedded == len(gans_chunks)
    assert any("earth mover" in c.text for c in gans_chunks)


def test_deleted_and_added_sources_are_removed_and_added(settings, embedder, corpus_copy):
    build_index(settings, embedder=embedder)
    (corpus_copy / "overfitting.txt").unlink()
    (corpus_copy / "lora.md").write_text("# LoRA\n\nLoRA trains small low-rank adapter matrices.")
    report = build_index(settings, embedder=embedder)
    assert report.removed == ["overfitting.txt"] and report.added == ["lora.md"]
    assert report.chunks_embedded == 1
    sources = {c.source_id for c in load_index(settings).chunks}
    assert "overfitting.txt" not in sources and "lora.md" in sources


def test_unchanged_rebuild_embeds_nothing_and_keeps_the_build(settings, embedder):
    build_index(settings, embedder=embedder)
    before = os.readlink(settings.index_dir)
    report = build_index(settings, embedder=embedder)
    assert report.chunks_embedded == 0 and report.unchanged == 8
    assert os.readlink(settings.index_dir) == before


def test_corrupt_files_are_skipped_and_reported_while_the_rest_is_indexed(
    settings, embedder, corpus_copy
):
    (corpus_copy / "broken.ipynb").write_text("{not json")
    (corpus_copy / "blob.md").write_bytes(os.urandom(64) + b"\x00")
    report = build_index(settings, embedder=embedder)
    assert {s.path.name for s in report.skipped} == {"broken.ipynb", "blob.md"}
    assert {c.source_id for c in load_index(settings).chunks} >= {"gans.md", "backprop.md"}


def test_extra_folders_are_indexed_with_prefixed_ids_and_remembered(settings, embedder, tmp_path):
    extra = tmp_path / "mirror"
    extra.mkdir()
    (extra / "peft.md").write_text("# PEFT\n\nAdapters fine-tune a few parameters only.")
    build_index(settings, [extra], embedder=embedder)
    build_index(settings, embedder=embedder)  # a plain re-index keeps the folder
    assert "mirror/peft.md" in {c.source_id for c in load_index(settings).chunks}
    build_index(settings, embedder=embedder, rebuild=True)  # and so does a full rebuild
    assert "mirror/peft.md" in {c.source_id for c in load_index(settings).chunks}


def test_missing_index_says_how_to_build_one(settings):
    with pytest.raises(IndexMissingError, match="tutor index"):
        load_index(settings)


def test_index_from_another_embedding_model_is_refused_not_mixed(settings, embedder):
    from tutor.models import resolve_embedder_path

    build_index(settings, embedder=embedder)
    other = settings.model_copy(update={"embed_model": resolve_embedder_path("all-MiniLM-L6-v2")})
    with pytest.raises(IndexMismatchError, match="was built with embedding model"):
        load_index(other)
    report = build_index(other)
    assert "embedding model changed" in report.rebuilt_from_scratch_because
    assert report.chunks_embedded == report.chunks  # everything re-embedded, nothing reused
    assert load_index(other).manifest["embed_model"] == other.embed_model


def test_empty_corpus_is_an_error_not_an_empty_index(tmp_path, small_model_path):
    from conftest import make_settings

    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(TutorError, match="No readable sources"):
        build_index(make_settings(tmp_path / "data", empty))


def test_a_build_killed_midway_leaves_the_previous_index_answering(settings, embedder, tmp_path):
    build_index(settings, embedder=embedder)
    old_target = os.readlink(settings.index_dir)
    builds = settings.data_dir / "builds"
    big = tmp_path / "big"
    big.mkdir()
    for i in range(400):
        (big / f"page{i}.md").write_text(
            f"# Page {i}\n\n" + f"Filler sentence {i} about optimisers and schedules. " * 40
        )
    # The child builds through the same entry point as `tutor index` and reports each
    # embedding batch; it is killed on the first one that leaves work to do, so the kill
    # lands mid-embedding by construction, not after a guessed sleep.
    child = (
        "import sys\n"
        "from pathlib import Path\n"
        "from tutor.config import Settings\n"
        "from tutor.index import build_index\n"
        "def progress(stage, done, total):\n"
        "    print(stage, done, total, flush=True)\n"
        "    if stage == 'embed' and 0 < done < total:\n"
        "        sys.stdin.readline()  # hold here until killed\n"
        "build_index(Settings(), [Path(sys.argv[1])], progress=progress)\n"
    )
    env = dict(
        os.environ, TUTOR_DATA_DIR=str(settings.data_dir), TUTOR_CORPUS_DIR=str(settings.corpus_dir)
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", child, str(big)],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    for line in proc.stdout:
        stage, done, total = line.split()
        if stage == "embed" and 0 < int(done) < int(total):
            break
    else:
        raise AssertionError("the build finished before it reached the middle of embedding")
    assert len(list(builds.iterdir())) == 2  # the unfinished build is on disk beside the old
    proc.send_signal(signal.SIGKILL)
    proc.wait()

    assert os.readlink(settings.index_dir) == old_target
    index = load_index(settings)
    hits = Retriever(index, embedder, settings).search("what is mode collapse in GANs")
    assert hits and hits[0].chunk.source_id == "gans.md"
    assert not any(c.source_id.startswith("big/") for c in index.chunks)

    report = build_index(settings, embedder=embedder)
    assert report.cleaned_unfinished_builds == 1
    assert len(list(builds.iterdir())) == 1
    manifest = json.loads((settings.index_dir / "manifest.json").read_text())
    assert manifest["extra_paths"] == []


def test_a_full_disk_during_a_build_says_so_and_keeps_the_previous_index(
    settings, embedder, corpus_copy, monkeypatch
):
    """A full disk cannot be made here for real, so the write that fills it is faked."""
    import errno

    import numpy as np

    build_index(settings, embedder=embedder)
    before = os.readlink(settings.index_dir)
    (corpus_copy / "extra.md").write_text("# Extra\n\nA new page that needs a new build.\n")

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(np, "save", full)
    with pytest.raises(TutorError, match="disk is full.*previous index is untouched"):
        build_index(settings, embedder=embedder)
    monkeypatch.undo()
    assert os.readlink(settings.index_dir) == before
    assert [p.name for p in (settings.data_dir / "builds").iterdir()] == [Path(before).name]
    hits = Retriever(load_index(settings), embedder, settings).search("mode collapse in GANs")
    assert hits[0].chunk.source_id == "gans.md"
