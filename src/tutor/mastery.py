"""Mastery from quiz results, and what to learn next.

The model is a Beta posterior per topic over p, the chance the learner answers a question
on it correctly: a flat Beta(1, 1) prior; a correct answer adds 1 to alpha, an incorrect
one 1 to beta, a partly correct one half to each. A topic is mastered when the posterior
puts at least 80 % of its weight on p >= 0.6. Why this and not knowledge tracing: a learner
answers two or three questions per topic, too few to fit BKT's four parameters, and the
Beta posterior is exact for that little data, needs no tuning, and says how sure it is:
three correct answers in a row are mastery (P = 0.87), two are not yet (0.78), and one
wrong answer among four needs more right ones to outweigh it. A learner can also mark a
topic as known, which counts as mastered.
"""

from __future__ import annotations

from dataclasses import dataclass

from scipy.stats import beta

from tutor.path import LearningPath, Topic

GOOD_ENOUGH = 0.6  # the chance of a correct answer that counts as knowing a topic
CONFIDENCE = 0.8  # how sure the posterior must be of it
_EVIDENCE = {"correct": (1.0, 0.0), "partly correct": (0.5, 0.5), "incorrect": (0.0, 1.0)}


@dataclass
class Mastery:
    correct: float = 0.0  # evidence for, in answers (partly correct counts half)
    wrong: float = 0.0
    answers: int = 0
    known: bool = False  # marked as known by the learner

    @property
    def p_mastered(self) -> float:
        """P(p >= GOOD_ENOUGH | answers) under the Beta(1 + correct, 1 + wrong) posterior."""
        return float(beta.sf(GOOD_ENOUGH, 1 + self.correct, 1 + self.wrong))

    @property
    def mastered(self) -> bool:
        return self.known or self.p_mastered >= CONFIDENCE

    def summary(self) -> str:
        if self.known:
            return "marked as known"
        if not self.answers:
            return "no quiz answers yet"
        return f"{self.correct:g} of {self.answers} quiz answers correct"


def mastery_by_topic(quiz: list[dict], known: set[str]) -> dict[str, Mastery]:
    """Mastery per topic source id, from quiz rows ({"topic_id", "grade"}) and the topics
    marked known. Ungraded answers and answers to no topic count for nothing."""
    table: dict[str, Mastery] = {t: Mastery(known=True) for t in known}
    for row in quiz:
        evidence = _EVIDENCE.get(row.get("grade") or "")
        if not row.get("topic_id") or evidence is None:
            continue
        m = table.setdefault(row["topic_id"], Mastery())
        m.correct += evidence[0]
        m.wrong += evidence[1]
        m.answers += 1
    return table


@dataclass
class Suggestion:
    topic: Topic
    reason: str


def status_of(topic: Topic, mastery: dict[str, Mastery], studied) -> str:
    """mastered, studied or new."""
    if (m := mastery.get(topic.source_id)) and m.mastered:
        return "mastered"
    return "studied" if topic.source_id in studied else "new"


def what_next(path: LearningPath, mastery: dict[str, Mastery], studied) -> Suggestion | None:
    """The first topic in the suggested order that is not mastered and whose prerequisites
    all are (the path is in prerequisite order, so the first unmastered topic qualifies),
    with the reason in one sentence. None when every topic is mastered."""
    for topic in path.topics.values():
        m = mastery.get(topic.source_id, Mastery())
        if m.mastered:
            continue
        titles = [path.topics[p].title for p in topic.prerequisites]
        where = path.step_title(topic)
        if m.answers:
            why = f"your quiz results ({m.summary()}) do not show mastery yet: try its quiz again"
        elif titles:
            why = f"you have mastered what it builds on ({', '.join(titles)})"
        else:
            why = "it builds on nothing you have not mastered"
        if topic.source_id in studied and not m.answers:
            why += "; you have read it, so take its quiz to mark it mastered"
        return Suggestion(topic, f"{topic.title} is next in {where}: {why}.")
    return None


@dataclass
class LearnerProgress:
    studied: dict[str, str]  # note id -> title
    mastery: dict[str, Mastery]  # by note id
    status: dict[str, str]  # topic id -> mastered, studied, next or new
    suggestion: Suggestion | None


def learner_progress(path: LearningPath, store, learner: str) -> LearnerProgress:
    """One learner's standing on the path, from their progress store."""
    studied = store.studied(learner)
    mastery = mastery_by_topic(store.quiz_results(learner), store.known(learner))
    status = {t.id: status_of(t, mastery, studied) for t in path.topics.values()}
    suggestion = what_next(path, mastery, studied)
    if suggestion:
        status[suggestion.topic.id] = "next"
    return LearnerProgress(studied, mastery, status, suggestion)
