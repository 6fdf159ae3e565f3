"""Multiple choice decided option by option from the model's P(yes), then explained."""

from __future__ import annotations

from tutor.answer import Done, Token
from tutor.choice import choose_options, options_wanted, question_stem
from tutor.hint import parse_options
from tutor.prompts import system_prompt

PASSAGE = (
    '<passage number="1" section="GANs">\n'
    "The discriminator of a GAN outputs the probability that its input is a real training "
    "image rather than one made by the generator. The generator turns a random noise vector "
    "into an image.\n</passage>"
)
QUESTION = (
    "What does the discriminator of a GAN output?\n"
    "A) A new image made from noise\n"
    "B) The probability that its input is a real image\n"
    "C) A random noise vector"
)


def test_the_stem_and_the_number_of_options_asked_for_are_read_from_the_question():
    options = parse_options(QUESTION)
    assert question_stem(QUESTION, options) == "What does the discriminator of a GAN output?"
    assert question_stem("Pick one: (A) GAN (B) VAE", {"A": "GAN", "B": "VAE"}) == "Pick one:"
    assert options_wanted("Which TWO statements about VAEs are correct?") == 2
    assert options_wanted("Which three of these are optimisers?") == 3
    assert options_wanted("Which one is right?") == 1


def test_each_option_is_scored_and_the_one_the_passage_states_is_chosen(small_llm):
    options = parse_options(QUESTION)
    usage = {"prompt_tokens": 0}
    choice = choose_options(small_llm, system_prompt(), PASSAGE, QUESTION, options, usage)
    assert set(choice.scores) == {"A", "B", "C"}
    assert all(0.0 <= p <= 1.0 for p in choice.scores.values())
    assert choice.letters == ["B"], choice.scores
    assert choice.line() == "Answer: B"
    assert usage["prompt_tokens"] > 0
    two = choose_options(
        small_llm, system_prompt(), PASSAGE, "Which TWO are true?\n" + QUESTION[43:], options
    )
    assert len(two.letters) == 2 and two.letters == sorted(two.letters)


def test_a_course_multiple_choice_question_is_answered_with_the_chosen_option(course_tutor):
    question = (
        "Which activation function does a GAN discriminator's output layer usually use?\n"
        "A) Sigmoid\nB) Softmax over the vocabulary\nC) No activation at all"
    )
    events = list(course_tutor.stream(question))
    answer = next(e.answer for e in events if isinstance(e, Done))
    streamed = "".join(e.text for e in events if isinstance(e, Token))
    assert not answer.abstained, answer.text
    assert "options_s" in answer.timings
    # The closing line names one of the options, as decided in code, and the learner saw it.
    last = answer.text.strip()[-9:]
    assert last in {"Answer: A", "Answer: B", "Answer: C"}, answer.text
    assert streamed.strip().endswith(last)


def test_declines_of_multiple_choice_questions_are_compared_on_the_same_rows():
    from tutor.evals.mcq_declines import by_both, by_floor, by_gate, choose_floor, rates

    def row(answerable, gate, best, right=True, group="course"):
        scores = None if best is None else {"A": best, "B": best / 2}
        chosen, correct = (["A"], ["A"] if right else ["B"])
        return dict(answerable=answerable, gate=gate, scores=scores, chosen=chosen,
                    correct=correct, group=group)  # fmt: skip

    rows = [row(True, 0.9, 0.5 + 0.01 * i) for i in range(20)]
    rows += [row(True, 0.1, 0.7, right=False), row(False, 0.1, 0.3, group="near_miss")]
    rows += [row(False, 0.5, 0.35, group="near_miss"), row(False, None, None, group="off_topic")]
    # The floor declines at most 5 % of the answerable rows: one of 21.
    floor = choose_floor(rows, by_floor, 0.05)
    assert sum(by_floor(r, floor) for r in rows if r["answerable"]) == 1
    assert by_gate(rows[-1], 0.3) and by_floor(rows[-1], 0.0)  # nothing retrieved: declined
    gate = rates(rows, lambda r: by_gate(r, 0.3))
    assert gate["false_abstention"]["k"] == 1 and gate["refusal_recall"]["k"] == 2
    assert gate["strict_accuracy"]["k"] == 20 and gate["refusal_recall_off_topic"]["k"] == 1
    # Declined only when both say so: the wrong answer the gate declined is answered.
    both = rates(rows, lambda r: by_both(r, 0.3, 0.4))
    assert both["false_abstention"]["k"] == 0 and both["refusal_recall"]["k"] == 2
