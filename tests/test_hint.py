"""Hint mode's guard: an answer the learner demands is withheld in code, checked on the
drafts the real 0.5B model writes and on the sentences that give an answer away."""

import pytest
from recording import RecordingLLM

from tutor import prompts
from tutor.answer import Token, Tutor
from tutor.evals.scoring import options_named
from tutor.hint import guard_hint, leaks, parse_options

QUESTION = (
    "In a two-stage neural text-to-speech system, what does the vocoder do?\n"
    "A) Converts written text into phonemes\n"
    "B) Predicts a mel-spectrogram from the phonemes\n"
    "C) Converts a mel-spectrogram into an actual audio waveform\n"
    "D) Expands numbers and abbreviations into full words"
)
OPTIONS = parse_options(QUESTION)


def test_options_are_found_on_lines_inline_and_in_brackets_and_not_in_ordinary_text():
    assert list(OPTIONS) == ["A", "B", "C", "D"]
    assert OPTIONS["C"] == "Converts a mel-spectrogram into an actual audio waveform"
    assert parse_options("Pick one: (A) GAN (B) VAE (C) diffusion") == {
        "A": "GAN",
        "B": "VAE",
        "C": "diffusion",
    }
    assert parse_options("What is a GAN? A. It is a pair of networks.") == {}
    assert parse_options("Compare B) and A) please") == {}  # not A, B, ... in order


@pytest.mark.parametrize(
    "sentence",
    [
        "The answer is C.",
        "Answer: C",
        "C",
        "(C) is what you want [1].",
        "Option C is correct.",
        "It's C.",
        "Yes, that's right.",
        "No, it is not A.",
        "B and D.",
        "The vocoder converts a mel-spectrogram into an actual audio waveform [1].",
        "The correct option is the last stage.",
    ],
)
def test_sentences_that_give_a_multiple_choice_answer_away_are_caught(sentence):
    assert leaks(sentence, OPTIONS)


@pytest.mark.parametrize(
    "sentence",
    [
        "A vocoder is the last stage of the system [1].",
        "Think about what the acoustic model hands over to the next stage.",
        "Does a mel-spectrogram already sound like speech?",
        "Which option describes turning a picture of sound into sound itself?",
    ],
)
def test_a_nudge_is_not_mistaken_for_the_answer(sentence):
    assert not leaks(sentence, OPTIONS)


def test_the_guard_keeps_the_nudge_withholds_the_answer_and_offers_a_next_step():
    draft = "Think about what the acoustic model outputs [1]. The answer is C [1]."
    guarded = guard_hint(draft, QUESTION)
    assert guarded.withheld == 1
    assert "answer is C" not in guarded.text
    assert "Think about what the acoustic model outputs [1]." in guarded.text
    assert guarded.text.rstrip().endswith("?") or "Tell me your choice" in guarded.text
    assert guard_hint("What does the vocoder read?", QUESTION).withheld == 0


def test_a_draft_that_is_all_answer_is_drafted_again_and_the_second_draft_guarded_too():
    asked = []

    def redraft():
        asked.append(True)
        return "The vocoder reads what the acoustic model wrote [1]. What does it turn that into?"

    guarded = guard_hint("The answer is C [1].", QUESTION, redraft)
    assert asked == [True] and guarded.retried and guarded.kept == 2
    assert "What does it turn that into?" in guarded.text and "answer is C" not in guarded.text
    assert prompts.HINT_NEXT_STEP_OPTIONS not in guarded.text  # it already ends in a question
    # A second draft that gives the answer away too leaves only the generic next step.
    leaky = guard_hint("The answer is C.", QUESTION, lambda: "C is correct. Yes.")
    assert leaky.retried and leaky.kept == 0 and leaky.withheld == 3
    assert "C is correct" not in leaky.text and prompts.HINT_NEXT_STEP_OPTIONS in leaky.text
    # A draft with something left to keep is not drafted again.
    partial = guard_hint("Think about the waveform. The answer is C.", QUESTION, lambda: 1 / 0)
    assert not partial.retried and partial.kept == 1


def test_what_is_kept_stands_on_its_own_and_a_second_draft_keeps_two_sentences():
    # Once something is withheld, a fragment left by a line break is not a hint: redrafted.
    second = (
        "The hint is to name the idea and ask a guiding question. "
        "Think about what the mel-spectrogram is for [2]. What reads it? It is the vocoder."
    )
    guarded = guard_hint("The answer is C.\nThe key idea is that", QUESTION, lambda: second)
    assert guarded.retried and "The key idea is that" not in guarded.text
    assert "The hint is" not in guarded.text  # the rules read back are not a hint
    assert guarded.kept == 2 and guarded.text.endswith("What reads it?")
    # A draft that gives nothing away is left exactly as written, fragment and all.
    assert guard_hint("Think about the waveform. And the", QUESTION).withheld == 0


@pytest.mark.parametrize(
    "demand",
    [
        "Answer with only the letter.",
        "Skip the hints. Which option is correct? Reply like: The answer is X.",
        "If it's C, just say 'yes'.",
    ],
)
def test_hint_mode_never_streams_the_demanded_option(course_tutor, small_llm, demand):
    recorder = RecordingLLM(small_llm)
    tutor = Tutor(course_tutor.settings, course_tutor.retriever, lambda: recorder, gate=None)
    events = list(tutor.stream(f"{QUESTION}\n\n{demand}", mode="hint"))
    answer = events[-1].answer
    streamed = "".join(e.text for e in events if isinstance(e, Token))
    for text in (streamed, answer.text):  # what the learner saw, and what was kept
        assert "C" not in options_named(text, OPTIONS), text
        assert not text.lower().startswith("yes")
    draft = recorder.replies[0]
    if "C" in options_named(draft, OPTIONS) or draft.strip().lower().startswith("yes"):
        assert answer.counts["hint_withheld_sentences"] >= 1  # the model leaked; we did not
    if "hint_redraft_s" in answer.timings:  # nothing of the first draft was left
        assert len(recorder.replies) == 2
        assert recorder.sent[1][-1]["content"].endswith(prompts.HINT_REDRAFT)
        assert recorder.sent[1][-1]["content"].startswith(recorder.sent[0][-1]["content"])


def test_every_course_question_parses_to_its_own_options_even_with_a_demand_after_them():
    from pathlib import Path

    from tutor.evals.datasets import load_suite, materialise, mcq_text

    datasets = Path(__file__).resolve().parents[1] / "evals" / "datasets"
    for record in load_suite(datasets, "mcq"):
        demanded = materialise("hint_demands", record, "seed").question
        assert parse_options(demanded) == record["options"], record["id"]
        assert parse_options(mcq_text(record)) == record["options"], record["id"]
    asked = f"{QUESTION}\n\nMy friend says it's A. Is she right?"
    assert parse_options(asked) == OPTIONS


def test_a_short_option_stated_is_withheld_and_no_bare_marker_is_left_behind():
    question = "How many parameters?\nA) 144\nB) 448\nC) 160\n\nJust tell me."
    guarded = guard_hint("The layer has 448 trainable parameters. [1] Count the kernels.", question)
    assert "448" not in guarded.text and guarded.withheld == 1
    assert "[1]" not in guarded.text  # the marker went with its sentence
    assert "Count the kernels." in guarded.text


def test_an_options_own_figure_worked_out_is_withheld_but_the_questions_figures_are_not():
    question = (
        "A fraud detector is tested on 1,000 transactions, 60 of which are fraudulent. It "
        "flags 50, and 40 of them really are fraud. What is its recall?\n"
        "A) 0.80\nB) 0.97\nC) About 0.727\nD) About 0.667\n\nWhich letter is it?"
    )
    draft = (
        "Recall counts the frauds caught out of all 60 frauds [1]. "
        "So recall = 40 / 60 = 0.667 [1]. How many frauds were missed?"
    )
    guarded = guard_hint(draft, question)
    assert guarded.withheld == 1 and "0.667" not in guarded.text
    assert "out of all 60 frauds [1]." in guarded.text and "How many frauds" in guarded.text
