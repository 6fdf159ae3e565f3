import json
import os
import subprocess
import sys

import pytest

from tutor.retrieve import Retriever
from tutor.roadmap import parse_roadmap, roadmap_tree, study_notes

REPO_CORPUS = __import__("pathlib").Path(__file__).resolve().parents[1] / "corpus"


@pytest.fixture(scope="module")
def tree():
    text = (REPO_CORPUS / "roadmap.md").read_text()
    return roadmap_tree(text, study_notes(REPO_CORPUS))


def test_roadmap_has_six_phases_their_sections_and_the_other_topics(tree):
    # The suggested order is the learning path's (tutor.path), not an empty phase.
    assert [p["phase"] for p in tree] == [1, 2, 3, 4, 5, 6, "other"]
    assert [s["title"] for s in tree[2]["sections"]] == [
        "Core Concepts",
        "Transformers & Large Language Models",
    ]
    assert tree[-1]["topics"] == [
        "RLHF",
        "Limitations of Gen AI models - AI Hallucination",
        "Adversarial prompting",
    ]


def test_sections_carry_topics_resources_and_practice(tree):
    maths = tree[0]["sections"][0]
    assert maths["topics"][:3] == ["Linear algebra", "probability", "statistics"]
    assert maths["resources"][0].startswith("Khan Academy")
    assert maths["practice"] == "Implement vector/matrix operations in Python"
    core = tree[2]["sections"][0]
    assert "Generative Adversarial Networks (GANs)" in core["topics"]  # a nested list
    projects = tree[4]["sections"][2]
    assert projects["topics"] == [
        "Chatbot using GPT",
        "Image generation web app",
        "Personalized content generator",
    ]
    assert any(r.startswith("Papers: arXiv.org") for r in tree[5]["resources"])


def test_every_section_and_the_other_topics_have_study_notes(tree):
    for phase in tree:
        if phase["phase"] is None:
            continue  # the suggested order is not a topic
        groups = phase["sections"] or [phase]
        for group in groups:
            assert group["notes"], f"no study note for {phase['title']} / {group['title']}"
    assert len(tree[-1]["notes"]) == 3


def test_section_spans_do_not_overlap():
    text = (REPO_CORPUS / "roadmap.md").read_text()
    spans = [(s.start, s.end) for p in parse_roadmap(text) for s in p.sections]
    assert all(a_end <= b_start for (_, a_end), (b_start, _) in zip(spans, spans[1:], strict=False))


def test_cli_roadmap_prints_the_tree_and_json():
    env = dict(os.environ, COLUMNS="200")
    shown = subprocess.run(
        [sys.executable, "-m", "tutor.cli", "roadmap"], env=env, capture_output=True, text=True
    )
    assert shown.returncode == 0
    assert "Phase 3: Introduction to Generative AI" in shown.stdout
    assert "notes/phase-3/gans.md" in shown.stdout
    assert "Phase other" not in shown.stdout and "└── Other Topics" in shown.stdout
    assert "Suggested order: 1. Math & Python -> 2. ML Basics" in shown.stdout
    data = json.loads(
        subprocess.run(
            [sys.executable, "-m", "tutor.cli", "roadmap", "--json"],
            env=env,
            capture_output=True,
            text=True,
        ).stdout
    )
    assert data[1]["sections"][0]["title"] == "Neural Networks"


# 20 roadmap topics, phrased as a learner would search, and the note that must answer.
TOPIC_QUERIES = [
    ("eigenvalues and matrix multiplication", "phase-1/linear-algebra.md"),
    ("Bayes rule and conditional probability", "phase-1/probability.md"),
    ("partial derivatives and the gradient vector", "phase-1/calculus.md"),
    ("vectorized array broadcasting in NumPy", "phase-1/numpy.md"),
    ("precision recall and F1 score", "phase-1/evaluation-metrics.md"),
    ("why hold out a validation set", "phase-1/train-test-split.md"),
    ("ReLU versus sigmoid activation", "phase-2/activation-functions.md"),
    ("chain rule through the layers to get weight gradients", "phase-2/backpropagation.md"),
    ("convolution filters and pooling layers", "phase-2/cnns.md"),
    ("forget gate and cell state", "phase-2/lstms.md"),
    ("reparameterization trick and the ELBO", "phase-3/variational-autoencoders.md"),
    ("generator and discriminator minimax game", "phase-3/gans.md"),
    ("forward noising and denoising steps", "phase-3/diffusion-models.md"),
    ("byte pair encoding subword tokens", "phase-3/tokenization-embeddings.md"),
    ("few-shot and chain-of-thought prompts", "phase-4/prompt-engineering.md"),
    ("latent diffusion with a VAE and text encoder", "phase-4/stable-diffusion.md"),
    ("mel spectrogram and vocoder for speech synthesis", "phase-4/text-to-speech.md"),
    ("int8 and 4-bit weights to save memory", "phase-5/quantization.md"),
    ("reward model and PPO fine-tuning from human preferences", "other/rlhf.md"),
    ("model makes up facts that sound confident", "other/hallucination.md"),
]


@pytest.mark.parametrize("query,note", TOPIC_QUERIES)
def test_search_finds_the_study_note_for_each_topic(course_settings, embedder, query, note):
    from tutor.index import load_index

    retriever = Retriever(load_index(course_settings), embedder, course_settings)
    sources = [h.chunk.source_id for h in retriever.search(query, top_k=3)]
    assert f"notes/{note}" in sources, sources
