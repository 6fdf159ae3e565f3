"""The learner's own record, in SQLite in the data directory: topics studied, quiz results,
and thumbs up/down with comments on answers (which the eval suite can later learn from).

One learner per local install by default; a learner name separates several on a shared one.
"""

from __future__ import annotations

import json
import re
import sqlite3
import time
from pathlib import Path

from tutor.errors import TutorError

SCHEMA = """
CREATE TABLE IF NOT EXISTS studied (
    learner TEXT NOT NULL, topic_id TEXT NOT NULL, title TEXT NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (learner, topic_id)
);
CREATE TABLE IF NOT EXISTS quiz (
    id INTEGER PRIMARY KEY, learner TEXT NOT NULL, topic_id TEXT, question TEXT NOT NULL,
    answer TEXT NOT NULL, grade TEXT, feedback TEXT NOT NULL, at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS known (
    learner TEXT NOT NULL, topic_id TEXT NOT NULL, title TEXT NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (learner, topic_id)
);
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY, learner TEXT NOT NULL, question TEXT NOT NULL, answer TEXT NOT NULL,
    rating INTEGER NOT NULL CHECK (rating IN (-1, 1)), comment TEXT, mode TEXT,
    citations TEXT NOT NULL, at REAL NOT NULL
);
"""


class ProgressStore:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self.db = sqlite3.connect(self.path, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.executescript(SCHEMA)
        except sqlite3.DatabaseError as exc:
            raise TutorError(
                f"The progress database {self.path} cannot be opened ({exc}). It is left as it "
                "is; move it aside to start a fresh one, or restore it from a backup."
            ) from exc

    def _write(self, sql: str, values: tuple) -> None:
        try:
            with self.db:  # one transaction: a crash never leaves half a record
                self.db.execute(sql, values)
        except sqlite3.IntegrityError:
            raise  # a record the schema refuses is a caller's mistake, not the database's
        except sqlite3.DatabaseError as exc:  # locked by another writer too long, or damaged
            raise TutorError(
                f"Your progress could not be saved ({exc}): the progress database {self.path} "
                "is busy or damaged. Everything saved before is kept; close other tutor "
                "windows or processes that use it and try again."
            ) from exc

    def record_studied(self, learner: str, topic_id: str, title: str) -> None:
        self._write(
            "INSERT OR REPLACE INTO studied VALUES (?, ?, ?, ?)",
            (learner, topic_id, title, time.time()),
        )

    def record_quiz(
        self, learner: str, topic_id: str | None, question: str, answer: str, feedback: str
    ) -> str | None:
        grade = grade_of(feedback)
        self._write(
            "INSERT INTO quiz (learner, topic_id, question, answer, grade, feedback, at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (learner, topic_id, question, answer, grade, feedback, time.time()),
        )
        return grade

    def record_feedback(
        self,
        learner: str,
        question: str,
        answer: str,
        rating: int,
        comment: str | None = None,
        mode: str | None = None,
        citations: list[dict] | None = None,
    ) -> None:
        self._write(
            "INSERT INTO feedback (learner, question, answer, rating, comment, mode, citations, "
            "at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (
                learner,
                question,
                answer,
                rating,
                comment or None,
                mode,
                json.dumps(citations or []),
                time.time(),
            ),
        )

    def mark_known(self, learner: str, topic_id: str, title: str, known: bool = True) -> None:
        """The learner says they know a topic already (it counts as mastered), or takes it back."""
        if known:
            self._write(
                "INSERT OR REPLACE INTO known VALUES (?, ?, ?, ?)",
                (learner, topic_id, title, time.time()),
            )
        else:
            self._write("DELETE FROM known WHERE learner = ? AND topic_id = ?", (learner, topic_id))

    def known(self, learner: str) -> set[str]:
        rows = self.db.execute("SELECT topic_id FROM known WHERE learner = ?", (learner,))
        return {r[0] for r in rows.fetchall()}

    def studied_or_known(self, learner: str) -> list[str]:
        """The topics (note ids) a learner has studied or marked known: what an answer's
        placement counts as done."""
        return sorted(set(self.studied(learner)) | self.known(learner))

    def quiz_results(self, learner: str) -> list[dict]:
        rows = self.db.execute(
            "SELECT topic_id, grade FROM quiz WHERE learner = ? ORDER BY at", (learner,)
        )
        return [{"topic_id": t, "grade": g} for t, g in rows.fetchall()]

    def studied(self, learner: str) -> dict[str, str]:
        rows = self.db.execute(
            "SELECT topic_id, title FROM studied WHERE learner = ? ORDER BY at", (learner,)
        )
        return dict(rows.fetchall())

    def export(self, learner: str) -> dict:
        def rows(sql: str) -> list[dict]:
            cursor = self.db.execute(sql, (learner,))
            names = [d[0] for d in cursor.description]
            return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]

        feedback = rows(
            "SELECT question, answer, rating, comment, mode, citations, at "
            "FROM feedback WHERE learner = ? ORDER BY at"
        )
        for f in feedback:
            f["citations"] = json.loads(f["citations"])
        return {
            "learner": learner,
            "studied": rows(
                "SELECT topic_id, title, at FROM studied WHERE learner = ? ORDER BY at"
            ),
            "quiz": rows(
                "SELECT topic_id, question, answer, grade, feedback, at FROM quiz "
                "WHERE learner = ? ORDER BY at"
            ),
            "known": rows("SELECT topic_id, title, at FROM known WHERE learner = ? ORDER BY at"),
            "feedback": feedback,
        }

    def import_(self, data: dict, learner: str | None = None) -> dict[str, int]:
        """Add an export's records (under `learner`, or the name it was exported with).
        Records already here are not doubled, so importing twice changes nothing; it is
        all or nothing. Returns how many records of each kind were added."""
        learner = learner or data.get("learner")
        if not isinstance(data, dict) or not learner:
            raise TutorError("This is not a progress export: it has no learner name.")
        tables = {
            "studied": ("topic_id", "title", "at"),
            "known": ("topic_id", "title", "at"),
            "quiz": ("topic_id", "question", "answer", "grade", "feedback", "at"),
            "feedback": ("question", "answer", "rating", "comment", "mode", "citations", "at"),
        }
        added = {}
        try:
            with self.db:
                for table, columns in tables.items():
                    before = self.db.total_changes
                    for record in data.get(table) or []:
                        values = [record.get(c) for c in columns]
                        if table == "feedback":
                            values[5] = json.dumps(values[5] or [])
                        self._insert_new(table, ("learner", *columns), (learner, *values))
                    added[table] = self.db.total_changes - before
        except (sqlite3.DatabaseError, AttributeError, TypeError) as exc:
            raise TutorError(
                f"The progress file could not be imported ({exc}); nothing was changed."
            ) from exc
        return added

    def _insert_new(self, table: str, columns: tuple, values: tuple) -> None:
        """Insert a row unless one with the same values is there already."""
        match = " AND ".join(f"{c} IS ?" for c in columns)
        if self.db.execute(f"SELECT 1 FROM {table} WHERE {match}", values).fetchone():
            return
        marks = ", ".join("?" * len(columns))
        verb = "INSERT OR REPLACE" if table in ("studied", "known") else "INSERT"
        self.db.execute(f"{verb} INTO {table} ({', '.join(columns)}) VALUES ({marks})", values)


_GRADE = re.compile(r"\b(partly correct|partially correct|incorrect|not correct|correct)\b", re.I)


def grade_of(feedback: str) -> str | None:
    """The tutor's verdict on a quiz answer, from the start of its grading.

    >>> grade_of("Partly correct: the discriminator ... [1]")
    'partly correct'
    """
    match = _GRADE.search(feedback[:200])
    if not match:
        return None
    word = match.group(1).lower()
    return {"partially correct": "partly correct", "not correct": "incorrect"}.get(word, word)


def topics_in_order(tree: list[dict]) -> list[dict]:
    """Every study note in roadmap order: phase by phase, section by section."""
    ordered = []
    for phase in tree:
        for note in phase.get("notes", []):
            ordered.append(
                note | {"phase": phase["phase"], "resources": phase.get("resources", [])}
            )
        for section in phase.get("sections", []):
            for note in section.get("notes", []):
                ordered.append(
                    note
                    | {
                        "phase": phase["phase"],
                        "section": section["title"],
                        "resources": section.get("resources", []),
                    }
                )
    return ordered
