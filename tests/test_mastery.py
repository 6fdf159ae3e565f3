"""Mastery from quiz results (a Beta posterior per topic) and what to learn next, on the
real learning path and a real progress database."""

from pathlib import Path

import pytest

from tutor.mastery import Mastery, mastery_by_topic, what_next
from tutor.path import build_path
from tutor.progress import ProgressStore
from tutor.roadmap import study_notes

CORPUS = Path(__file__).resolve().parents[1] / "corpus"


@pytest.fixture(scope="module")
def path():
    return build_path((CORPUS / "roadmap.md").read_text(), study_notes(CORPUS))


def note(path, topic_id: str) -> str:
    return path.topics[topic_id].source_id


def test_three_right_answers_are_mastery_two_are_not_and_a_wrong_one_needs_outweighing():
    assert not Mastery(correct=2, answers=2).mastered  # P(p >= 0.6) = 0.78
    assert Mastery(correct=3, answers=3).mastered  # 0.87
    assert not Mastery(correct=3, wrong=1, answers=4).mastered
    assert Mastery(correct=6, wrong=1, answers=7).mastered
    assert not Mastery(correct=1.5, wrong=1.5, answers=3).mastered  # three partly correct
    assert Mastery(known=True).mastered


def test_quiz_results_in_the_store_become_mastery(tmp_path, path):
    store = ProgressStore(tmp_path / "progress.sqlite")
    gans = note(path, "gans")
    for feedback in ["Correct: yes [1]", "Correct. [2]", "Partly correct: almost"]:
        store.record_quiz("ann", gans, "Q?", "A", feedback)
    store.record_quiz("ann", gans, "Q?", "A", "Let me think about it")  # no grade: no evidence
    store.record_quiz("ann", None, "Q?", "A", "Correct")  # no topic: counts for none
    mastery = mastery_by_topic(store.quiz_results("ann"), store.known("ann"))
    assert set(mastery) == {gans}
    assert (mastery[gans].correct, mastery[gans].wrong, mastery[gans].answers) == (2.5, 0.5, 3)
    assert not mastery[gans].mastered
    store.record_quiz("ann", gans, "Q?", "A", "Correct")
    assert mastery_by_topic(store.quiz_results("ann"), set())[gans].mastered
    store.mark_known("ann", note(path, "rlhf"), "RLHF")
    assert mastery_by_topic([], store.known("ann"))[note(path, "rlhf")].mastered
    store.mark_known("ann", note(path, "rlhf"), "RLHF", known=False)
    assert store.known("ann") == set()


def test_a_new_learner_starts_with_a_topic_that_needs_nothing(path):
    suggestion = what_next(path, {}, {})
    assert suggestion.topic.id == "linear-algebra"
    assert "Step 1: Math & Python" in suggestion.reason


def test_next_waits_for_prerequisites_to_be_mastered_not_just_studied(path):
    # Everything before calculus is mastered except linear algebra, its prerequisite,
    # which was studied and failed: the learner is sent back to it, not on to calculus.
    mastered = {note(path, t): Mastery(known=True) for t in ("probability", "statistics")}
    failed = {note(path, "linear-algebra"): Mastery(correct=1, wrong=2, answers=3)}
    studied = {note(path, "linear-algebra"): "Linear algebra"}
    suggestion = what_next(path, mastered | failed, studied)
    assert suggestion.topic.id == "linear-algebra"
    assert "1 of 3 quiz answers correct" in suggestion.reason

    # With linear algebra mastered, calculus is next, and the reason names what it builds on.
    mastered[note(path, "linear-algebra")] = Mastery(correct=3, answers=3)
    suggestion = what_next(path, mastered, studied)
    assert suggestion.topic.id == "calculus"
    assert "Linear Algebra" in suggestion.reason


def test_the_suggestion_is_the_first_unmastered_topic_whose_prerequisites_are_mastered(path):
    # A learner who knows the first half of the path, and a few later topics too.
    half = len(path.order) // 2
    known = path.order[:half] + path.order[half + 3 :: 4]
    mastery = {note(path, t): Mastery(known=True) for t in known}
    suggestion = what_next(path, mastery, {})
    assert suggestion.topic.id == path.order[half]
    for prerequisite in suggestion.topic.prerequisites:
        assert mastery[note(path, prerequisite)].mastered
    everything = {t.source_id: Mastery(known=True) for t in path.topics.values()}
    assert what_next(path, everything, {}) is None
