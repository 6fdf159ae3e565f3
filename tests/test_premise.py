"""The premise check: a claim the question takes as given is cut out, put to the real 0.5B
model against the real passages, and below the fitted threshold the answer is told to say
that it is not backed."""

import json

import pytest
from recording import RecordingLLM

from tutor.answer import Token, Tutor
from tutor.premise import (
    CHECKS_FILE,
    PremiseThreshold,
    checks_digest,
    load_threshold,
    load_thresholds,
    save_threshold,
    stated_premise,
)

FALSE_PREMISE = (
    "Since GANs need human-labelled images to train the discriminator, how are those labels "
    "collected?"
)


def _tutor(course_tutor, small_llm, threshold):
    recorder = RecordingLLM(small_llm)
    fitted = None if threshold is None else PremiseThreshold(small_llm.model_id, threshold)
    tutor = Tutor(
        course_tutor.settings,
        course_tutor.retriever,
        lambda: recorder,
        gate=None,
        premise_threshold=fitted,
    )
    return tutor, recorder


@pytest.mark.parametrize(
    ("question", "premise"),
    [
        (FALSE_PREMISE, "GANs need human-labelled images to train the discriminator."),
        (
            "ChatGPT is built on an encoder-decoder transformer, so what does its encoder do?",
            "ChatGPT is built on an encoder-decoder transformer.",
        ),
        (
            "Given that dropout is switched off at test time, why does it still help?",
            "Dropout is switched off at test time.",
        ),
        ("What does the discriminator in a GAN output?", None),
        ("If a test flags 5% of healthy people, how likely am I to be sick?", None),
    ],
)
def test_the_premise_is_cut_out_of_the_questions_that_state_one(question, premise):
    assert stated_premise(question) == premise


def test_a_premise_below_the_threshold_is_checked_first_and_the_answer_told_to_correct_it(
    course_tutor, small_llm
):
    tutor, recorder = _tutor(course_tutor, small_llm, threshold=1.01)  # nothing reaches it
    events = list(tutor.stream(FALSE_PREMISE))
    answer = events[-1].answer
    check, prompt = recorder.checked[0][-1]["content"], recorder.sent[-1][-1]["content"]
    assert "Statement: GANs need human-labelled images" in check
    assert "The passages above do not back this" in prompt and "GANs need human" in prompt
    # The learner is told first, in the pipeline's words, whatever the model then writes.
    lead = "The course materials do not back the idea that GANs need human-labelled images"
    first = next(e for e in events if isinstance(e, Token))
    assert first.text.startswith(lead) and answer.text.startswith(lead)
    assert all(lead not in s["text"] for s in answer.sentences)  # not a claim to back
    assert answer.premise["statement"].startswith("GANs need human-labelled images")
    assert answer.premise["supported"] is False and 0.0 <= answer.premise["p_true"] <= 1.0
    assert "premise_s" in answer.timings
    # The check read the passages the answer then reads: only its last lines were new.
    assert len(recorder.checked) == len(recorder.sent) == 1
    assert recorder.checked[0][0] == recorder.sent[0][0]


def test_a_backed_premise_is_answered_with_the_plain_prompt(course_tutor, small_llm):
    tutor, recorder = _tutor(course_tutor, small_llm, threshold=0.0)  # everything reaches it
    answer = tutor.ask(FALSE_PREMISE)
    assert answer.premise["supported"] is True
    assert "do not back this" not in recorder.sent[-1][-1]["content"]
    assert not answer.text.startswith("The course materials do not back")


def test_without_a_fitted_threshold_or_a_stated_premise_nothing_is_checked(course_tutor, small_llm):
    tutor, recorder = _tutor(course_tutor, small_llm, threshold=None)
    assert tutor.ask(FALSE_PREMISE).premise is None and not recorder.checked
    tutor, recorder = _tutor(course_tutor, small_llm, threshold=1.01)
    assert tutor.ask("What does the discriminator in a GAN output?").premise is None
    assert not recorder.checked and len(recorder.sent) == 1


def test_the_committed_threshold_is_fitted_for_the_default_model_with_its_test_figures():
    fitted = load_threshold("qwen2.5-coder-1.5b-instruct-q4_k_m.gguf")
    assert fitted is not None, f"{CHECKS_FILE}: run evals/tools/calibrate_premise_check.py"
    assert 0.0 < fitted.threshold < 1.0
    test = fitted.calibration["test"]
    assert test["caught"]["n"] >= 20 and test["false_flags"]["n"] >= 15
    assert load_threshold("some-other-model.gguf") is None  # another model: no check


def test_saving_a_threshold_keeps_the_other_models_and_changes_the_digest(tmp_path):
    path = tmp_path / "checks.json"
    save_threshold(PremiseThreshold("a.gguf", 0.3), path)
    before = checks_digest(path)
    save_threshold(PremiseThreshold("b.gguf", 0.4), path)
    save_threshold(PremiseThreshold("a.gguf", 0.5), path)
    fitted = {x.model_id: x.threshold for x in load_thresholds(path)}
    assert fitted == {"a.gguf": 0.5, "b.gguf": 0.4}
    assert checks_digest(path) != before and checks_digest(tmp_path / "none.json") == "none"


def test_the_threshold_caps_false_flags_and_measurements_are_cached(
    course_tutor, small_llm, tmp_path
):
    from tutor.evals.premise_check import auc, choose_threshold, measure, rates

    rows = [{"true": True, "p_true": 0.5 + 0.01 * i} for i in range(40)]
    rows += [{"true": False, "p_true": 0.05 + 0.01 * i} for i in range(20)]
    threshold = choose_threshold(rows, max_false_flags=0.1)
    measured = rates(rows, threshold)
    assert measured["false_flags"]["value"] <= 0.1 and measured["caught"]["value"] == 1.0
    assert auc(rows) == 1.0

    tutor, recorder = _tutor(course_tutor, small_llm, threshold=None)
    row = {"id": "fp-x", "question": FALSE_PREMISE, "premise": stated_premise(FALSE_PREMISE)}
    cache = tmp_path / "premise.jsonl"
    first, _ = measure(tutor, [row | {"true": False, "half": "test"}], cache)
    again, _ = measure(tutor, [row | {"true": False, "half": "test"}], cache)
    assert first[0]["p_true"] == again[0]["p_true"] is not None
    assert len(recorder.checked) == 1 and len(cache.read_text().splitlines()) == 1
    assert json.loads(cache.read_text())["prompt"]  # keyed by the check's wording
