"""Multiple-choice questions decided option by option, in code.

Asked to pick an option in one pass, the 1.5B model often takes the neighbouring distractor
even with the right passage in front of it (0.53 strict accuracy on the eval's 45 course
questions, against 0.56 without any passages). Asked about one option at a time ("do the
passages show that this answer is correct?"), its P(yes) ranks the options far better. So
each option gets that probability from the logits (one short forward pass each: the rules,
the passages and the question stem are already in llama.cpp's KV cache), the best one is
chosen (the best two or three when the question asks "which TWO"), and the model is then
asked only to explain the chosen option from the passages.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tutor import prompts
from tutor.llm import LLMBackend, Message
from tutor.llm.base import system_and_user

_HOW_MANY = re.compile(r"\bwhich\s+(two|three|2|3)\b", re.IGNORECASE)
_COUNTS = {"two": 2, "2": 2, "three": 3, "3": 3}
# The first option's marker at the end of the stem: "A)", "(A)", "A.", "A:".
_FIRST_MARK = re.compile(r"\(?A(?:\)|\.|:)?\s*$")


@dataclass
class Choice:
    letters: list[str]  # the chosen options, in letter order
    scores: dict[str, float]  # each option's P(yes): the passages show it is correct

    def line(self) -> str:
        """The answer's closing line, as a learner (and the eval) reads it."""
        return "Answer: " + ", ".join(self.letters)


def options_wanted(stem: str) -> int:
    """How many options the question asks for: 2 for "Which TWO ...", else 1.

    >>> options_wanted("Which TWO statements about VAEs are correct?")
    2
    >>> options_wanted("Which direction does the gradient point in?")
    1
    """
    found = _HOW_MANY.search(stem)
    return _COUNTS[found.group(1).lower()] if found else 1


def question_stem(question: str, options: dict[str, str]) -> str:
    """The question without its options.

    >>> question_stem("Which is a generative model?\\nA) a GAN\\nB) k-means", {"A": "a GAN"})
    'Which is a generative model?'
    """
    first = question.find(options.get("A", "\0"))
    if first <= 0:
        return question
    return _FIRST_MARK.sub("", question[:first]).strip() or question


def option_messages(system: str, evidence: str, stem: str, option: str) -> list[Message]:
    user = prompts.OPTION_CHECK_USER.format(passages=evidence, question=stem, option=option)
    return system_and_user(system, user)


def choose_options(
    llm: LLMBackend,
    system: str,
    evidence: str,
    question: str,
    options: dict[str, str],
    usage: dict[str, int] | None = None,
) -> Choice:
    stem = question_stem(question, options)
    scores = {}
    for letter, text in sorted(options.items()):
        messages = option_messages(system, evidence, stem, text)
        scores[letter] = llm.yes_probability(messages)
        if usage is not None:
            usage["prompt_tokens"] += llm.count_prompt_tokens(messages)
    wanted = min(options_wanted(stem), len(options))
    best = sorted(scores, key=lambda letter: -scores[letter])[:wanted]
    return Choice(sorted(best), scores)
