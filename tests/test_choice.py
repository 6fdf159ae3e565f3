"""Multiple choice decided option by option from the model's P(yes), then explained."""

from __future__ import annotations

from tutor.answer import Done, Token
from tutor.choice import choose_options, options_wanted, question_stem
from tutor.hint import parse_options
from tutor.prompts import system_prompt

PASSAGE = (
    '<passage number="1" source="notes/gan.md" section="GANs">\n'
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
