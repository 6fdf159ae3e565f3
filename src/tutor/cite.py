"""Citation handling after generation: parse [n] markers, drop the ones that point nowhere,
attribute uncited sentences, and recognise an abstention."""

from __future__ import annotations

import re
from dataclasses import dataclass

from tutor.prompts import ABSTAIN_SENTENCE

# [2], [2, 3], [[2]], [Source 2], [passage 2; 3]
_MARKER = re.compile(
    r"\s?\[+\s*((?:(?:source|passage|doc(?:ument)?)\s*)?\d+"
    r"(?:\s*[,;]\s*(?:(?:source|passage|doc(?:ument)?)\s*)?\d+)*)\s*\]+",
    re.I,
)
_NUMBER = re.compile(r"\d+")


@dataclass
class ParsedCitations:
    text: str  # markers normalised to [n]; markers to missing sources removed
    numbers: list[int]  # valid source numbers in order of first use
    dropped: list[int]  # numbers that pointed at no source


def parse_citations(text: str, source_count: int) -> ParsedCitations:
    """Normalise citation markers and keep only those naming a real source (1..source_count).

    >>> p = parse_citations("GANs have two nets [1][12]. See [[2]] and [a].", 5)
    >>> p.text, p.numbers, p.dropped
    ('GANs have two nets [1]. See [2] and [a].', [1, 2], [12])
    """
    numbers: list[int] = []
    dropped: list[int] = []

    def replace(match: re.Match) -> str:
        valid = []
        for n in (int(x) for x in _NUMBER.findall(match.group(1))):
            if 1 <= n <= source_count:
                if n not in valid:
                    valid.append(n)
                if n not in numbers:
                    numbers.append(n)
            elif n not in dropped:
                dropped.append(n)
        if not valid:
            return ""
        lead = " " if match.group(0)[0].isspace() else ""
        return lead + "".join(f"[{n}]" for n in valid)

    cleaned = _MARKER.sub(replace, text)
    cleaned = re.sub(r"(\[\d+\])\s+(?=[.,;:!?])", r"\1", cleaned)
    return ParsedCitations(cleaned, numbers, dropped)


_WORD = re.compile(r"[a-z0-9]+")
_STOP = set(
    [
        "a",
        "an",
        "the",
        "and",
        "or",
        "but",
        "if",
        "of",
        "to",
        "in",
        "on",
        "for",
        "with",
        "by",
        "from",
        "as",
        "at",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "there",
        "their",
        "they",
        "them",
        "you",
        "your",
        "we",
        "our",
        "i",
        "he",
        "she",
        "his",
        "her",
        "not",
        "no",
        "can",
        "could",
        "would",
        "should",
        "will",
        "may",
        "might",
        "must",
        "do",
        "does",
        "did",
        "done",
        "so",
        "such",
        "than",
        "then",
        "also",
        "which",
        "who",
        "what",
        "when",
        "where",
        "why",
        "how",
        "into",
        "over",
        "under",
        "about",
        "more",
        "most",
        "very",
        "just",
        "only",
        "each",
        "other",
        "some",
        "any",
        "all",
        "one",
        "two",
        "use",
        "used",
        "using",
    ]
)


def content_words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOP and len(w) > 2}


_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(`*-])")


def attribute_sentences(text: str, passages: list[str], min_overlap: float = 0.5) -> str:
    """Add a marker to each uncited sentence whose content words mostly occur in one passage.

    Small models often explain correctly from the passages but forget the markers; this
    restores the link for sentences the passages clearly support, and leaves the rest alone.
    """
    vocab = [content_words(p) for p in passages]
    out = []
    for sentence in _SENTENCE_END.split(text):
        words = content_words(sentence)
        if len(words) >= 3 and not _MARKER.search(sentence):
            overlaps = [len(words & v) / len(words) for v in vocab]
            best = max(range(len(vocab)), key=lambda i: overlaps[i], default=None)
            if best is not None and overlaps[best] >= min_overlap:
                stripped = sentence.rstrip()
                trail = sentence[len(stripped) :]
                if stripped and stripped[-1] in ".!?":
                    sentence = f"{stripped[:-1]} [{best + 1}]{stripped[-1]}{trail}"
                else:
                    sentence = f"{stripped} [{best + 1}]{trail}"
        out.append(sentence)
    return " ".join(out)


_ABSTAIN_PATTERNS = [
    re.compile(p, re.I)
    for p in (
        r"can'?t find (this|that|the answer|it|any information)[^.]{0,40}(course )?materials",
        r"cannot find (this|that|the answer|it|any information)[^.]{0,40}(course )?materials",
        r"(passages|materials|sources) (do not|don't|does not|doesn't) "
        r"(contain|answer|mention|cover)",
        r"not (covered|mentioned|found) in the (passages|materials|sources|course)",
    )
]


def is_abstention(text: str) -> bool:
    """True when the model declined: its reply is (or opens with) a can't-find statement."""
    head = text.strip()[:200]
    if ABSTAIN_SENTENCE.lower().rstrip(".") in head.lower():
        return True
    return any(p.search(head) for p in _ABSTAIN_PATTERNS) and len(text.strip()) < 400
