"""Hint mode's guard: the answer is withheld in code, not only asked for in the prompt.

A 1.5B model told "never state the answer, even if asked" still names the option when a
learner insists ("just tell me which letter"). So in hint mode the draft is checked before
the learner sees any of it, and every sentence that gives the answer away is withheld:

- a multiple-choice question (options written as "A) ...", "(B) ...", "C. ..." or "D: ...")
  leaks through an option letter named as the answer ("(C)", "option C", "C is correct",
  "B and D"), a verdict on an option the learner proposed ("Yes", "Correct", "No, ..."),
  or a statement that restates an option's text;
- any question leaks through "the answer is ...".

What is left is kept, and when it no longer ends in a guiding question, the next hint step
is offered instead, so the learner always has something to do next. When nothing of the
draft is left (26 of 39 guarded drafts on 2026-12-05: a learner who demands the letter gets
a draft that is all answer), the model is asked once more, under stricter rules, and that
second draft is guarded the same way; only if it too is all answer does the learner get the
generic next step alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Set
from dataclasses import dataclass

from tutor import prompts
from tutor.choice import question_stem
from tutor.cite import content_words

# An option opens at the start of the text, a line or after whitespace: a capital letter A-F
# in brackets or followed by ")", "." or ":" and a space.
_OPTION = re.compile(r"(?:^|(?<=\s))\(?([A-F])(?:\)|\.|:|\s*\))\s+", re.MULTILINE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_LEADING_MARKERS = re.compile(r"^\s*(?:\[\d+\]\s*)+[.!?]?\s*")
_WORDS = re.compile(r"[A-Za-z]{2,}")
_LETTER = r"\(?([A-F])\)?"
_NAMES_A_LETTER = [
    re.compile(r"\(([A-F])\)"),
    re.compile(r"(?:^|\s)([A-F])\)"),
    re.compile(
        r"\b(?i:option|answer|choice|letter|pick|choose|select)s?\s*(?:is|=|:)?\s*" + _LETTER
    ),
    re.compile(
        _LETTER + r"\s+(?:is|are|would be|seems)\s+(?:the\s+)?(?i:correct|right|true|answer|best)"
    ),
    re.compile(r"\b([A-F])\s*(?:and|&|,)\s*([A-F])\b"),
    re.compile(r"^\W*([A-F])\W*$"),  # the letter alone
    re.compile(r"^\W*([A-F])[.):]"),  # "C. Converts ..." / "C) ..."
    re.compile(r"\b(?i:is|it's|its)\s+([B-F])\b"),  # "it's C" ("is A" reads as an article)
]
_VERDICT = re.compile(
    r"^\W*(?:yes|yep|no|nope|correct|incorrect|right|wrong|exactly|that's (?:right|correct|it))\b",
    re.IGNORECASE,
)
_STATES_ANSWER = re.compile(
    r"\b(?:the\s+)?(?:correct|right|final)\s+(?:answer|option|choice)s?\b|\bthe answer is\b",
    re.IGNORECASE,
)


@dataclass
class GuardedHint:
    text: str
    withheld: int  # sentences taken out of the draft(s)
    kept: int = 0  # sentences of the model's kept, when any were withheld
    retried: bool = False  # the first draft was all answer and the model was asked again


def parse_options(question: str) -> dict[str, str]:
    """The options of a multiple-choice question, by letter; {} when it has none.

    >>> parse_options("Which one? A) a GAN B) a VAE C) a diffusion model")
    {'A': 'a GAN', 'B': 'a VAE', 'C': 'a diffusion model'}
    >>> parse_options("What is a GAN?")
    {}
    """
    found = list(_OPTION.finditer(question))
    # Options run A, B, C, ... in order: the first such run of two or more. A capital letter
    # elsewhere ("My friend says it's A.") is not an option.
    marks: list[re.Match] = []
    for mark in found:
        if mark.group(1) == chr(ord("A") + len(marks)):
            marks.append(mark)
        elif len(marks) >= 2:
            break
        else:
            marks = [mark] if mark.group(1) == "A" else []
    if len(marks) < 2:
        return {}
    ends = [m.start() for m in found if m.start() > marks[-1].start()][:1]
    options = {}
    for mark, following in zip(marks, [*marks[1:], None], strict=True):
        end = following.start() if following else (ends[0] if ends else len(question))
        text = question[mark.end() : end]
        # An option written on its own line ends with the line; any option ends at a blank
        # line (what follows is the learner talking again: "Just tell me which one.").
        on_its_line = mark.start() == 0 or question[mark.start() - 1] == "\n"
        text = text.split("\n", 1)[0] if on_its_line else text.split("\n\n", 1)[0]
        options[mark.group(1)] = text.strip().rstrip(";,")
    return options


_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*")


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def _restates_option(sentence: str, options: dict[str, str], given: Set[str]) -> bool:
    words = content_words(sentence)
    stated = _numbers(sentence)
    for letter, text in options.items():
        # An option's own figures worked out ("recall = 40 / 60 = 0.667" for "About
        # 0.667"): figures the question gives or another option shares do not count.
        others = set().union(*(_numbers(o) for k, o in options.items() if k != letter))
        if (own := _numbers(text) - given - others) and own <= stated:
            return True
        option_words = content_words(text)
        if len(option_words) >= 2 and len(words & option_words) / len(option_words) >= 0.75:
            return True
        # A short option ("448", "ReLU") given as a statement is the answer itself.
        if len(option_words) < 2 and re.search(
            rf"(?<!\w){re.escape(text.strip())}(?!\w)", sentence, re.I
        ):
            return True
    return False


def leaks(sentence: str, options: dict[str, str], given: Set[str] = frozenset()) -> bool:
    """Whether one sentence of a hint gives the answer away; `given` are the figures the
    question itself states."""
    plain = re.sub(r"\[\d+\]", "", sentence).strip()
    if _STATES_ANSWER.search(plain):
        return True
    if not options:
        return False
    if _VERDICT.search(plain) or any(p.search(plain) for p in _NAMES_A_LETTER):
        return True
    return not plain.endswith("?") and _restates_option(plain, options, given)


def _sentences(draft: str) -> list[str]:
    sentences: list[str] = []
    for piece in _SENTENCE_END.split(draft.strip()):
        # "... is kept. [3] Next ...": markers after a full stop belong to the sentence before.
        lead = _LEADING_MARKERS.match(piece)
        if lead and sentences:
            sentences[-1] += " " + lead.group(0).strip()
            piece = piece[lead.end() :]
        if piece.strip():
            sentences.append(piece)
    return sentences


# A sentence ends in ".", "?" or "!", perhaps inside quotes or brackets and before citation
# markers; a piece without one is a fragment (cut at a line break before a list of options,
# or by the token limit) and says nothing on its own.
_COMPLETE = re.compile(r"[.?!][\"')\]*]*(?:\s*\[\d+\])*\s*$")
# The second draft's instructions read back as if they were the hint ("The hint is to name
# the idea ... and ask a guiding question"): 4 of 23 second drafts on 2026-12-07.
_ECHOES_RULES = re.compile(
    r"\b(?:the hint is|guiding question|decides the question|work it out|name the (?:key )?idea)",
    re.IGNORECASE,
)


def _keepable(sentence: str, options: dict[str, str], given: Set[str]) -> bool:
    return (
        bool(_WORDS.search(sentence))
        and bool(_COMPLETE.search(sentence))
        and not _ECHOES_RULES.search(sentence)
        and not leaks(sentence, options, given)
    )


def guard_hint(draft: str, question: str, redraft: Callable[[], str] | None = None) -> GuardedHint:
    """The draft without the sentences that give the answer away, ending in a next step.
    `redraft` writes a second draft under stricter rules; it is called only when nothing of
    the first is left."""
    options = parse_options(question)
    given = _numbers(question_stem(question, options)) if options else set()
    sentences = _sentences(draft)
    if not any(leaks(s, options, given) for s in sentences):
        return GuardedHint(draft, 0)
    # Once something is withheld, what is left must stand on its own: no fragments.
    kept = [s for s in sentences if _keepable(s, options, given)]
    withheld = len(sentences) - len(kept)
    retried = not kept and redraft is not None
    if retried:
        second = _sentences(redraft())
        # It was asked for two sentences; a longer one drifts back towards the answer.
        kept = [s for s in second if _keepable(s, options, given)][:2]
        withheld += len(second) - len(kept)
    parts = [prompts.HINT_WITHHELD, *kept]
    if not kept or not kept[-1].rstrip().endswith("?"):
        parts.append(prompts.HINT_NEXT_STEP_OPTIONS if options else prompts.HINT_NEXT_STEP)
    return GuardedHint(" ".join(parts), withheld, len(kept), retried)
