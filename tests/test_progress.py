"""The learner's progress store (SQLite) and the roadmap-order helpers."""

import json
import sqlite3

import pytest

from tutor.errors import TutorError
from tutor.progress import ProgressStore, grade_of, topics_in_order

TREE = [
    {
        "phase": 1,
        "notes": [],
        "sections": [
            {
                "title": "Math",
                "notes": [
                    {"source_id": "notes/phase-1/a.md", "title": "A"},
                    {"source_id": "notes/phase-1/b.md", "title": "B"},
                ],
            }
        ],
    },
    {"phase": 2, "notes": [{"source_id": "notes/phase-2/c.md", "title": "C"}], "sections": []},
]


def test_progress_is_recorded_per_learner_and_exported(tmp_path):
    store = ProgressStore(tmp_path / "progress.sqlite")
    store.record_studied("ana", "notes/phase-1/a.md", "A")
    store.record_studied("ana", "notes/phase-1/a.md", "A")  # studying again is one topic
    store.record_studied("ben", "notes/phase-2/c.md", "C")
    grade = store.record_quiz("ana", "notes/phase-1/a.md", "What is A?", "B", "Incorrect: A is ...")
    store.record_feedback(
        "ana",
        "What is A?",
        "A is ... [1]",
        -1,
        "too vague",
        "explain",
        [{"number": 1, "source_id": "notes/phase-1/a.md"}],
    )
    assert grade == "incorrect"
    assert store.studied("ana") == {"notes/phase-1/a.md": "A"}
    exported = store.export("ana")
    assert [s["topic_id"] for s in exported["studied"]] == ["notes/phase-1/a.md"]
    assert exported["quiz"][0]["grade"] == "incorrect"
    assert exported["feedback"][0]["comment"] == "too vague"
    assert exported["feedback"][0]["citations"][0]["number"] == 1
    json.dumps(exported)  # exportable as JSON
    # A second connection (another process, a restart) sees the same record.
    assert ProgressStore(tmp_path / "progress.sqlite").studied("ben") == {"notes/phase-2/c.md": "C"}


def test_ratings_other_than_up_or_down_are_refused(tmp_path):
    store = ProgressStore(tmp_path / "p.sqlite")
    with pytest.raises(sqlite3.IntegrityError):
        store.record_feedback("ana", "q", "a", 5)


def test_a_corrupt_database_is_reported_and_left_untouched(tmp_path):
    path = tmp_path / "progress.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    before = path.read_bytes()
    with pytest.raises(TutorError, match="move it aside"):
        ProgressStore(path)
    assert path.read_bytes() == before


def test_a_locked_database_is_reported_and_keeps_what_was_saved(tmp_path):
    path = tmp_path / "progress.sqlite"
    store = ProgressStore(path)
    store.record_studied("ana", "notes/phase-1/a.md", "A")
    store.db.execute("PRAGMA busy_timeout = 200")  # the default waits 5 s before giving up
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")  # another process is writing
    with pytest.raises(TutorError, match="could not be saved.*kept"):
        store.record_studied("ana", "notes/phase-1/b.md", "B")
    locker.execute("ROLLBACK")
    assert store.studied("ana") == {"notes/phase-1/a.md": "A"}
    store.record_studied("ana", "notes/phase-1/b.md", "B")  # works again once it is free
    assert len(store.studied("ana")) == 2


@pytest.mark.parametrize(
    ("text", "grade"),
    [
        ("Correct! The discriminator ...", "correct"),
        ("Partly correct: you named ...", "partly correct"),
        ("That is not correct. In fact ...", "incorrect"),
        ("GANs are ...", None),
    ],
)
def test_quiz_grades_are_read_from_the_tutors_verdict(text, grade):
    assert grade_of(text) == grade


def test_topics_are_listed_in_roadmap_order():
    assert [t["title"] for t in topics_in_order(TREE)] == ["A", "B", "C"]


def test_an_export_imports_into_a_fresh_store_without_loss_and_twice_changes_nothing(tmp_path):
    old = ProgressStore(tmp_path / "old.sqlite")
    old.record_studied("ann", "notes/phase-3/gans.md", "GANs")
    old.mark_known("ann", "notes/phase-1/linear-algebra.md", "Linear algebra")
    old.record_quiz("ann", "notes/phase-3/gans.md", "What does D do?", "Judges", "Correct. [1]")
    old.record_feedback("ann", "Q", "A", 1, "clear", "explain", [{"source_id": "x"}])
    exported = old.export("ann")

    new = ProgressStore(tmp_path / "new.sqlite")
    assert new.import_(exported) == {"studied": 1, "known": 1, "quiz": 1, "feedback": 1}
    assert new.export("ann") == exported  # loss-free, timestamps included
    assert new.import_(exported) == {"studied": 0, "known": 0, "quiz": 0, "feedback": 0}
    assert new.export("ann") == exported


def test_a_broken_import_changes_nothing(tmp_path):
    store = ProgressStore(tmp_path / "p.sqlite")
    store.record_studied("ann", "notes/a.md", "A")
    before = store.export("ann")
    broken = {
        "learner": "ann",
        "studied": [{"topic_id": "notes/b.md", "title": "B", "at": 1}],
        "quiz": [{"topic_id": "t", "question": None, "answer": "x", "at": 2}],
    }
    with pytest.raises(TutorError, match="nothing was changed"):
        store.import_(broken)
    assert store.export("ann") == before
    with pytest.raises(TutorError, match="not a progress export"):
        store.import_({"studied": []})
