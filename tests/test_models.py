import hashlib
import sys

import pytest

from tutor.errors import ModelChecksumError, ModelMissingError
from tutor.models import (
    PACKAGED_MODELS,
    HubModel,
    PackagedModel,
    assemble_packaged_model,
    resolve_llm_model,
)


@pytest.fixture
def fake_parts(tmp_path, monkeypatch):
    """Three installed data packages, laid out like the real model parts."""
    site = tmp_path / "site"
    payload = []
    for i in range(1, 4):
        data = site / f"tiny_model_part{i}" / "data"
        data.mkdir(parents=True)
        (data.parent / "__init__.py").write_text("")
        chunk = bytes([i]) * (1000 + i)
        (data / f"part{i:02d}.bin").write_bytes(chunk)
        payload.append(chunk)
    monkeypatch.syspath_prepend(str(site))
    for i in range(1, 4):
        sys.modules.pop(f"tiny_model_part{i}", None)
    blob = b"".join(payload)
    return PackagedModel(
        name="tiny",
        filename="tiny.gguf",
        part_modules=tuple(f"tiny_model_part{i}" for i in range(1, 4)),
        sha256=hashlib.sha256(blob).hexdigest(),
        size_bytes=len(blob),
        pip_extra="model-tiny",
    ), blob


def test_parts_are_concatenated_in_order_and_verified(fake_parts, tmp_path):
    spec, blob = fake_parts
    seen = []
    path = assemble_packaged_model(spec, tmp_path / "models", lambda d, t: seen.append((d, t)))
    assert path.read_bytes() == blob
    assert seen[-1] == (len(blob), len(blob))
    # A second call trusts the verified file and does not re-assemble it.
    mtime = path.stat().st_mtime_ns
    assert assemble_packaged_model(spec, tmp_path / "models") == path
    assert path.stat().st_mtime_ns == mtime


def test_checksum_mismatch_fails_loudly_and_leaves_no_file(fake_parts, tmp_path):
    spec, _ = fake_parts
    wrong = PackagedModel(**{**spec.__dict__, "sha256": "0" * 64})
    with pytest.raises(ModelChecksumError, match="SHA-256 mismatch.*force-reinstall"):
        assemble_packaged_model(wrong, tmp_path / "models")
    assert list((tmp_path / "models").iterdir()) == []


def test_a_damaged_model_file_is_rebuilt_from_the_packages(fake_parts, tmp_path):
    spec, blob = fake_parts
    path = assemble_packaged_model(spec, tmp_path / "models")
    path.write_bytes(b"x" * len(blob))  # same size, wrong bytes: the sidecar no longer matches
    assert assemble_packaged_model(spec, tmp_path / "models").read_bytes() == blob


def test_missing_package_names_the_install_command(fake_parts, tmp_path):
    spec, _ = fake_parts
    parts = spec.part_modules + ("nope_part9",)
    missing = PackagedModel(**{**spec.__dict__, "part_modules": parts})
    with pytest.raises(ModelMissingError, match=r"nope_part9.*pip install '\.\[model-tiny\]'"):
        assemble_packaged_model(missing, tmp_path / "models")


def test_model_setting_resolves_paths_hub_ids_and_rejects_the_rest(tmp_path, small_model_path):
    assert resolve_llm_model("qwen2.5-coder-0.5b", small_model_path.parent) == small_model_path
    assert resolve_llm_model(str(small_model_path), tmp_path) == small_model_path
    assert resolve_llm_model("Qwen/Qwen2.5-1.5B-Instruct-GGUF", tmp_path) == HubModel(
        "Qwen/Qwen2.5-1.5B-Instruct-GGUF", "*q4_k_m.gguf"
    )
    with pytest.raises(ModelMissingError, match="No model file"):
        resolve_llm_model(str(tmp_path / "absent.gguf"), tmp_path)
    with pytest.raises(ModelMissingError, match="Unknown model"):
        resolve_llm_model("gpt-5", tmp_path)


def test_packaged_specs_match_the_published_sizes():
    assert PACKAGED_MODELS["qwen2.5-coder-1.5b"].size_bytes == 1_117_320_768
    assert len(PACKAGED_MODELS["qwen2.5-coder-1.5b"].part_modules) == 22
    assert len(PACKAGED_MODELS["qwen2.5-coder-0.5b"].part_modules) == 6
