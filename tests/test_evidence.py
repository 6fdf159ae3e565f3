"""Evidence selection with the real embedder: the sentences that answer, within the budget."""

from tutor.chunking import Chunk
from tutor.evidence import GAP, low_value, select_evidence, sentence_spans
from tutor.retrieve import Hit


def hit(text: str, heading: str = "Notes", source: str = "notes/gans.md", n: int = 0) -> Hit:
    chunk = Chunk(
        id=f"{source}#{n}", text=text, source_id=source, title="GANs", heading_path=[heading]
    )
    return Hit(chunk, 1.0 / (n + 1), 0.5, None, n + 1, None)


def words(text: str) -> int:
    return len(text.split())


GAN_NOTES = (
    "Generative adversarial networks pit two networks against each other. "
    "The generator maps random noise to samples. "
    "Mode collapse happens when the generator produces only a few kinds of output, "
    "ignoring most of the data distribution. "
    "It is usually spotted by looking at many samples at once. "
    "Training is often done with the Adam optimizer."
)
GAN_EXERCISES = (
    "1. Explain what mode collapse is in a GAN and why mode collapse matters.\n"
    "2. Train a GAN on MNIST for ten epochs."
)


def test_sentence_spans_cover_sentences_and_list_items_exactly():
    text = "First idea. Second idea!\n\n- a bullet item here\n- another item\n1. numbered step"
    pieces = [text[s:e] for s, e in sentence_spans(text)]
    assert pieces == [
        "First idea.",
        "Second idea!",
        "- a bullet item here",
        "- another item",
        "1. numbered step",
    ]


def test_the_answering_sentence_is_chosen_over_an_exercise_that_repeats_the_question(embedder):
    question = "What is mode collapse in a GAN?"
    hits = [hit(GAN_EXERCISES, heading="Exercises", n=0), hit(GAN_NOTES, n=1)]
    excerpts = select_evidence(
        question, hits, embedder.embed, embedder.embed_query(question), 40, words
    )
    assert hits[1] in [x.hit for x in excerpts]
    assert "produces only a few kinds of output" in excerpts[0].text
    assert all("Explain what mode collapse" not in x.text for x in excerpts)
    assert low_value(hits[0], "Explain what mode collapse is in a GAN.")


def test_evidence_stays_within_the_budget_and_its_spans_point_at_the_chunk_text(embedder):
    question = "How is mode collapse spotted?"
    hits = [hit(GAN_NOTES)]
    excerpts = select_evidence(
        question, hits, embedder.embed, embedder.embed_query(question), 30, words
    )
    (excerpt,) = excerpts
    assert sum(words(GAN_NOTES[s:e]) for s, e in excerpt.spans) <= 30
    assert excerpt.text == GAP.join(GAN_NOTES[s:e] for s, e in excerpt.spans)
    # "It is usually spotted ..." refers back, so the sentence it refers to comes with it.
    assert "Mode collapse happens when" in excerpt.text
    assert "It is usually spotted" in excerpt.text
    assert "Adam optimizer" not in excerpt.text


def test_the_best_sentence_is_kept_even_when_it_alone_exceeds_the_budget(embedder):
    question = "What is mode collapse?"
    excerpts = select_evidence(
        question, [hit(GAN_NOTES)], embedder.embed, embedder.embed_query(question), 3, words
    )
    assert excerpts and "Mode collapse happens" in excerpts[0].text


ROADMAP_PHASE = (
    "1. **Core Concepts**\n\n"
    "   * **Topics**:\n\n"
    "     * Generative models vs discriminative models\n"
    "     * Autoencoders, Variational Autoencoders (VAEs)\n"
    "     * Generative Adversarial Networks (GANs)\n"
    "     * Diffusion models\n"
    "   * **Practice**: Generate images using GANs (e.g., DCGAN)"
)


def test_a_chosen_list_item_brings_the_line_that_introduces_its_list(embedder):
    question = "Where are variational autoencoders covered?"
    excerpts = select_evidence(
        question,
        [hit(ROADMAP_PHASE, heading="Phase 3")],
        embedder.embed,
        embedder.embed_query(question),
        12,
        words,
    )
    (excerpt,) = excerpts
    assert "Variational Autoencoders (VAEs)" in excerpt.text
    # The item is read as one of the phase's topics, not as a bare claim.
    assert excerpt.text.startswith("* **Topics**:")
    assert "Diffusion models" not in excerpt.text  # the other items stay out of the budget


def test_excerpts_keep_the_order_retrieval_gave_their_passages(embedder):
    question = "What is mode collapse and how is it spotted?"
    training = hit(
        "GAN training can fail in several ways. Mode collapse is one of them, studied in "
        "later notes.",
        source="notes/gan-training.md",
    )
    notes = hit(GAN_NOTES)
    for hits in ([training, notes], [notes, training]):
        excerpts = select_evidence(
            question, hits, embedder.embed, embedder.embed_query(question), 80, words
        )
        assert [x.hit for x in excerpts] == hits


def test_a_bare_list_number_is_never_a_sentence_of_its_own():
    pieces = [GAN_EXERCISES[s:e] for s, e in sentence_spans(GAN_EXERCISES)]
    assert pieces == GAN_EXERCISES.split("\n")


def asked_with(tutor, question: str, **settings):
    saved = tutor.settings
    tutor.settings = saved.model_copy(update=settings)
    try:
        return tutor.ask(question)
    finally:
        tutor.settings = saved


def test_evidence_mode_answers_from_excerpts_and_cites_their_spans(course_tutor):
    question = "What is mode collapse in a GAN?"
    whole = asked_with(course_tutor, question, evidence_tokens=0)
    answer = asked_with(course_tutor, question, evidence_tokens=120)
    assert not answer.abstained, answer.text
    # The prompt's parts are counted, and the evidence is a fraction of the whole passages.
    assert {"system", "evidence", "question"} <= answer.prompt_tokens.keys()
    assert answer.prompt_tokens["system"] == whole.prompt_tokens["system"] > 100
    assert answer.prompt_tokens["evidence"] < 0.6 * whole.prompt_tokens["evidence"]
    assert answer.retrieval and answer.citations
    assert sum(len(r["text"].split()) for r in answer.retrieval) < 4 * 120
    chunks = {r["chunk_id"]: r for r in answer.retrieval}
    for citation in answer.citations:
        shown = chunks[citation.chunk_id]
        assert citation.passage == shown["text"]
        assert [list(s) for s in citation.spans] == shown["spans"]
    assert "evidence_s" in answer.timings
    assert any("collapse" in r["text"].lower() for r in answer.retrieval)
