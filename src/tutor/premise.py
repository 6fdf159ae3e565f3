"""Checking what a question takes as given before answering from it.

"Since BERT is a decoder-only model, what prompt should I give it to write a story?" rests
on a claim the course materials contradict. Told only "correct a false premise" (rule 5 of
the answer prompt), the 1.5B model agreed with such claims and then cited them. So the
premise is cut out of the question in code, the model is asked whether the passages show it
is true (P(yes) from the logits of one short forward pass: the rules, the passages and the
question are already in llama.cpp's cache from the answerability check's prefix), and
below a threshold fitted on labelled true and false premises
(evals/tools/calibrate_premise_check.py) the answer is asked to say first that the premise
is not right, from the passages.

Only stated premises are cut out ("Since X, ...", "Given that X, ...", "X, so why ...",
"X, right?"). A plain "If X, ..." is a hypothetical, not a claim, and is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tutor import fitted, prompts
from tutor.llm.base import LLMBackend, Message, system_and_user

CHECKS_FILE = Path(__file__).with_name("premise_checks.json")

_QUESTION_WORDS = (
    r"(?:why|how|what|which|when|where|who|can|could|should|shall|is|are|was|were|do|does|did|"
    r"will|would|isn't|aren't|doesn't|don't)\b"
)
_LEADING = re.compile(r"^\W*(?:since|given that|because)\s+(?P<rest>.+)$", re.IGNORECASE | re.S)
# Where a leading premise ends: a comma, then the question ("..., how", "..., roughly how").
_ASKING = re.compile(r",\s*(?:\w+\s+)?" + _QUESTION_WORDS, re.IGNORECASE)
_CONFIRM = re.compile(r"^\W*(?P<premise>[^?]+?),?\s+(?:right|correct|isn't it)\s*\?", re.I)
_THEN_SO = re.compile(r"^\W*(?P<premise>[^?]+?),?\s+so\s+" + _QUESTION_WORDS, re.IGNORECASE)
_OPENER = re.compile(r"^(?:since|given that|because)\s+", re.IGNORECASE)
_ASKS = re.compile(r"(?:why|how|what|which|who|can|could|should|do|does|did)\b", re.I)
# "As a beginner, ..." is not a claim: a premise is a clause, so it needs a few words.
_MIN_WORDS = 4


def _candidates(question: str) -> Iterator[str]:
    """Possible premises, most likely first."""
    if leading := _LEADING.match(question):
        rest = leading.group("rest")
        # The first comma that opens the question; a comma inside the premise ("N(mu,
        # sigma)", "keys and values") is passed over.
        yield from (rest[: m.start()] for m in _ASKING.finditer(rest))
    for pattern in (_CONFIRM, _THEN_SO):
        if found := pattern.search(question):
            yield _OPENER.sub("", found.group("premise"))


def stated_premise(question: str) -> str | None:
    """The claim the question takes as given, as a sentence; None when it states none.

    >>> stated_premise("Since GANs need labelled images, how are the labels collected?")
    'GANs need labelled images.'
    >>> stated_premise("Since z ~ N(mu, sigma) is not differentiable, how does a VAE learn?")
    'Z ~ N(mu, sigma) is not differentiable.'
    >>> stated_premise("loss.backward() updates the weights, so why call optimizer.step()?")
    'loss.backward() updates the weights.'
    >>> stated_premise("If I train a perceptron long enough it learns XOR, right? How long?")
    'If I train a perceptron long enough it learns XOR.'
    >>> stated_premise("If a test flags 5% of healthy people, how likely am I to be sick?")
    >>> stated_premise("As a beginner, where should I start?")
    >>> stated_premise("What does dropout do, so why is it off at test time?")
    """
    for premise in _candidates(question.strip()):
        premise = premise.strip(" ,;:-")
        # "How does X work, so why ...?" states nothing.
        if len(premise.split()) >= _MIN_WORDS and not _ASKS.match(premise):
            first = premise.split()[0]
            if premise[0].islower() and not re.search(r"[._()\[\]]", first):
                premise = premise[0].upper() + premise[1:]  # not "nn.CrossEntropyLoss"
            return premise + "."
    return None


def correction_lead(statement: str) -> str:
    """The sentence, written in code, that opens an answer whose premise the passages do not
    back: the learner is told whatever the model then writes.

    >>> correction_lead("GANs need labelled images.")
    'The course materials do not back the idea that GANs need labelled images.'
    >>> correction_lead("Dropout is on at test time.")
    'The course materials do not back the idea that dropout is on at test time.'
    """
    claim = statement.rstrip(".")
    if len(claim) > 1 and claim[0].isupper() and claim[1].islower():
        claim = claim[0].lower() + claim[1:]
    return f"The course materials do not back the idea that {claim}."


@dataclass
class PremiseCheck:
    statement: str  # the premise as cut out of the question
    p_true: float  # the model's P(yes): the passages show the statement is true
    supported: bool  # p_true reached the fitted threshold

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class PremiseThreshold:
    """Below `threshold`, a stated premise is treated as not backed by the passages."""

    model_id: str
    threshold: float
    # How it was fitted and how it did on the held-out half (for reports, not for deciding).
    calibration: dict = field(default_factory=dict, compare=False)


def check_messages(system: str, evidence: str, question: str, premise: str) -> list[Message]:
    """The premise question, asked under the answer's own system prompt after the same
    passages and question, so only its last line is new to the model."""
    user = prompts.PREMISE_CHECK_USER.format(passages=evidence, question=question, premise=premise)
    return system_and_user(system, user)


def check_premise(
    llm: LLMBackend,
    system: str,
    evidence: str,
    question: str,
    premise: str,
    threshold: float,
    usage: dict[str, int] | None = None,
) -> PremiseCheck:
    messages = check_messages(system, evidence, question, premise)
    p_true = llm.yes_probability(messages)
    if usage is not None:
        usage["prompt_tokens"] += llm.count_prompt_tokens(messages)
    return PremiseCheck(premise, p_true, p_true >= threshold)


def load_thresholds(path: Path = CHECKS_FILE) -> list[PremiseThreshold]:
    return fitted.load_all(path, PremiseThreshold)


def load_threshold(model_id: str | None, path: Path = CHECKS_FILE) -> PremiseThreshold | None:
    """The threshold fitted for this model, if there is one (else premises go unchecked)."""
    return fitted.load_for(model_id, path, PremiseThreshold)


def save_threshold(threshold: PremiseThreshold, path: Path = CHECKS_FILE) -> None:
    """Add or replace the threshold for its model, keeping the other models'."""
    fitted.save(threshold, path)


def checks_digest(path: Path = CHECKS_FILE) -> str:
    """A digest of the fitted thresholds, so a refit invalidates cached answers."""
    return fitted.digest(path)
