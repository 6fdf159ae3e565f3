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
is offered instead, so the learner always has something to do next.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tutor import prompts
from tutor.cite import content_words

# An option opens at the start of the text, a line or after whitespace: a capital letter A-F
# in brackets or followed by ")", "." or ":" and a space.
_OPTION = re.compile(r"(?:^|(?<=\s))\(?([A-F])(?:\)|\.|:|\s*\))\s+", re.MULTILINE)
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
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
    withheld: int  # sentences taken out of the draft


def parse_options(question: str) -> dict[str, str]:
    """The options of a multiple-choice question, by letter; {} when it has none.

    >>> parse_options("Which one? A) a GAN B) a VAE C) a diffusion model")
    {'A': 'a GAN', 'B': 'a VAE', 'C': 'a diffusion model'}
    >>> parse_options("What is a GAN?")
    {}
    """
    marks = list(_OPTION.finditer(question))
    letters = [m.group(1) for m in marks]
    # Options run A, B, C, ... in order; anything else is an ordinary capital letter.
    if len(letters) < 2 or letters != [chr(ord("A") + i) for i in range(len(letters))]:
        return {}
    options = {}
    for mark, following in zip(marks, [*marks[1:], None], strict=True):
        end = following.start() if following else len(question)
        options[mark.group(1)] = question[mark.end() : end].strip().rstrip(";,")
    return options


def _restates_option(sentence: str, options: dict[str, str]) -> bool:
    words = content_words(sentence)
    for text in options.values():
        option_words = content_words(text)
        if len(option_words) >= 2 and len(words & option_words) / len(option_words) >= 0.75:
            return True
    return False


def leaks(sentence: str, options: dict[str, str]) -> bool:
    """Whether one sentence of a hint gives the answer away."""
    plain = re.sub(r"\[\d+\]", "", sentence).strip()
    if _STATES_ANSWER.search(plain):
        return True
    if not options:
        return False
    if _VERDICT.search(plain) or any(p.search(plain) for p in _NAMES_A_LETTER):
        return True
    return not plain.endswith("?") and _restates_option(plain, options)


def guard_hint(draft: str, question: str) -> GuardedHint:
    """The draft without the sentences that give the answer away, ending in a next step."""
    options = parse_options(question)
    sentences = [s for s in _SENTENCE_END.split(draft.strip()) if s.strip()]
    kept = [s for s in sentences if not leaks(s, options)]
    withheld = len(sentences) - len(kept)
    if not withheld:
        return GuardedHint(draft, 0)
    parts = [prompts.HINT_WITHHELD, *kept]
    if not kept or not kept[-1].rstrip().endswith("?"):
        parts.append(prompts.HINT_NEXT_STEP_OPTIONS if options else prompts.HINT_NEXT_STEP)
    return GuardedHint(" ".join(parts), withheld)
