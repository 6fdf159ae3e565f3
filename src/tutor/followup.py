"""Whether a follow-up question needs the conversation to be understood.

Rewriting a follow-up into a standalone question costs a full model call (seconds on a
CPU), so it is skipped when the question already names its topic: no word that points back
("it", "they", "that one", "the second"), no opening that continues the last turn ("and",
"what about", "why not"), and enough words of its own. Erring towards rewriting is cheap in
quality and dear only in time; erring the other way searches for the wrong thing, so any
doubt rewrites.
"""

from __future__ import annotations

import re

_POINTS_BACK = re.compile(
    r"\b(?:it|its|it's|itself|they|them|their|theirs|themselves|this|that|these|those|"
    r"he|him|his|she|her|one|ones|former|latter|above|previous|earlier|same|such|"
    r"first|second|third|last|other|another|both|either|neither|here|there|then|"
    r"example|examples|more|else|instead|again|my|our|mine|ours)\b",
    re.IGNORECASE,
)
_CONTINUES = re.compile(
    r"^\W*(?:and|but|or|so|also|then|what about|how about|why not|why|what if|and if|"
    r"ok|okay|cool|thanks|great|really|wait|hmm|same|compared)\b",
    re.IGNORECASE,
)
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'-]+")
_FUNCTION_WORDS = (
    "a an the is are was were be been do does did can could should would will how what "
    "which who whom whose when where why to of in on for with by from as at about into "
    "than and or not no yes me you i my your we our us please explain tell give show mean "
    "means work works use used"
)
_FUNCTION = frozenset(_FUNCTION_WORDS.split())


def needs_context(question: str) -> bool:
    """True when the question leans on the conversation (so it must be rewritten).

    >>> needs_context("And how is it different from a VAE?")
    True
    >>> needs_context("What is the difference between a GAN and a VAE?")
    False
    >>> needs_context("Why?")
    True
    """
    if _POINTS_BACK.search(question) or _CONTINUES.search(question):
        return True
    own = [w for w in _WORD.findall(question) if w.lower() not in _FUNCTION]
    return len(own) < 2
