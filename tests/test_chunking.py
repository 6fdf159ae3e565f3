from llama_index.core import Document

from tutor.chunking import chunk_document
from tutor.embed import token_counter
from tutor.ingest import SourceFile, load_document

count = token_counter("all-MiniLM-L6-v2")


def _doc(text: str, source_id: str = "notes/x.md", **meta) -> Document:
    metadata = {
        "source_id": source_id,
        "title": "X",
        "url": None,
        "phase": None,
        "section": None,
        "topic": None,
    }
    metadata.update(meta)
    return Document(text=text, metadata=metadata)


def test_three_headings_give_three_chunks_with_heading_paths():
    chunks = chunk_document(_doc("# A\nalpha text\n## B\nbeta text\n## C\ngamma text"), count)
    assert [c.heading_path for c in chunks] == [["A"], ["A", "B"], ["A", "C"]]


def test_chunks_fit_the_token_budget_and_overlap():
    body = " ".join(f"Sentence number {i} talks about gradient descent steps." for i in range(200))
    chunks = chunk_document(_doc(f"# Long\n\n{body}"), count, chunk_tokens=64, overlap_tokens=16)
    assert len(chunks) > 10
    assert all(count(c.text) <= 64 for c in chunks)
    # Overlap: each chunk starts before the previous one ends.
    assert all(b.start_char < a.end_char for a, b in zip(chunks, chunks[1:], strict=False))


def test_offsets_point_at_the_chunk_text_in_the_source():
    doc = load_document(
        SourceFile(
            __import__("pathlib").Path(__file__).parent / "data" / "corpus" / "gans.md", "gans.md"
        )
    )
    for chunk in chunk_document(doc, count, chunk_tokens=48, overlap_tokens=8):
        assert doc.text[chunk.start_char : chunk.end_char] == chunk.text


def test_chunk_ids_are_deterministic_and_local_to_their_source():
    text = "# T\n\n" + "Attention weights come from a softmax. " * 60
    first = [c.id for c in chunk_document(_doc(text), count, 64, 16)]
    again = [c.id for c in chunk_document(_doc(text), count, 64, 16)]
    other_source = [c.id for c in chunk_document(_doc(text, "notes/y.md"), count, 64, 16)]
    assert first == again
    assert len(set(first)) == len(first)
    assert not set(first) & set(other_source)


def test_roadmap_chunks_carry_phase_and_section(corpus_copy):
    doc = load_document(SourceFile(corpus_copy / "roadmap.md", "roadmap.md"))
    chunks = chunk_document(doc, count)
    by_section = {c.section: c for c in chunks if c.section}
    assert by_section["Neural Networks"].phase == 2
    assert by_section["Core Concepts"].phase == 3
    assert by_section["Core Concepts"].heading_path == [
        "Phase 3: Introduction to Generative AI",
        "Core Concepts",
    ]


def test_front_matter_tags_and_url_anchor_reach_every_chunk(corpus_copy):
    doc = load_document(SourceFile(corpus_copy / "gans.md", "gans.md"))
    chunks = chunk_document(doc, count)
    assert {c.phase for c in chunks} == {3}
    assert {c.topic for c in chunks} == {"GANs"}
    mode = next(c for c in chunks if c.heading_path[-1] == "Mode collapse")
    assert mode.url == "https://example.org/notes/gans#mode-collapse"
