"""Answers already given, so a question asked again costs no model call.

An entry is keyed by everything that decides the answer: the question (normalised: case,
spacing and end punctuation do not matter), the mode and level, the conversation before it,
the retrieval and generation knobs, the model, and the index build. A rebuilt index has a
new build id, so a rebuild invalidates every entry without a purge. Quiz questions are not
cached (a learner asking for another quiz wants another question), nor are answers at a
temperature above the configured one (asked for variety). The cache lives in SQLite in the
data directory, survives restarts, and keeps the newest `max_entries`.

A question worded differently but meaning the same ("whats the diff between a GAN and a
VAE" after "What is the difference between GANs and VAEs?") can also be answered from the
cache: each entry keeps its question's embedding and its context (everything in the key but
the question), and `nearest` finds the closest earlier question in the same context. The
tutor accepts it only above a similarity calibrated on labelled question pairs
(evals/tools/calibrate_cache_match.py), chosen so that no pair meaning something different
reached it on the tuning half.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sqlite3
import threading
import time
from pathlib import Path

import numpy as np

log = logging.getLogger("tutor.cache")
_SPACE = re.compile(r"\s+")


def normalise(question: str) -> str:
    """The question as a cache key sees it.

    >>> normalise("  What is   LoRA?? ")
    'what is lora'
    """
    return _SPACE.sub(" ", question).strip().rstrip("?!. ").lower()


def cache_key(**parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


class AnswerCache:
    """A damaged or locked cache file never stops an answer: it is a miss, with a warning
    in the log (the file is only a cache; deleting it loses nothing else)."""

    def __init__(self, path: Path, max_entries: int = 5000):
        self.path = Path(path)
        self.max_entries = max_entries
        self._lock = threading.Lock()
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, check_same_thread=False, timeout=1.0)
        self._run(
            "CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, answer TEXT NOT NULL, "
            "at REAL NOT NULL)",
            # The question's embedding beside its entry, for near-duplicate matches.
            "CREATE TABLE IF NOT EXISTS questions (key TEXT PRIMARY KEY, context TEXT NOT "
            "NULL, question TEXT NOT NULL, vector BLOB NOT NULL)",
        )

    def _run(self, *statements: tuple | str) -> list | None:
        """Run statements in one transaction; the last one's rows, or None on a failure."""
        try:
            with self._lock, self.db:
                for statement in statements:
                    sql, values = (statement, ()) if isinstance(statement, str) else statement
                    rows = self.db.execute(sql, values).fetchall()
                return rows
        except sqlite3.DatabaseError as exc:
            log.warning(
                "The answer cache %s is not usable (%s); answering without it. Delete the file "
                "to start a fresh cache (it holds nothing else).",
                self.path,
                exc,
            )
            return None

    def get(self, key: str) -> dict | None:
        rows = self._run(("SELECT answer FROM answers WHERE key = ?", (key,)))
        return json.loads(rows[0][0]) if rows else None

    def put(
        self,
        key: str,
        answer: dict,
        context: str | None = None,
        question: str | None = None,
        vector: np.ndarray | None = None,
    ) -> None:
        """Keep an answer; with `context`, `question` and its normalised `vector`, it can
        also be found by `nearest`."""
        statements: list[tuple] = [
            (
                "INSERT OR REPLACE INTO answers VALUES (?, ?, ?)",
                (key, json.dumps(answer), time.time()),
            )
        ]
        if context is not None and question is not None and vector is not None:
            blob = np.asarray(vector, dtype=np.float32).tobytes()
            statements.append(
                (
                    "INSERT OR REPLACE INTO questions VALUES (?, ?, ?, ?)",
                    (key, context, question, blob),
                )
            )
        self._run(
            *statements,
            (
                "DELETE FROM answers WHERE key NOT IN "
                "(SELECT key FROM answers ORDER BY at DESC LIMIT ?)",
                (self.max_entries,),
            ),
            "DELETE FROM questions WHERE key NOT IN (SELECT key FROM answers)",
        )

    def nearest(self, context: str, vector: np.ndarray) -> tuple[str, str, float] | None:
        """(key, question, cosine) of the earlier question in `context` closest to
        `vector`, or None when there is none."""
        rows = self._run(
            ("SELECT key, question, vector FROM questions WHERE context = ?", (context,))
        )
        if not rows:
            return None
        vectors = np.stack([np.frombuffer(blob, dtype=np.float32) for _, _, blob in rows])
        if vectors.shape[1] != len(vector):  # another embedder wrote these
            return None
        similarity = vectors @ np.asarray(vector, dtype=np.float32)
        best = int(similarity.argmax())
        return rows[best][0], rows[best][1], float(similarity[best])
