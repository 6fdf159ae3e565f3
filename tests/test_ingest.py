from pathlib import Path

from tutor.ingest import SourceFile, discover, load_document, load_documents
from tutor.markup import clean_mdx


def _doc(path: Path):
    return load_document(SourceFile(path, path.name))


def test_markdown_front_matter_becomes_metadata(corpus_copy):
    doc = _doc(corpus_copy / "gans.md")
    assert doc.metadata["title"] == "Generative Adversarial Networks"
    assert doc.metadata["phase"] == 3
    assert doc.metadata["topic"] == "GANs"
    assert doc.metadata["url"] == "https://example.org/notes/gans"
    assert not doc.text.startswith("---")


def test_mdx_components_are_stripped_but_their_text_kept(corpus_copy):
    doc = _doc(corpus_copy / "attention.mdx")
    assert "<Tip" not in doc.text and "</Tip>" not in doc.text and "Youtube" not in doc.text
    assert "import {" not in doc.text
    assert "Scaling by the square root of the key dimension" in doc.text
    assert "softmax(q @ k.T" in doc.text  # code blocks survive


def test_mdx_leaves_components_inside_code_fences_alone():
    text = "<Tip>Keep me</Tip>\n```jsx\n<Button label='x' />\n```\n"
    assert "<Button label='x' />" in clean_mdx(text) and "<Tip>" not in clean_mdx(text)


def test_notebook_keeps_markdown_and_code_cells(corpus_copy):
    doc = _doc(corpus_copy / "rnn.ipynb")
    assert doc.metadata["title"] == "Recurrent networks"
    assert "hidden state" in doc.text
    assert "```python\nh = torch.tanh" in doc.text
    assert "LSTMs add gates" in doc.text


def test_html_keeps_main_text_and_headings_only(corpus_copy):
    doc = _doc(corpus_copy / "quantization.html")
    assert doc.metadata["title"] == "Quantization guide"
    assert "# Quantization" in doc.text and "## Trade-offs" in doc.text
    assert "4-bit integers" in doc.text
    for noise in ("Home | Docs", "track()", "Copyright footer"):
        assert noise not in doc.text


def test_pdf_text_is_extracted(corpus_copy):
    assert "reverse a gradual noising process" in _doc(corpus_copy / "diffusion.pdf").text


def test_discover_skips_hidden_files_licences_and_unknown_formats(tmp_path):
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "a.md").write_text("# hidden")
    (tmp_path / "LICENSE.md").write_text("MIT")
    (tmp_path / "SOURCE.md").write_text("provenance")
    (tmp_path / "image.png").write_bytes(b"\x89PNG")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "keep.md").write_text("# Keep")
    assert [s.source_id for s in discover(tmp_path, "extra/")] == ["extra/sub/keep.md"]


def test_unreadable_files_are_skipped_with_a_reason_naming_them(tmp_path):
    (tmp_path / "good.md").write_text("# Good\n\nFine text.")
    (tmp_path / "binary.md").write_bytes(b"\x00\x01\x02 binary junk")
    (tmp_path / "latin1.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    (tmp_path / "broken.ipynb").write_text('{"cells": [')
    (tmp_path / "corrupt.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf")
    (tmp_path / "empty.md").write_text("   \n")
    docs, skipped = load_documents(discover(tmp_path))
    assert [d.metadata["source_id"] for d in docs] == ["good.md"]
    reasons = {s.path.name: s.reason for s in skipped}
    assert set(reasons) == {"binary.md", "latin1.txt", "broken.ipynb", "corrupt.pdf", "empty.md"}
    assert "binary" in reasons["binary.md"]
    assert "UTF-8" in reasons["latin1.txt"]
    assert "notebook" in reasons["broken.ipynb"]
    assert "PDF" in reasons["corrupt.pdf"]
