"""Judges decide whether a passage supports a claim. One small interface, two kinds:

- LexicalJudge: deterministic and offline (content-word coverage plus number, negation and
  absolute-word agreement). Always available; the default.
- LLMJudge: asks a chat model (the local llama.cpp model or any OpenAI-compatible server).

Neither is trusted blindly: `calibrate` measures each on our labelled pairs and reports
balanced accuracy; metrics from a judge below 0.75 are marked low confidence.
"""

from __future__ import annotations

import re
from typing import Protocol

from tutor.cite import content_words
from tutor.evals.metrics import balanced_accuracy
from tutor.llm.base import LLMBackend

LOW_CONFIDENCE_BELOW = 0.75


class Judge(Protocol):
    name: str

    def entails(self, premise: str, claim: str) -> bool: ...


def _stem(word: str) -> str:
    for suffix, repl in (("ies", "y"), ("ing", ""), ("ed", ""), ("es", ""), ("s", ""), ("ly", "")):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)] + repl
    return word


def _terms(text: str) -> set[str]:
    return {_stem(w) for w in content_words(text)}


_NUMBER = re.compile(r"\d+(?:[.,]\d+)?")
_NEGATION = re.compile(
    r"\b(?:not|no|never|cannot|can't|without|neither|nor|isn't|doesn't|don't|aren't|won't|"
    r"didn't|wasn't|weren't|unable)\b",
    re.I,
)
_ABSOLUTE = re.compile(r"\b(?:always|never|every|all|only|guarantee[sd]?|impossible)\b", re.I)
_SENTENCES = re.compile(r"(?<=[.!?])\s+")


class LexicalJudge:
    """Supported when most of the claim's content words occur in the premise, every number
    in the claim occurs there too, and the best-matching stretch of the premise agrees on
    negation and on absolute words ('always', 'only')."""

    name = "lexical"

    def __init__(self, min_coverage: float = 0.6):
        self.min_coverage = min_coverage

    def entails(self, premise: str, claim: str) -> bool:
        claim_terms = _terms(claim)
        if not claim_terms:
            return False
        premise_terms = _terms(premise)
        if len(claim_terms & premise_terms) / len(claim_terms) < self.min_coverage:
            return False
        premise_numbers = set(_NUMBER.findall(premise))
        if any(n not in premise_numbers for n in _NUMBER.findall(claim)):
            return False
        window = self._best_window(premise, claim_terms)
        if bool(_NEGATION.search(claim)) != bool(_NEGATION.search(window)):
            return False
        absolutes = {w.lower() for w in _ABSOLUTE.findall(claim)}
        return absolutes <= {w.lower() for w in _ABSOLUTE.findall(premise)}

    @staticmethod
    def _best_window(premise: str, claim_terms: set[str], size: int = 1) -> str:
        sentences = _SENTENCES.split(premise) or [premise]
        windows = [
            " ".join(sentences[i : i + size]) for i in range(max(1, len(sentences) - size + 1))
        ]
        return max(windows, key=lambda w: len(_terms(w) & claim_terms))


JUDGE_SYSTEM = (
    "You check facts. Given a passage and a claim, decide whether the passage supports every "
    "part of the claim (stated or directly implied). Reply with one word: yes or no."
)
JUDGE_USER = "Passage:\n{premise}\n\nClaim: {claim}\n\nDoes the passage support the claim?"


class LLMJudge:
    """Asks a chat model for a yes/no verdict; verdicts are cached for the run."""

    def __init__(self, llm: LLMBackend, max_premise_chars: int = 6000):
        self.llm = llm
        self.name = f"llm:{llm.model_id}"
        self.max_premise_chars = max_premise_chars
        self._cache: dict[tuple[str, str], bool] = {}

    def entails(self, premise: str, claim: str) -> bool:
        key = (premise, claim)
        if key not in self._cache:
            reply = self.llm.chat(
                [
                    {"role": "system", "content": JUDGE_SYSTEM},
                    {
                        "role": "user",
                        "content": JUDGE_USER.format(
                            premise=premise[: self.max_premise_chars], claim=claim
                        ),
                    },
                ],
                max_tokens=3,
                temperature=0.0,
            )
            self._cache[key] = reply.strip().lower().startswith("yes")
        return self._cache[key]


def calibrate(judge: Judge, pairs: list[dict], progress=None) -> dict:
    """Balanced accuracy of `judge` on labelled (claim, passage, supported) pairs."""
    labels, predictions, wrong = [], [], []
    for i, pair in enumerate(pairs, 1):
        verdict = judge.entails(pair["passage"], pair["claim"])
        labels.append(bool(pair["supported"]))
        predictions.append(verdict)
        if verdict != bool(pair["supported"]):
            wrong.append(pair["id"])
        if progress:
            progress(i, len(pairs))
    accuracy = balanced_accuracy(labels, predictions)
    return {
        "judge": judge.name,
        "pairs": len(pairs),
        "balanced_accuracy": accuracy,
        "accuracy": sum(a == b for a, b in zip(labels, predictions, strict=True)) / len(pairs)
        if pairs
        else None,
        "low_confidence": accuracy is None or accuracy < LOW_CONFIDENCE_BELOW,
        "wrong": wrong,
    }
