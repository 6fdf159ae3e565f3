"""Values fitted for one model, kept in a JSON file beside the code.

The answerability gate and the premise check's threshold are each fitted on the eval's
labelled questions for one model (a threshold that suits the 1.5B model says nothing about
another). Each file holds a list of records with a
`model_id`; refitting one model keeps the others'. A digest of the file goes into the
answer cache's key, so a refit invalidates the answers decided under the old values.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict
from pathlib import Path
from typing import Any, TypeVar

Fitted = TypeVar("Fitted")


def load_all(path: Path, kind: type[Fitted]) -> list[Fitted]:
    """Every model's record in `path` (none when the file is missing)."""
    if not path.exists():
        return []
    return [kind(**record) for record in json.loads(path.read_text())]


def load_for(model_id: str | None, path: Path, kind: type[Fitted], **match: Any) -> Fitted | None:
    """The record fitted for this model (and the `match` fields' values), if there is one."""
    wanted = {"model_id": model_id, **match}
    return next((x for x in load_all(path, kind) if _fields(x, wanted) == wanted), None)


def save(fitted: Any, path: Path, *keys: str) -> None:
    """Add or replace the record for fitted.model_id (and the same values of `keys`),
    keeping the others."""
    key = {name: getattr(fitted, name) for name in ("model_id", *keys)}
    kept = [x for x in load_all(path, type(fitted)) if _fields(x, key) != key]
    path.write_text(json.dumps([asdict(x) for x in [*kept, fitted]], indent=2) + "\n")


def _fields(record: Any, names: dict[str, Any]) -> dict[str, Any]:
    return {name: getattr(record, name) for name in names}


def digest(path: Path) -> str:
    """A short digest of the file's bytes ("none" when it is missing)."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16] if path.exists() else "none"
