import pytest

from tutor.index import build_index, load_index
from tutor.retrieve import Retriever, rrf_fuse


@pytest.fixture
def retriever(settings, embedder, corpus_copy):
    # Two copies of one passage under different names: only one may reach the prompt.
    (corpus_copy / "gans_copy.md").write_text((corpus_copy / "gans.md").read_text())
    build_index(settings, embedder=embedder)
    return Retriever(load_index(settings), embedder, settings)


def test_rrf_rewards_agreement_between_rankings():
    fused = rrf_fuse([["a", "b", "c"], ["b", "c"]], k=60)
    assert max(fused, key=fused.get) == "b"


@pytest.mark.parametrize(
    "query,source",
    [
        ("how does the chain rule give gradients for every weight", "backprop.md"),
        ("what is mode collapse", "gans.md"),
        ("why do RNN gradients vanish on long sequences", "rnn.ipynb"),
        ("storing weights as 4-bit integers", "quantization.html"),
        ("reverse a gradual noising process", "diffusion.pdf"),
    ],
)
def test_hybrid_search_finds_the_passage_that_answers(retriever, query, source):
    hits = retriever.search(query, top_k=3)
    assert hits[0].chunk.source_id.replace("_copy", "") == source


def test_bm25_catches_rare_exact_terms(retriever):
    hits = retriever.search("WGAN non-saturating log D(G(z))", mode="bm25", top_k=2)
    assert hits and "non-saturating" in hits[0].chunk.text


def test_phase_filter_keeps_only_that_phase(retriever):
    hits = retriever.search("neural networks", top_k=5, phase=3)
    assert hits and all(h.chunk.phase == 3 for h in hits)
    assert all(h.chunk.phase == 2 for h in retriever.search("gradients", top_k=5, phase=2))


def test_near_duplicate_passages_are_dropped(retriever):
    hits = retriever.search("generator and discriminator trained against each other", top_k=6)
    texts = [h.chunk.text for h in hits]
    assert len(texts) == len(set(texts))
    assert {h.chunk.source_id for h in hits} & {"gans.md", "gans_copy.md"}


def test_hits_report_every_score(retriever):
    hit = retriever.search("mode collapse", top_k=1)[0]
    assert 0 < hit.dense_score <= 1 and hit.score > 0
    assert hit.bm25_score and hit.bm25_rank == 1
    row = hit.to_dict()
    assert row["heading_path"] == ["Generative Adversarial Networks", "Mode collapse"]
    assert row["text"] == hit.chunk.text
