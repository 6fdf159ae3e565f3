"""Saved system prompts (tutor.llm.prefix_states), with the real 0.5B model: a prompt whose
system prompt was read before, with another prompt read in between, gets it from the saved
state instead of reading it again, and the model's reply is the one it gives after reading
everything."""

from __future__ import annotations

import pytest

from tutor.llm.prefix_states import PrefixStates

RULES = (
    "You are a tutor for people learning generative AI. Answer only from the numbered passages "
    "the learner's message gives you, cite the passage after each sentence as [n], keep the "
    "answer to three sentences, and when the passages do not hold the answer, say that the "
    "materials do not cover it instead of guessing."
)
OTHER_RULES = (
    "Rewrite the learner's follow-up question so that it can be understood without the "
    "conversation before it: name the topic that the earlier turns were about, keep every "
    "word the learner used for what they are asking now, and reply with the rewritten "
    "question only, on one line, without an answer or any comment."
)
PASSAGE = (
    "[1] Label smoothing of 0.1 mixes the one-hot target with a uniform distribution over the "
    "vocabulary, which hurts perplexity but improves accuracy and BLEU."
)


def ask(rules: str, question: str) -> list[dict]:
    return [
        {"role": "system", "content": rules},
        {"role": "user", "content": f"{PASSAGE}\n\nQuestion: {question}"},
    ]


def load(path, lookup_tokens: int):
    from tutor.llm.llamacpp import LlamaCppBackend

    return LlamaCppBackend(path, 2048, 2, path.parent, lookup_tokens=lookup_tokens)


@pytest.mark.parametrize("lookup_tokens", [0, 4], ids=["plain", "speculative"])
def test_a_system_prompt_read_before_is_restored_and_the_reply_is_unchanged(
    small_model_path, lookup_tokens
):
    llm = load(small_model_path, lookup_tokens)
    llm.chat(ask(RULES, "What does label smoothing mix?"), max_tokens=4, temperature=0.0)
    rules_tokens = llm.last_stats.prompt_reused  # nothing cached yet but the template start
    assert rules_tokens < 5 and len(llm._prefixes) == 1

    llm.chat(ask(OTHER_RULES, "and what does it cost?"), max_tokens=4, temperature=0.0)
    assert llm.last_stats.prompt_reused < 5  # another system prompt: nothing shared
    assert len(llm._prefixes) == 2

    question = ask(RULES, "What does label smoothing do to perplexity?")
    reply = llm.chat(question, max_tokens=30, temperature=0.0)
    reused = llm.last_stats.prompt_reused
    # The rules came back from the saved state: more than the 60-odd tokens of the rules.
    assert reused > 60
    assert reused < llm.count_prompt_tokens(question) - 20  # the passage and question are read

    fresh = load(small_model_path, lookup_tokens)
    assert fresh.chat(question, max_tokens=30, temperature=0.0) == reply
    assert fresh.last_stats.prompt_reused < 5


def test_yes_probability_after_a_restore_is_the_one_read_from_scratch(small_model_path):
    llm = load(small_model_path, 0)
    check = ask(RULES, "Does the passage say what label smoothing mixes? Answer yes or no.")
    llm.yes_probability(check)
    llm.chat(ask(OTHER_RULES, "and why?"), max_tokens=4, temperature=0.0)
    restored = llm.yes_probability(check)
    fresh = load(small_model_path, 0).yes_probability(check)
    assert restored == pytest.approx(fresh, abs=1e-3)


def test_only_the_latest_system_prompts_are_kept(small_model_path):
    llm = load(small_model_path, 0)
    llm._prefixes = PrefixStates(limit=1)
    llm.chat(ask(RULES, "What does label smoothing mix?"), max_tokens=2, temperature=0.0)
    llm.chat(ask(OTHER_RULES, "and why?"), max_tokens=2, temperature=0.0)
    assert len(llm._prefixes) == 1
    llm.chat(ask(RULES, "What does it cost?"), max_tokens=2, temperature=0.0)
    assert llm.last_stats.prompt_reused < 5  # the rules were dropped for the other prompt
