"""Quiz mode's guard: the learner gets a quiz question and nothing that answers it.

Asked for a quiz, a learner sometimes asks for the answer along with it ("put the answer in
small print under it", "then write the feedback you would give if I got it right, with the
number"), and a small model obliges despite its rule. So it is decided in code: of the
draft, only the question is kept (its first sentence that asks something: a question mark
or a blank to fill), with the lines of options that follow it; a lead-in, an answer key,
feedback or a worked solution are dropped. A draft with no question in it is replaced by a
question built from the passage it was shown, so the learner still gets one.

The model is asked for a question the passages answer, but on a topic the materials lack it
writes one anyway ("What is the main purpose of Ethereum smart contracts?"), so the tutor
puts the question it kept to the answerability gate before showing it (tutor.answer).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tutor.support import answer_sentences, without_markers

_BLANK = re.compile(r"_{3,}|\.{4,}|…{2,}")
# "A) ...", "(b) ...", "C. ...", "- ..." : the options of a multiple-choice question.
_OPTION = re.compile(r"^\s*(?:\(?[A-Fa-f][).:]\s|[-*]\s)")
# An option line that marks itself as the right one gives the answer away.
_MARKED = re.compile(r"\b(?:correct|right answer|answer)\b|✓|✔", re.I)


@dataclass
class GuardedQuiz:
    text: str  # what the learner is shown
    question: str  # its asking sentence alone, without markers: what the gate checks
    dropped: int  # lines or sentences of the draft taken out
    rebuilt: bool  # the draft held no question; one was built from the passage


def _asks(sentence: str) -> bool:
    plain = without_markers(sentence)
    return plain.endswith("?") or bool(_BLANK.search(plain))


def guard_quiz(draft: str, fallback_topic: str) -> GuardedQuiz:
    """The quiz question of `draft` and its options, nothing else.

    >>> guard_quiz("Here you go! What does the discriminator output? [1]\\n"
    ...            "Answer: a probability [1].", "GANs").text
    'What does the discriminator output? [1]'
    >>> g = guard_quiz("Which loss does a VAE add?\\nA) KL divergence\\nB) Hinge\\n"
    ...                "The answer is A.", "VAEs")
    >>> g.text, g.question, g.dropped
    ('Which loss does a VAE add?\\nA) KL divergence\\nB) Hinge', 'Which loss does a VAE add?', 1)
    >>> guard_quiz("The answer is 0.25 [2].", "the sigmoid function").text
    'In your own words: what do the course materials say about the sigmoid function? [1]'
    """
    lines = [line for line in draft.strip().splitlines() if line.strip()]
    sentences = answer_sentences(draft)
    question = next((s for s in sentences if _asks(s)), None)
    if question is None:
        text = f"In your own words: what do the course materials say about {fallback_topic}? [1]"
        return GuardedQuiz(text, without_markers(text), len(sentences), True)
    kept = [question]
    # The options are the lines right after the question's line.
    after = next((i for i, line in enumerate(lines) if question in line), len(lines)) + 1
    for line in lines[after:]:
        if not _OPTION.match(line) or _MARKED.search(line):
            break
        kept.append(line.strip())
    shown = "\n".join(kept)
    dropped = len(sentences) - len(answer_sentences(shown))
    return GuardedQuiz(shown, without_markers(question), dropped, False)
