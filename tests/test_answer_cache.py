"""The answer cache with the real core: course index, real embedder, the real 0.5B model
(wrapped only to count the calls it gets), and a real rebuild of an index."""

import pytest
from test_answer import RecordingLLM

from tutor.answer import Tutor
from tutor.answer_cache import AnswerCache
from tutor.index import build_index, load_index
from tutor.retrieve import Retriever


@pytest.fixture
def cached_tutor(course_tutor, small_llm, tmp_path):
    recorder = RecordingLLM(small_llm)
    cache = AnswerCache(tmp_path / "answer-cache.sqlite")
    tutor = Tutor(course_tutor.settings, course_tutor.retriever, lambda: recorder, cache)
    return tutor, recorder


def test_a_question_asked_again_is_answered_from_the_cache_and_marked(cached_tutor):
    tutor, recorder = cached_tutor
    first = tutor.ask("What is mode collapse in GANs?")
    calls = len(recorder.sent)
    again = tutor.ask("  what is MODE collapse in GANs ")  # case, spacing, "?" do not matter
    assert len(recorder.sent) == calls  # no model call
    assert not first.cached and again.cached
    assert again.text == first.text and again.citations == first.citations
    assert again.retrieval == first.retrieval and again.usage == first.usage


def test_what_decides_an_answer_is_part_of_its_key(cached_tutor):
    tutor, recorder = cached_tutor
    tutor.ask("What is LoRA?")
    for options in ({"mode": "hint"}, {"level": "beginner"}, {"top_k": 2}):
        assert not tutor.ask("What is LoRA?", **options).cached
    history = [("user", "Tell me about fine-tuning."), ("assistant", "Fine-tuning adapts...")]
    from tutor.answer import Turn

    turns = [Turn(role, text) for role, text in history]
    assert not tutor.ask("What is LoRA?", turns).cached
    assert tutor.ask("What is LoRA?").cached


def test_quizzes_and_hot_temperatures_are_never_cached(cached_tutor):
    tutor, recorder = cached_tutor
    tutor.ask("Quiz me on GANs", mode="quiz")
    assert not tutor.ask("Quiz me on GANs", mode="quiz").cached  # another question, please
    hot = tutor.settings.temperature + 0.5
    for _ in range(2):  # asked twice: the second must be generated again
        events = list(tutor.stream("What is a GAN?", temperature=hot))
    assert not events[-1].answer.cached


def test_a_rebuilt_index_misses_the_cache(settings, embedder, small_llm, corpus_copy, tmp_path):
    cache = AnswerCache(tmp_path / "answer-cache.sqlite")
    build_index(settings, embedder=embedder)

    def tutor() -> Tutor:
        retriever = Retriever(load_index(settings), embedder, settings)
        return Tutor(settings, retriever, small_llm, cache)

    question = "What is mode collapse in GANs?"
    assert not tutor().ask(question).cached
    assert tutor().ask(question).cached  # a new process on the same index: still cached
    (corpus_copy / "gans.md").write_text(
        (corpus_copy / "gans.md").read_text() + "\n\nOne more line after the rebuild.\n"
    )
    build_index(settings, embedder=embedder)
    assert not tutor().ask(question).cached


def test_a_damaged_cache_file_is_a_miss_not_a_failure(course_tutor, small_llm, tmp_path):
    path = tmp_path / "answer-cache.sqlite"
    cache = AnswerCache(path)
    path.write_bytes(b"not a database" * 100)  # damaged under a running tutor
    tutor = Tutor(course_tutor.settings, course_tutor.retriever, small_llm, cache)
    answer = tutor.ask("What is a GAN?")
    assert answer.text and not answer.cached


def test_a_question_worded_differently_is_answered_from_the_cache_and_says_from_what(
    course_tutor, small_llm, tmp_path
):
    asked = "What is mode collapse in GANs?"
    reworded = "whats mode collapse in a GAN"
    different = "What is posterior collapse in VAEs?"
    embed = course_tutor.retriever.embedder.embed_query
    near, far = float(embed(reworded) @ embed(asked)), float(embed(different) @ embed(asked))
    assert near > far
    settings = course_tutor.settings.model_copy(update={"cache_min_similarity": (near + far) / 2})
    recorder = RecordingLLM(small_llm)
    cache = AnswerCache(tmp_path / "answer-cache.sqlite")
    tutor = Tutor(settings, course_tutor.retriever, lambda: recorder, cache)
    first = tutor.ask(asked)
    calls = len(recorder.sent)
    again = tutor.ask(reworded)
    assert len(recorder.sent) == calls  # no model call
    assert again.cached and again.cached_from == "what is mode collapse in gans"
    assert again.question == reworded and again.text == first.text
    other = tutor.ask(different)
    assert not other.cached and other.cached_from is None and len(recorder.sent) > calls


def test_the_default_near_match_similarity_is_the_calibrated_one():
    import json
    from pathlib import Path

    from tutor.config import Settings

    measured = Path(__file__).resolve().parents[1] / "evals" / "results" / "cache_match.json"
    calibration = json.loads(measured.read_text())
    assert Settings().cache_min_similarity == calibration["threshold"]
    assert calibration["test"]["different_matched"] == 0.0  # no wrong answer from the cache
