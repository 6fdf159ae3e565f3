"""The answerability gate: fitted per model, applied before any answer text, with the real
0.5B model reading the real passages."""

import json

import pytest

from tutor.answer import Retrieved, Token, Tutor
from tutor.answerable import (
    FEATURES,
    GATES_FILE,
    AnswerGate,
    evidence_kind,
    gates_digest,
    load_gate,
    load_gates,
    logit,
    missing_name_idf,
    save_gate,
)
from tutor.terms import TermFrequencies, terms

NEAR_MISS = "How many parameters does Gemini 3 Ultra have?"


def test_the_committed_gate_is_fitted_for_the_default_model_and_carries_its_test_figures():
    gates = load_gates()
    assert gates, f"{GATES_FILE} holds no fitted gate: run evals/tools/calibrate_answer_gate.py"
    gate = load_gate("qwen2.5-coder-1.5b-instruct-q4_k_m.gguf")
    assert gate is not None and 0.0 < gate.threshold < 1.0
    test = gate.calibration["test"]["gate"]
    assert test["false_abstention"]["n"] >= 50 and test["refusal_recall"]["n"] >= 50
    assert load_gate("some-other-model.gguf") is None  # another model: cosine gate only


def test_saving_a_gate_keeps_the_other_models_gates_and_changes_the_digest(tmp_path):
    path = tmp_path / "gates.json"
    assert gates_digest(path) == "none"
    save_gate(AnswerGate("m1", {"p_yes_logit": 1.0, "dense_top": 0.0}, 0.0, 0.5), path)
    first = gates_digest(path)
    save_gate(AnswerGate("m2", {"p_yes_logit": 2.0, "dense_top": 1.0}, -1.0, 0.4), path)
    save_gate(AnswerGate("m1", {"p_yes_logit": 1.5, "dense_top": 0.0}, 0.0, 0.5), path)
    assert [g["model_id"] for g in json.loads(path.read_text())] == ["m2", "m1"]
    assert load_gate("m1", path=path).weights["p_yes_logit"] == 1.5
    assert gates_digest(path) != first


def test_a_gate_fitted_on_selected_sentences_is_kept_apart_from_the_whole_passage_one(tmp_path):
    # P(yes) moves with what the model reads, so a fit on one kind of evidence must not
    # decide questions asked with the other.
    path = tmp_path / "gates.json"
    save_gate(AnswerGate("m1", {"p_yes_logit": 1.0}, 0.0, 0.5), path)
    save_gate(AnswerGate("m1", {"p_yes_logit": 2.0}, 0.0, 0.3, evidence="sentences"), path)
    assert load_gate("m1", path=path).threshold == 0.5
    assert load_gate("m1", "sentences", path).threshold == 0.3
    assert load_gate("m2", "sentences", path) is None
    assert evidence_kind(0) == "passages" and evidence_kind(250) == "sentences"


def test_probability_follows_the_logistic_model():
    gate = AnswerGate("m", {"p_yes_logit": 1.0, "dense_top": 2.0}, -1.0, 0.5)
    assert gate.probability({"p_yes_logit": logit(0.5), "dense_top": 0.5}) == pytest.approx(0.5)
    assert gate.answers({"p_yes_logit": logit(0.9), "dense_top": 0.5})
    assert not gate.answers({"p_yes_logit": logit(0.1), "dense_top": 0.5})


def _tutor(course_tutor, small_llm, threshold):
    # Only P(yes) counts, so the decision is the real model's reading of the real passages.
    gate = AnswerGate(small_llm.model_id, {"p_yes_logit": 1.0, "dense_top": 0.0}, 0.0, threshold)
    return Tutor(course_tutor.settings, course_tutor.retriever, lambda: small_llm, gate=gate)


def test_below_the_threshold_the_tutor_declines_before_writing_and_says_why(
    course_tutor, small_llm
):
    tutor = _tutor(course_tutor, small_llm, threshold=0.999)
    events = list(tutor.stream("What does the discriminator in a GAN output?"))
    answer = events[-1].answer
    assert answer.abstained and answer.citations == []
    assert "do not seem to answer" in answer.abstain_reason
    assert 0.0 <= answer.answerability < 0.999
    assert answer.text.startswith("I can't find this in the course materials.")
    assert [e.text for e in events if isinstance(e, Token)] == [answer.text]
    assert "answerable_s" in answer.timings  # recorded: the gate's cost shows per answer


def test_a_question_the_passages_answer_passes_a_gate_at_the_models_own_odds(
    course_tutor, small_llm
):
    tutor = _tutor(course_tutor, small_llm, threshold=0.0)
    answer = tutor.ask("What does the discriminator in a GAN output?")
    assert not answer.abstained and answer.citations
    assert answer.answerability is not None


def test_a_quiz_question_the_gate_rejects_is_declined_before_the_learner_sees_it(
    course_tutor, small_llm
):
    events = list(
        _tutor(course_tutor, small_llm, threshold=0.999).stream("Quiz me on GANs.", mode="quiz")
    )
    declined = events[-1].answer
    assert declined.abstained and "quiz question it wrote" in declined.abstain_reason
    assert [e.text for e in events if isinstance(e, Token)] == [declined.text]
    passed = _tutor(course_tutor, small_llm, threshold=0.0).ask("Quiz me on GANs.", mode="quiz")
    assert not passed.abstained and passed.answerability is not None
    assert "?" in passed.text or "___" in passed.text


def test_the_model_rates_a_near_miss_less_answerable_than_a_question_its_passages_answer(
    course_tutor, small_llm
):
    tutor = _tutor(course_tutor, small_llm, threshold=0.0)
    answered = tutor.ask("What does the discriminator in a GAN output?").answerability
    near_miss = tutor.ask(NEAR_MISS)
    assert near_miss.abstained or near_miss.answerability < answered


def _row(p_yes, dense, answerable, group="answerable"):
    return {
        "question": "What does the discriminator output?",
        "features": {"p_yes_logit": logit(p_yes), "dense_top": dense, "missing_name_idf": 1.0},
        "answerable": answerable,
        "group": group,
    }


def test_the_fit_separates_what_the_features_separate_and_the_threshold_caps_false_declines():
    from tutor.evals.answer_gate import choose_threshold, fit, half, rates

    rows = [_row(0.6 + 0.01 * i, 0.5, True) for i in range(40)]
    rows += [_row(0.05 + 0.01 * i, 0.5, False, "near_miss") for i in range(20)]
    weights, bias = fit(rows)
    assert weights[0] > 0  # more "yes" means more answerable
    gate = AnswerGate("m", dict(zip(FEATURES, weights, strict=True)), bias, 0.0)
    threshold = choose_threshold(rows, gate, max_false=0.05)
    gate = AnswerGate("m", gate.weights, bias, threshold)
    measured = rates(rows, gate)
    assert measured["false_abstention"]["value"] <= 0.05
    assert measured["refusal_recall_near_miss"]["value"] == 1.0
    # A question that states a premise never reaches the gate, so the gate never declines it.
    premise = _row(0.01, 0.1, True) | {"question": "Since GANs need labels, how are they made?"}
    assert rates([premise], gate)["false_abstention"]["value"] == 0.0
    # The split is fixed by the id alone: the same id always lands in the same half.
    assert {half("un-001") for _ in range(3)} == {half("un-001")}
    assert {half(f"q-{i}") for i in range(20)} == {"tune", "test"}


def test_a_question_that_states_a_premise_is_answered_not_put_to_the_gate(course_tutor, small_llm):
    tutor = _tutor(course_tutor, small_llm, threshold=0.999)  # would decline anything
    answer = tutor.ask(
        "Since GANs need human-labelled images to train the discriminator, how are those "
        "labels collected?"
    )
    assert answer.answerability is None  # the premise is to be checked, not declined
    assert not answer.abstained or "do not seem to answer" not in (answer.abstain_reason or "")


def test_a_near_miss_names_a_rare_word_its_passages_lack(course_tutor):
    freq = course_tutor.retriever.term_frequencies
    assert freq.passages == len(course_tutor.retriever.index.chunks)
    assert freq.idf("ffhq") > freq.idf("discriminator") > freq.idf("the")

    def lacking(question):
        _, passages = course_tutor.retrieve_evidence(question)
        assert passages  # both clear the cosine gate: only the gate can tell them apart
        seen = set().union(*(terms(p.text) for p in passages))
        return missing_name_idf(question, passages, freq), terms(question) - seen

    # On the GAN notes' topic, but the notes never name the dataset.
    near_miss, near_miss_lacks = lacking("What FID did StyleGAN2 reach on the FFHQ face dataset?")
    answerable, answerable_lacks = lacking("What does the discriminator in a GAN output?")
    assert "ffhq" in near_miss_lacks and "discriminator" not in answerable_lacks
    assert near_miss == max(freq.idf(t) for t in near_miss_lacks) > answerable
    # A word no passage holds at all is as rare as a word can be.
    assert near_miss == pytest.approx(TermFrequencies(freq.passages, {}).idf("ffhq"))


def test_measured_answers_are_cached_per_check_prompt_and_reused(course_tutor, small_llm, tmp_path):
    from tutor.evals.answer_gate import check_prompt_id, measure

    tutor = Tutor(course_tutor.settings, course_tutor.retriever, lambda: small_llm, gate=None)
    question = "What does the discriminator in a GAN output?"
    rows = [{"id": "q-1", "question": question, "group": "answerable", "answerable": True}]
    cache = tmp_path / "gate.jsonl"
    # A P(yes) measured under an older wording of the check, or after other passages (a new
    # passage format or evidence budget), is not reused.
    stale = {"model_id": small_llm.model_id, "question": question, "features": {"p_yes": 0.123}}
    older_wording = stale | {"prompt": "older"}
    other_passages = stale | {"prompt": check_prompt_id(), "reads": "other"}
    cache.write_text(json.dumps(older_wording) + "\n" + json.dumps(other_passages) + "\n")
    measured, _ = measure(tutor, rows, cache)
    p_yes = measured[0]["features"]["p_yes"]
    assert p_yes != 0.123
    records = [json.loads(line) for line in cache.read_text().splitlines()]
    assert records[-1]["prompt"] == check_prompt_id() and len(records) == 3
    assert records[-1]["reads"] not in ("other", None)
    # Measured again, it is read from the cache, not asked again.
    again, _ = measure(tutor, rows, cache)
    assert again[0]["features"]["p_yes"] == p_yes and len(cache.read_text().splitlines()) == 3


def _cascade(course_tutor, small_llm, sure: float, wide_threshold: float) -> Tutor:
    # Selected sentences first; the whole passages' gate for a second look. Only P(yes)
    # counts, so each decision is the real model's reading of what it was given.
    settings = course_tutor.settings.model_copy(update={"evidence_tokens": 60})
    p_yes_only = {"p_yes_logit": 1.0, "dense_top": 0.0}
    sentences = AnswerGate(small_llm.model_id, p_yes_only, 0.0, 0.5, "sentences", sure=sure)
    passages = AnswerGate(small_llm.model_id, p_yes_only, 0.0, wide_threshold)
    retriever = course_tutor.retriever
    return Tutor(settings, retriever, lambda: small_llm, gate=sentences, wide_gate=passages)


def _whole(excerpts) -> bool:
    return all(x.text == x.hit.chunk.text.strip() for x in excerpts)


GAN_Q = "What does the discriminator in a GAN output?"


def test_when_the_sentences_gate_is_not_sure_the_model_reads_the_whole_passages(
    course_tutor, small_llm
):
    events = list(_cascade(course_tutor, small_llm, sure=1.0, wide_threshold=0.0).stream(GAN_Q))
    selected, widened = [e.passages for e in events if isinstance(e, Retrieved)]
    assert not _whole(selected) and _whole(widened)  # the client is told what is read now
    answer = events[-1].answer
    assert answer.counts["widened"] == 1 and not answer.abstained
    assert [p["text"] for p in answer.retrieval] == [x.text for x in widened]
    assert answer.usage["prompt_tokens"] > 0


def test_the_whole_passages_gate_has_the_last_word_when_it_is_asked(course_tutor, small_llm):
    answer = _cascade(course_tutor, small_llm, sure=1.0, wide_threshold=0.999).ask(GAN_Q)
    assert answer.abstained and answer.counts["widened"] == 1
    assert "do not seem to answer" in answer.abstain_reason


def test_a_sure_sentences_gate_answers_from_the_sentences_without_a_second_look(
    course_tutor, small_llm
):
    events = list(_cascade(course_tutor, small_llm, sure=0.0, wide_threshold=0.999).stream(GAN_Q))
    (retrieved,) = [e for e in events if isinstance(e, Retrieved)]
    answer = events[-1].answer
    assert not _whole(retrieved.passages) and not answer.abstained
    assert "widened" not in answer.counts


def test_the_shortcut_level_is_the_lowest_that_lets_no_extra_unanswerable_question_through():
    from tutor.evals.answer_gate import cascade_declined, choose_sure

    p_yes_only = {"p_yes_logit": 1.0}
    gate = AnswerGate("m", p_yes_only, 0.0, 0.5, "sentences")
    wide = AnswerGate("m", p_yes_only, 0.0, 0.5)
    rows, wide_rows = [], {}
    # (sentences P(yes), whole passages P(yes), answerable)
    for i, (s, w, ok) in enumerate(
        [(0.95, 0.9, True), (0.8, 0.9, True), (0.7, 0.2, False), (0.6, 0.8, True),
         (0.4, 0.3, False), (0.3, 0.7, True)]
    ):  # fmt: skip
        rows.append(_row(s, 0.5, ok, "answerable" if ok else "near_miss") | {"id": str(i)})
        wide_rows[str(i)] = _row(w, 0.5, ok) | {"id": str(i)}
    # At 0.9 only the first answers outright; the unanswerable 0.7 must still be asked
    # again, so the level cannot go below it.
    sure = choose_sure(rows, wide_rows, gate, wide, top=0.9)
    assert sure == pytest.approx(0.8)
    assert cascade_declined(rows, wide_rows, gate, wide, sure) == [
        False, False, True, False, True, False
    ]  # fmt: skip
    # One of the two may get through: then the 0.7 question answers outright too.
    assert choose_sure(rows, wide_rows, gate, wide, top=0.9, max_extra=0.5) == pytest.approx(0.6)
