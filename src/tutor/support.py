"""Per-sentence support: for every sentence of an answer, the sentence of the passages the
model read that backs it best, how closely, and which passage numbers it may cite.

The score is the embedder's cosine between the answer sentence (markers stripped) and its
best-matching passage sentence. On the tutor's own answer sentences, hand-labelled against
the passages they cite (evals/datasets/judge_calibration.jsonl, origin "answer"), that one
number separates supported from unsupported sentences well: the threshold in the settings
(`support_min_similarity`) was chosen on the tuning half and scores 0.84 balanced accuracy
on the test half (evals/tools/calibrate_support.py; evals/results/support.json). It is much
weaker on pairs written to be near misses (a changed number in a copied sentence), which is
why the eval judges answers with its own judge, not with this.

A sentence keeps the markers the model wrote when one of those passages backs it; when none
does but another passage does, that passage is cited instead; when no passage does, the
sentence is marked unsupported (the UI shows it, and the API says so), not silently cited.
Questions (a hint's guiding question) and fragments are not claims and get no verdict.
`cite_each_sentence` then writes this into the answer: every backed sentence ends with its
own backer's marker (a small model's one marker after a paragraph leaves the rest uncited),
and an explanation's sentences with nothing near them in the passages are taken out. On the
answerable questions of the 2026-12-07 run of record, re-rendered
(evals/results/sentence_citing.json): citation recall 0.22 -> 0.45, precision 0.48 -> 0.59,
with key-fact recall and declines unchanged.

Its `level` says how sure that is, in three steps the UI shows as badges: "backed" (at or
above the threshold), "loose" (a passage sentence is near but not close: about one backed
sentence in five lands here, as does most of what is unbacked), and "not_found" (below
`support_weak_similarity`, chosen so that 97 % of the tuning half's backed sentences stay
above it; on the test half no backed sentence fell below it, and a third of the unbacked
ones did).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field

import numpy as np

from tutor.evidence import Excerpt, sentence_spans

_MARKERS = re.compile(r"\s*\[(\d+)\]")
# A sentence ends at its stop and the markers after it, also at the end of the text.
_ANSWER_SENTENCE_END = re.compile(r"(?<=[.!?])(?:\s*\[\d+\])*[.!?]?(?:\s+(?=\S)|\s*$)|\n+")
_WORD = re.compile(r"[A-Za-z]{2,}")
# A displayed formula ($$ ... $$ or \[ ... \]) is one unit, shown as written: split at its
# line breaks it became claims of LaTeX words, got a marker inside the formula (which then
# no longer renders), or was taken out and left an empty $$ $$ behind.
_DISPLAY_MATH = re.compile(r"\$\$.+?\$\$|\\\[.+?\\\]", re.S)


def without_markers(sentence: str) -> str:
    """The sentence without its [n] citation markers."""
    return _MARKERS.sub("", sentence).strip()


@dataclass
class SentenceSupport:
    text: str  # the sentence as the answer shows it, markers included
    citations: list[int]  # passage numbers that back it (verified, or moved to the backer)
    support: float | None  # cosine with the best passage sentence; None: not a claim
    supported: bool | None  # support >= the calibrated threshold; None: not a claim
    level: str | None = None  # "backed", "loose" or "not_found"; None: not a claim
    quote: str | None = None  # the passage sentence that backs it best
    passage: int | None = None  # ...its passage number
    span: tuple[int, int] | None = None  # ...and its offsets in that chunk's text
    moved: bool = False  # the model's own markers did not back it; citations were moved
    withheld: bool = False  # not shown: no passage sentence backs it (see `cite_each_sentence`)

    def to_dict(self) -> dict:
        return {
            "text": self.text,
            "citations": self.citations,
            "support": None if self.support is None else round(self.support, 4),
            "supported": self.supported,
            "level": self.level,
            "quote": self.quote,
            "passage": self.passage,
            "span": list(self.span) if self.span else None,
            "moved": self.moved,
            "withheld": self.withheld,
        }


def answer_sentences(text: str) -> list[str]:
    """The sentences of an answer, each with the markers that close it.

    >>> answer_sentences("GANs have two nets [1]. The generator fakes [2][3]. Why?")
    ['GANs have two nets [1].', 'The generator fakes [2][3].', 'Why?']
    >>> answer_sentences("A marker after the stop. [1] Next one. [2]")
    ['A marker after the stop. [1]', 'Next one. [2]']
    """
    out, start = [], 0
    for formula in _DISPLAY_MATH.finditer(text):
        out += _prose_sentences(text[start : formula.start()])
        out.append(formula.group(0))
        start = formula.end()
    return out + _prose_sentences(text[start:])


def _prose_sentences(text: str) -> list[str]:
    out, start = [], 0
    for match in _ANSWER_SENTENCE_END.finditer(text):
        # The closing markers belong to the sentence they follow.
        end = match.end() - len(match.group(0)) + len(match.group(0).rstrip())
        out.append(text[start:end].strip())
        start = match.end()
    out.append(text[start:].strip())
    return [s for s in out if s]


def is_claim(sentence: str) -> bool:
    plain = without_markers(sentence)
    if _DISPLAY_MATH.fullmatch(plain):
        return False  # a formula is shown, not claimed; the sentences around it say what it is
    return not plain.endswith("?") and len(_WORD.findall(plain)) >= 4


@dataclass
class _PassageSentences:
    numbers: list[int] = field(default_factory=list)
    spans: list[tuple[int, int]] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)


def _passage_sentences(passages: Sequence[Excerpt]) -> _PassageSentences:
    found = _PassageSentences()
    for number, excerpt in enumerate(passages, 1):
        chunk_text = excerpt.hit.chunk.text
        for start, end in excerpt.spans:
            for s, e in sentence_spans(chunk_text[start:end]):
                found.numbers.append(number)
                found.spans.append((start + s, start + e))
                found.texts.append(chunk_text[start + s : start + e])
    return found


def sentence_support(
    text: str,
    passages: Sequence[Excerpt],
    embed: Callable[[list[str]], np.ndarray],
    min_similarity: float,
    weak_similarity: float = 0.0,
) -> list[SentenceSupport]:
    """Each sentence of `text` with the passage sentence that backs it best. `embed` returns
    normalised rows (the retriever's embedder)."""
    sentences = answer_sentences(text)
    claims = [i for i, s in enumerate(sentences) if is_claim(s)]
    source = _passage_sentences(passages)
    out = [SentenceSupport(s, _cited(s, len(passages)), None, None) for s in sentences]
    if not claims or not source.texts:
        return out
    vectors = embed([without_markers(sentences[i]) for i in claims] + source.texts)
    similarity = vectors[: len(claims)] @ vectors[len(claims) :].T
    numbers = np.array(source.numbers)
    for row, i in enumerate(claims):
        item = out[i]
        scores = similarity[row]
        own = np.isin(numbers, item.citations)
        # The model's own marker wins when its passage backs the sentence.
        if own.any() and scores[own].max() >= min_similarity:
            best = int(np.flatnonzero(own)[scores[own].argmax()])
        else:
            best = int(scores.argmax())
        item.support = float(scores[best])
        item.supported = item.support >= min_similarity
        item.level = (
            "backed"
            if item.supported
            else "loose"
            if item.support >= weak_similarity
            else "not_found"
        )
        if item.supported:
            item.quote = source.texts[best]
            item.passage = int(numbers[best])
            item.span = source.spans[best]
            if item.passage not in item.citations:
                item.citations, item.moved = [item.passage], True
    return out


def _cited(sentence: str, count: int) -> list[int]:
    numbers = [int(n) for n in _MARKERS.findall(sentence)]
    return list(dict.fromkeys(n for n in numbers if 1 <= n <= count))


# What each `support_withhold` setting takes out of an explanation. "unbacked_if_backed"
# takes out loose sentences too, but only from an answer that keeps a backed one: never
# decline an answer for sentences that are near their passages.
WITHHELD_LEVELS: dict[str, tuple[str, ...]] = {
    "none": (),
    "not_found": ("not_found",),
    "unbacked": ("loose", "not_found"),
    "unbacked_if_backed": ("loose", "not_found"),
}


def withheld_levels(setting: str, sentences: Sequence[SentenceSupport]) -> tuple[str, ...]:
    """The support levels to take out of this answer under `setting`.

    >>> loose = SentenceSupport("GANs pit two nets.", [1], 0.6, False, "loose")
    >>> withheld_levels("unbacked_if_backed", [loose])
    ('not_found',)
    """
    if setting == "unbacked_if_backed" and not any(s.level == "backed" for s in sentences):
        return WITHHELD_LEVELS["not_found"]
    return WITHHELD_LEVELS[setting]


# A claim whose markers follow a verb or an article with nothing between put a marker where
# its answer should be ("The phase that covers GANs is [1]."): the 1.5B model does this in
# one or two answers per eval run, and it says nothing a learner can read. Prepositions are
# not in the list: English strands them ("the data GANs rely on [2].").
_DANGLING = re.compile(
    r"\b(?:is|are|was|were|be|been|the|a|an|called|named)(?:\s*\[\d+\])+\s*[.!?;]?\s*$", re.I
)


def is_dangling(sentence: str) -> bool:
    """A claim whose markers stand where its answer should be.

    >>> is_dangling("The phase that covers GANs is [1]."), is_dangling("GANs rely on [1].")
    (True, False)
    """
    return is_claim(sentence) and bool(_DANGLING.search(sentence))


_END = re.compile(r"([.!?:;]*)$")
_EMPTY_ITEM = re.compile(r"^[ \t]*(?:[-*+]|\d+[.)])[ \t]*$\n?", re.M)


def _with_markers(sentence: str, numbers: Sequence[int]) -> str:
    """The sentence with its markers replaced by `numbers`, placed before its full stop.

    >>> _with_markers("GANs have two nets. [3]", [1, 2])
    'GANs have two nets [1][2].'
    """
    plain = _MARKERS.sub("", sentence).rstrip()
    body, end = _END.split(plain, maxsplit=1)[0], _END.search(plain).group(1)
    return f"{body.rstrip()} {''.join(f'[{n}]' for n in numbers)}{end}"


def cite_each_sentence(
    text: str, sentences: Sequence[SentenceSupport], withhold: Collection[str] = ()
) -> str:
    """The answer with each backed sentence carrying the markers of the passage that backs
    it, and the claims whose support level is in `withhold` taken out (marked `withheld`).

    A small model writes one marker after a paragraph, so a learner cannot tell which
    sentence it backs, and a reader checking each sentence finds most of them uncited. The
    per-sentence check has already found each sentence's backer; this writes it into the
    text. Sentences that are not claims, and claims not withheld, keep what the model wrote.
    Each `SentenceSupport.text` is updated to the sentence as shown. Layout (line breaks,
    lists) is kept; a list item left empty goes. A dangling claim (`is_dangling`) is taken
    out too when another claim stays: alone, it is left as written rather than declined, so
    its marker still leads to the passage.

    >>> s = [SentenceSupport("GANs pit two nets.", [2], 0.9, True, "backed"),
    ...      SentenceSupport("They were invented on Mars [1].", [1], 0.3, False, "not_found")]
    >>> cite_each_sentence("GANs pit two nets. They were invented on Mars [1].", s, {"not_found"})
    'GANs pit two nets [2].'
    >>> s[1].withheld
    True
    """
    claims = [s for s in sentences if s.level is not None and s.level not in withhold]
    dangling = {id(s) for s in claims if is_dangling(s.text)}
    if len(dangling) == len(claims):
        dangling = set()
    out, cursor = [], 0
    for item in sentences:
        at = text.find(item.text, cursor)
        if at == -1:  # not where the split said; leave this one as written
            continue
        out.append(text[cursor:at])
        cursor = at + len(item.text)
        if (item.level is not None and item.level in withhold) or id(item) in dangling:
            item.withheld = True
            while cursor < len(text) and text[cursor] in " \t":
                cursor += 1
            continue
        if item.supported and item.citations:
            item.text = _with_markers(item.text, item.citations)
        out.append(item.text)
    out.append(text[cursor:])
    shown = _EMPTY_ITEM.sub("", "".join(out))
    return re.sub(r"\n{3,}", "\n\n", shown).strip()
