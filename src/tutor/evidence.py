"""Evidence selection: the few sentences of the retrieved passages that bear on the question,
under a token budget, instead of whole passages.

On 2 CPU cores reading the prompt is most of an answer's time (about 75 prompt tokens a
second), and a small model is easily led astray by the irrelevant half of a passage. So the
candidates' sentences are scored against the question (embedding similarity fused with a
keyword score, plus the passage's own retrieval rank), low-value text (exercises, reference
lists, link lists, code) is pushed down, and the best sentences are kept until the budget is
spent. Each kept sentence pulls in the one before it when it opens with a reference word
("This", "It", ...), and a kept list item the line that introduces its list ("Topics:"), so
an excerpt still makes sense on its own. The kept sentences of one
passage form one excerpt (adjacent ones merged into one span, gaps shown as [...]), and the
excerpt keeps its character spans in the passage, so a citation points at the exact text
the model read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from tutor.retrieve import Hit

# Sentence ends: after . ! ? : followed by space and a capital/digit/quote/bracket, at blank
# lines, and before list items, so bullet lists split into their items.
_LIST_MARKER = r"(?:[-*+]|\d+[.)])"  # "- ", "* ", "1. ", "2) "
_SENTENCE_END = re.compile(
    r"(?<=[.!?:])\s+(?=[A-Z0-9\"'(\[`*])|\n\s*\n|\n(?=\s*" + _LIST_MARKER + r"\s)"
)
_WORD = re.compile(r"[a-z0-9]+")
_REFERS_BACK = re.compile(
    r"^(?:this|that|these|those|it|its|they|their|them|such|here|there|however|thus|"
    r"therefore|hence|so|then|also|instead|similarly|in this|in that|as a result)\b",
    re.IGNORECASE,
)
_BARE_MARKER = re.compile(_LIST_MARKER)
_LIST_ITEM = re.compile(_LIST_MARKER + r"\s")
_LOW_VALUE_HEADING = re.compile(
    r"\b(exercises?|references|bibliography|further reading|resources|discussions?|"
    r"see also|acknowledg\w*|table of contents|navigation)\b",
    re.IGNORECASE,
)
_LINK = re.compile(r"\[[^\]]*\]\([^)]*\)|https?://\S+")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "can",
        "do",
        "does",
        "for",
        "from",
        "has",
        "have",
        "how",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "their",
        "this",
        "to",
        "was",
        "what",
        "when",
        "where",
        "which",
        "who",
        "why",
        "will",
        "with",
        "you",
        "your",
    ]
)


GAP = " [...] "  # between non-adjacent spans of one passage


@dataclass
class Excerpt:
    """The chosen sentences of one retrieved passage, given to the model as one numbered
    passage. `spans` are (start, end) character offsets in `hit.chunk.text`, in order."""

    hit: Hit
    spans: list[tuple[int, int]]
    score: float  # the best score of its sentences

    @property
    def text(self) -> str:
        return GAP.join(self.hit.chunk.text[s:e].strip() for s, e in self.spans)

    def to_dict(self) -> dict:
        """The passage as the model read it, with where it lies in its chunk."""
        return self.hit.to_dict() | {"text": self.text, "spans": [list(s) for s in self.spans]}


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Character spans of the sentences (and list items and heading lines) of `text`,
    without surrounding whitespace."""
    spans, start = [], 0
    for match in _SENTENCE_END.finditer(text):
        spans.append((start, match.start()))
        start = match.end()
    spans.append((start, len(text)))
    out = []
    for s, e in spans:
        while s < e and text[s].isspace():
            s += 1
        while e > s and text[e - 1].isspace():
            e -= 1
        # A heading line is a unit of its own, never the start of the sentence below it.
        newline = text.find("\n", s, e)
        if text.startswith("#", s) and newline != -1:
            out.append((s, newline))
            s = newline + 1
            while s < e and text[s].isspace():
                s += 1
        if e - s > 0:
            out.append((s, e))
    # "1. Explain ..." splits after "1." (a full stop before a capital): join a bare list
    # marker to the text it numbers.
    joined: list[tuple[int, int]] = []
    for s, e in out:
        if joined and _BARE_MARKER.fullmatch(text[joined[-1][0] : joined[-1][1]]):
            joined[-1] = (joined[-1][0], e)
        else:
            joined.append((s, e))
    return joined


def _words(text: str) -> list[str]:
    return [w for w in _WORD.findall(text.lower()) if w not in _STOP]


def low_value(hit: Hit, sentence: str) -> bool:
    """Text that is rarely the answer: exercises, reference and link lists, code, headings."""
    if any(_LOW_VALUE_HEADING.search(h) for h in hit.chunk.heading_path[-2:]):
        return True
    stripped = sentence.strip()
    if stripped.startswith(("#", "|", ">>>", "$ ", "Image Source", "Figure", "Fig.")):
        return True
    if "```" in stripped or stripped.endswith(":"):
        return True  # code, or a line that introduces a figure, list or code block
    words = _WORD.findall(stripped.lower())
    if len(words) < 4:
        return True
    linked = sum(len(m) for m in _LINK.findall(stripped))
    letters = sum(c.isalpha() or c.isspace() for c in stripped)
    # Mostly links, or mostly symbols (formulas, tables): rarely the answer on its own.
    return linked > 0.5 * len(stripped) or letters < 0.7 * len(stripped)


def keyword_scores(query: str, sentences: Sequence[str]) -> list[float]:
    """BM25 (k1=1.2, b=0.75) of each sentence for the query's words, with document
    frequencies over these candidate sentences."""
    docs = [_words(s) for s in sentences]
    if not docs:
        return []
    avg = sum(map(len, docs)) / len(docs) or 1.0
    df: dict[str, int] = {}
    for doc in docs:
        for w in set(doc):
            df[w] = df.get(w, 0) + 1
    n = len(docs)
    scores = []
    for doc in docs:
        counts: dict[str, int] = {}
        for w in doc:
            counts[w] = counts.get(w, 0) + 1
        score = 0.0
        for w in set(_words(query)):
            tf = counts.get(w, 0)
            if not tf:
                continue
            idf = math.log(1 + (n - df[w] + 0.5) / (df[w] + 0.5))
            score += idf * tf * 2.2 / (tf + 1.2 * (0.25 + 0.75 * len(doc) / avg))
        scores.append(score)
    return scores


def _ranks(values: Sequence[float]) -> list[int]:
    order = sorted(range(len(values)), key=lambda i: -values[i])
    ranks = [0] * len(values)
    for r, i in enumerate(order, 1):
        ranks[i] = r
    return ranks


def context_before(
    units: Sequence[tuple[int, int, int]], texts: Sequence[str], i: int
) -> list[int]:
    """The units a chosen sentence needs before it to make sense on its own, from its own
    passage: the sentence it refers back to ("This ...", "It ..."), or, for a list item, the
    line that introduces its list ("Topics:"), so an item is never read as a bare claim."""
    passage = units[i][0]
    text = texts[i].lstrip()
    follows_in_passage = i > 0 and units[i - 1][0] == passage
    if follows_in_passage and (
        _REFERS_BACK.match(text.lstrip("*- ")) or texts[i - 1].rstrip().endswith(":")
    ):
        return [i - 1]  # "This ...", or the text after "Topics:" on the same line
    if not _LIST_ITEM.match(text):
        return []
    j = i - 1
    while j >= 0 and units[j][0] == passage and i - j <= 12:
        before = texts[j].strip()
        if before.endswith(":"):
            return [j]
        if not _LIST_ITEM.match(before):
            return []  # the list follows a plain sentence: nothing introduces it
        j -= 1
    return []


def select_evidence(
    query: str,
    hits: Sequence[Hit],
    embed: Callable[[list[str]], np.ndarray],
    query_vector: np.ndarray,
    budget_tokens: int,
    count_tokens: Callable[[str], int],
    max_excerpts: int = 4,
    rrf_k: int = 20,
) -> list[Excerpt]:
    """The best sentences of `hits` for `query`, merged into at most `max_excerpts` excerpts
    whose text fits `budget_tokens`, in the order of `hits`."""
    units: list[tuple[int, int, int]] = []  # (hit index, start, end)
    for h, hit in enumerate(hits):
        units += [(h, s, e) for s, e in sentence_spans(hit.chunk.text)]
    if not units:
        return []
    texts = [hits[h].chunk.text[s:e] for h, s, e in units]
    vectors = embed(texts)
    dense = [float(v @ query_vector) for v in vectors]
    lexical = keyword_scores(query, texts)
    dense_rank, lexical_rank = _ranks(dense), _ranks(lexical)
    scores = []
    for i, (h, _, _) in enumerate(units):
        # Reciprocal rank fusion of the two sentence rankings, plus the passage's own rank
        # (a sentence of the best passage is more likely the answer than its twin elsewhere).
        score = 1 / (rrf_k + dense_rank[i]) + 1 / (rrf_k + lexical_rank[i]) + 1 / (rrf_k + h + 1)
        if low_value(hits[h], texts[i]):
            score *= 0.3
        scores.append(score)

    chosen: set[int] = set()
    spent = 0
    seen_words: list[set[str]] = []
    for i in sorted(range(len(units)), key=lambda i: -scores[i]):
        if sum(c.isalpha() for c in texts[i]) < 3:
            continue  # a rule ("---"), a bare number or symbol: nothing to read
        words = set(_words(texts[i]))
        if any(words and len(words & other) / len(words) > 0.8 for other in seen_words):
            continue  # near-duplicate of a sentence already chosen
        group = context_before(units, texts, i) + [i]
        new = [j for j in group if j not in chosen]
        cost = sum(count_tokens(texts[j]) for j in new)
        if spent + cost > budget_tokens and spent:
            continue  # a shorter sentence further down may still fit (the best one is always
            # kept, even when alone it is over the budget)
        passages = {units[j][0] for j in chosen | set(new)}
        if len(passages) > max_excerpts:
            continue
        chosen.update(new)
        spent += cost
        seen_words.append(words)
        if spent >= budget_tokens:
            break

    # One excerpt per passage; adjacent chosen sentences merge into one span.
    by_hit: dict[int, Excerpt] = {}
    for i in sorted(chosen, key=lambda i: (units[i][0], units[i][1])):
        h, s, e = units[i]
        excerpt = by_hit.get(h)
        if excerpt is None:
            by_hit[h] = Excerpt(hits[h], [(s, e)], scores[i])
        elif i - 1 in chosen and units[i - 1][0] == h:
            excerpt.spans[-1] = (excerpt.spans[-1][0], e)
            excerpt.score = max(excerpt.score, scores[i])
        else:
            excerpt.spans.append((s, e))
            excerpt.score = max(excerpt.score, scores[i])
    # In retrieval's order, as whole passages are given: the passage ranked first on its whole
    # text leads (ordering by the best single sentence let a passage with one lucky sentence
    # lead, and the model answers from what it reads first).
    return [by_hit[h] for h in sorted(by_hit)]
