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


class StreamingCitationFilter:
    """Clean citation markers in streamed text as it arrives, so what a learner watches
    stream is what the final answer says: a marker is held back until its bracket closes,
    then normalised or dropped like `parse_citations` does.

    >>> f = StreamingCitationFilter(source_count=2)
    >>> "".join(f.feed(p) for p in ["GANs [", "1] and [", "9]. Done"]) + f.flush()
    'GANs [1] and. Done'
    """

    max_marker_chars = 40

    def __init__(self, source_count: int):
        self.source_count = source_count
        self.pending = ""

    def feed(self, piece: str) -> str:
        self.pending += piece
        hold = len(self.pending)
        open_at = self.pending.rfind("[")
        # Hold an unclosed marker, and a closed one until we know no "]" follows ("[[2]]").
        if open_at != -1 and ("]" not in self.pending[open_at:] or self.pending.endswith("]")):
            while open_at > 0 and self.pending[open_at - 1] == "[":
                open_at -= 1  # keep a run like "[[" together
            if len(self.pending) - open_at <= self.max_marker_chars:
                hold = open_at
        # Whitespace before a possible marker waits too: a dropped marker takes it along.
        while hold > 0 and self.pending[hold - 1].isspace():
            hold -= 1
        ready, self.pending = self.pending[:hold], self.pending[hold:]
        return parse_citations(ready, self.source_count).text if ready else ""

    def flush(self) -> str:
        ready, self.pending = self.pending, ""
        return parse_citations(ready, self.source_count).text


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


_CITED = re.compile(r"\[(\d+)\]")
_LEADING = re.compile(r"^((?:\[\d+\])+)\s*")


def move_leading_markers(text: str) -> str:
    """Small models often open with a marker ("[3] GANs are ..."); move it to the end of the
    first sentence, where citations belong.

    >>> move_leading_markers("[3] GANs pit two nets. They compete [1].")
    'GANs pit two nets [3]. They compete [1].'
    """
    match = _LEADING.match(text)
    if not match:
        return text
    rest = text[match.end() :]
    first = _SENTENCE_END.split(rest, maxsplit=1)
    head = first[0].rstrip()
    tail = rest[len(first[0]) :]
    if head and head[-1] in ".!?":
        return f"{head[:-1]} {match.group(1)}{head[-1]}{tail}"
    return f"{head} {match.group(1)}{tail}"


def repair_citations(
    text: str, passages: list[str], min_support: float = 0.6, margin: float = 0.3
) -> str:
    """Re-point a sentence's markers when another passage plainly supports it and the cited
    one does not.

    Small models copy a sentence from passage 1 and then write [2]. Support is the share of
    the sentence's content words found in a passage; a marker moves only when the best
    passage covers at least `min_support` of them and beats every cited one by `margin`.
    Expects markers already normalised by `parse_citations`.
    """
    vocab = [content_words(p) for p in passages]
    out = []
    for sentence in _SENTENCE_END.split(text):
        numbers = [int(n) for n in _CITED.findall(sentence) if 1 <= int(n) <= len(vocab)]
        words = content_words(_CITED.sub("", sentence))
        if numbers and len(words) >= 3:
            support = [len(words & v) / len(words) for v in vocab]
            best = max(range(len(vocab)), key=support.__getitem__)
            cited = max(support[n - 1] for n in numbers)
            if support[best] >= min_support and support[best] - cited >= margin:
                first = _CITED.search(sentence).start()
                head, tail = sentence[:first], _CITED.sub("", sentence[first:])
                sentence = f"{head}[{best + 1}]{tail}"
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
