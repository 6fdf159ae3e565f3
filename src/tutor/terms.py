"""Which words a text holds, which of them name something, and how rare each word is in the
index: the answerability gate weighs a name in the question that no retrieved passage
contains by its rarity."""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass

# Words as counted here: runs of letters and digits (any script, so "Fréchet" stays one
# word), joined inside by '-', '+' or '.' ("sliding-window", "gpt-4", "v1.5"), lower-cased,
# three characters or more.
_TERM = re.compile(r"[^\W_](?:[\w+.-]*[^\W_])?")


def terms(text: str) -> set[str]:
    """
    >>> sorted(terms("What FID did StyleGAN2 reach on FFHQ, with sliding-window attention?"))
    ['attention', 'did', 'ffhq', 'fid', 'reach', 'sliding-window', 'stylegan2', 'what', 'with']
    """
    return {t for t in _TERM.findall(text.lower()) if len(t) >= 3}


def named_terms(text: str) -> set[str]:
    """The words that name a particular thing: capitalised other than at the start of a
    sentence, written in capitals, or holding a digit or a hyphen ("Gemini", "FFHQ",
    "StyleGAN2", "sliding-window"). Lower-cased, like `terms`.

    >>> sorted(named_terms("How many parameters does Gemini 3 Ultra have? And GPT-4?"))
    ['gemini', 'gpt-4', 'ultra']
    >>> sorted(named_terms("How do scammers misuse voice cloning? Why is it weak?"))
    []
    """
    names = set()
    for match in _TERM.finditer(text):
        word = match.group()
        before = text[: match.start()].rstrip()
        starts_sentence = not before or before[-1] in ".?!:"
        if len(word) >= 3 and (
            (word[0].isupper() and not starts_sentence)
            or word.isupper()
            or any(c.isdigit() or c == "-" for c in word)
        ):
            names.add(word.lower())
    return names


@dataclass(frozen=True)
class TermFrequencies:
    """In how many of the index's passages each word occurs, for weighing a missing word
    by its rarity (inverse document frequency)."""

    passages: int
    counts: dict[str, int]

    @classmethod
    def of(cls, texts: Iterable[str]) -> TermFrequencies:
        counts: Counter[str] = Counter()
        n = 0
        for text in texts:
            counts.update(terms(text))
            n += 1
        return cls(n, dict(counts))

    def idf(self, term: str) -> float:
        return math.log((self.passages + 1) / (self.counts.get(term, 0) + 1))
