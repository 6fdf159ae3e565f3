"""Prompt-lookup speculative decoding: drafts come from the context, verification keeps the
model's own output (greedy: identical text; sampled: the same distribution)."""

from __future__ import annotations

import random
from collections import Counter

import numpy as np
import pytest

from tutor.errors import PromptTooLongError
from tutor.llm.lookup import distribution, draft_tokens, verify

PASSAGE = (
    "Layer normalization normalizes the inputs across the features of each example, while "
    "batch normalization normalizes each feature across the examples in a batch. Label "
    "smoothing of 0.1 mixes the one-hot target with a uniform distribution over the vocabulary."
)
MESSAGES = [
    {"role": "system", "content": "Answer from the passage, citing it as [1]."},
    {
        "role": "user",
        "content": f"[1] {PASSAGE}\n\nQuestion: How does layer normalization differ from "
        "batch normalization?",
    },
]


def test_the_draft_is_what_followed_the_last_tokens_earlier_in_the_context():
    context = np.array([5, 6, 7, 8, 9, 1, 6, 7], dtype=np.intc)
    assert draft_tokens(context, max_ngram=3, count=2) == [8, 9]
    assert draft_tokens(np.array([1, 2, 3, 4], dtype=np.intc), 3, 4) == []
    assert draft_tokens(context, 3, 0) == []


def _logits(best: int, vocab: int = 50) -> np.ndarray:
    row = np.zeros(vocab, dtype=np.float32)
    row[best] = 10.0
    return row


def test_greedy_verification_keeps_the_draft_up_to_the_first_token_the_model_would_not_write():
    rows = np.stack([_logits(3), _logits(4), _logits(9), _logits(1)])
    verdict = verify(rows, [3, 4, 5], temperature=0.0, rng=random.Random(0))
    assert (verdict.accepted, verdict.next_token) == (2, 9)
    # A draft the model agrees with entirely earns one more token from the last row.
    verdict = verify(rows, [3, 4, 9], temperature=0.0, rng=random.Random(0))
    assert (verdict.accepted, verdict.next_token) == (3, 1)


def test_sampled_verification_keeps_the_models_own_distribution():
    """Whatever the draft, the first token out is distributed as plain sampling would give
    it (the speculative sampling rule for a point-mass draft)."""
    rng = np.random.default_rng(0)
    row = rng.normal(size=60).astype(np.float32) * 2
    temperature = 0.8
    ids, probs = distribution(row, temperature)
    expected = dict(zip(ids.tolist(), probs.tolist(), strict=True))
    draft = [int(ids[1])]  # a plausible but not the likeliest token
    picks = Counter()
    sampler = random.Random(1)
    trials = 20000
    for _ in range(trials):
        verdict = verify(np.stack([row, row]), draft, temperature, sampler)
        picks[draft[0] if verdict.accepted else verdict.next_token] += 1
    for token, p in expected.items():
        assert abs(picks[token] / trials - p) < 0.015, (token, picks[token] / trials, p)
    assert set(picks) <= set(expected)


@pytest.fixture(scope="module")
def lookup_llm(small_model_path):
    from tutor.llm.llamacpp import LlamaCppBackend

    return LlamaCppBackend(small_model_path, 4096, 2, small_model_path.parent, lookup_tokens=4)


def test_speculative_reply_is_the_plain_reply_and_skips_forward_passes(small_llm, lookup_llm):
    plain = small_llm.chat(MESSAGES, max_tokens=60, temperature=0.0)
    fast = lookup_llm.chat(MESSAGES, max_tokens=60, temperature=0.0)
    assert fast == plain
    stats = lookup_llm.last_stats
    assert stats.accepted > 0
    assert stats.decode_steps < stats.completion_tokens
    assert stats.completion_tokens <= 60
    # The cached context stays consistent: asking again gives the same reply.
    assert lookup_llm.chat(MESSAGES, max_tokens=60, temperature=0.0) == plain


def test_speculative_reply_honours_max_tokens(lookup_llm):
    lookup_llm.chat(MESSAGES, max_tokens=5, temperature=0.0)
    assert lookup_llm.last_stats.completion_tokens == 5


def test_a_prompt_over_the_context_is_the_askers_to_shorten(lookup_llm):
    huge = [{"role": "user", "content": "word " * 5000}]
    with pytest.raises(PromptTooLongError, match="shorter question"):
        lookup_llm.chat(huge, max_tokens=10, temperature=0.0)
