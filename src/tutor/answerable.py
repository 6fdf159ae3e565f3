"""Deciding whether to answer at all, before any answer text is written.

A cosine gate alone cannot tell a near miss ("How many parameters does Gemini 3 Ultra
have?") from a question the materials answer: with fifteen thousand passages indexed,
something on the topic is always similar enough. So the model is asked first, with the same
passages and question it will answer from, whether the question can be answered from them,
and its P(yes) (read from the first token's logits; no text is generated) is combined by a
logistic model, fitted on the eval's answerable and unanswerable questions
(evals/tools/calibrate_answer_gate.py), with the best passage's cosine and with how rare the
rarest name in the question is that no passage contains: a near miss usually names the one
thing the materials lack ("Gemini", "FFHQ", "sliding-window"). Only names count, not every
word: a learner's own wording ("scammers", "stealing") is often missing from passages that
do answer, and counting it declined more benign questions (measured, docs/evals.md). The
threshold is chosen on the tuning half so that at most 5 % of answerable questions are
declined, and the gate's figures on the held-out half are recorded with it. The check's
prompt opens with the answer prompt's passages and question, so llama.cpp reads them once
for both.

A question that asserts a premise ("Since GANs need labelled data, how ...?") is not put
to the gate: when its premise is false the passages rightly do not state it, the model says
"no", and declining would leave the learner with the false belief. Such a question is
answered, and the answer rules tell the model to correct a false premise.

A gate is fitted for one model and one kind of evidence (whole passages, or the sentences
selected within TUTOR_EVIDENCE_TOKENS): `load_gate` returns None when there is no such fit,
and then only the cosine gate applies. The two work as a cascade: a few selected sentences
are a quarter of the prompt of whole passages, but they sometimes lose the words a
question turns on, and on them the model's "yes" separates answerable from near-miss less
well (evals/results/answer_gate_sentences.json). So the sentences gate answers outright only
when it is sure (`AnswerGate.sure`); otherwise the model reads the whole passages and the
passages gate decides, at the cost of a second prompt for the doubtful questions only.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tutor import fitted, prompts
from tutor.evidence import Excerpt
from tutor.llm.base import Message, system_and_user
from tutor.terms import TermFrequencies, named_terms, terms

GATES_FILE = Path(__file__).with_name("answer_gates.json")
FEATURES = ("p_yes_logit", "dense_top", "missing_name_idf")


def missing_name_idf(question: str, passages: Sequence[Excerpt], freq: TermFrequencies) -> float:
    """The inverse document frequency of the rarest name in the question that none of the
    passages contains (0 when they contain every one)."""
    seen = set().union(*(terms(p.text) for p in passages)) if passages else set()
    return max((freq.idf(t) for t in named_terms(question) - seen), default=0.0)


@dataclass(frozen=True)
class AnswerGate:
    """P(answerable) = sigmoid(bias + sum of weight * feature); answer when >= threshold."""

    model_id: str
    weights: dict[str, float]
    bias: float
    threshold: float
    # What the model read when it was fitted: whole passages, or the selected sentences
    # (TUTOR_EVIDENCE_TOKENS > 0). Its P(yes) depends on it, so each gets its own fit.
    evidence: str = "passages"
    # For the sentences gate, when whole passages can be read instead (TUTOR_EVIDENCE_WIDEN):
    # at or above this the answer goes ahead on the sentences; below it the model reads the
    # whole passages and their own gate decides. Fitted so that the shortcut lets through
    # almost no question the passages' gate would decline (calibrate_answer_gate.py).
    sure: float | None = None
    # How it was fitted and how it did on the held-out half (for reports, not for deciding).
    calibration: dict = field(default_factory=dict, compare=False)

    def probability(self, features: dict[str, float]) -> float:
        z = self.bias + sum(w * features[name] for name, w in self.weights.items())
        return 1.0 / (1.0 + math.exp(-z))

    def answers(self, features: dict[str, float]) -> bool:
        return self.probability(features) >= self.threshold


def logit(p: float, eps: float = 1e-4) -> float:
    """
    >>> round(logit(0.5), 3), round(logit(1.0), 2)
    (0.0, 9.21)
    """
    p = min(max(p, eps), 1 - eps)
    return math.log(p / (1 - p))


_ASSERTS_PREMISE = re.compile(
    r"^\W*(?:since|given that|because|as|if)\b|,\s*so\b|\bso (?:why|how|what|can|should|is|"
    r"do|does|will)\b",
    re.IGNORECASE,
)


def asserts_premise(question: str) -> bool:
    """Whether the question states something as given before asking.

    >>> asserts_premise("Since GANs need labelled images, how are the labels collected?")
    True
    >>> asserts_premise("What does the discriminator in a GAN output?")
    False
    """
    return bool(_ASSERTS_PREMISE.search(question))


def check_messages(system: str, evidence: str, question: str) -> list[Message]:
    """The answerability question, asked under the answer's own system prompt."""
    user = prompts.ANSWERABLE_USER.format(passages=evidence, question=question)
    return system_and_user(system, user)


def gate_features(
    p_yes: float, passages: Sequence[Excerpt], question: str, freq: TermFrequencies
) -> dict[str, float]:
    return {
        "p_yes_logit": logit(p_yes),
        "dense_top": max((x.hit.dense_score for x in passages), default=0.0),
        "missing_name_idf": missing_name_idf(question, passages, freq),
    }


def load_gates(path: Path = GATES_FILE) -> list[AnswerGate]:
    return fitted.load_all(path, AnswerGate)


def evidence_kind(evidence_tokens: int) -> str:
    """What the model reads: "passages" (whole) or "sentences" (selected within a budget)."""
    return "sentences" if evidence_tokens else "passages"


def load_gate(
    model_id: str | None, evidence: str = "passages", path: Path = GATES_FILE
) -> AnswerGate | None:
    """The gate fitted for this model reading this kind of evidence, if there is one."""
    return fitted.load_for(model_id, path, AnswerGate, evidence=evidence)


def gates_digest(path: Path = GATES_FILE) -> str:
    """A digest of the fitted gates, so a refit invalidates cached answers."""
    return fitted.digest(path)


def save_gate(gate: AnswerGate, path: Path = GATES_FILE) -> None:
    """Add or replace the gate for gate.model_id and its evidence, keeping the others."""
    fitted.save(gate, path, "evidence")
