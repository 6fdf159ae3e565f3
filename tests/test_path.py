"""The learning path: the roadmap's suggested order parsed and mapped onto its phases and
sections, joined with the study notes' prerequisites into one acyclic graph."""

from pathlib import Path

import networkx as nx
import pytest

from tutor.path import LearningPath, build_path, late_prerequisites, parse_steps
from tutor.roadmap import NoteRef, study_notes

CORPUS = Path(__file__).resolve().parents[1] / "corpus"
ROADMAP = (CORPUS / "roadmap.md").read_text()


@pytest.fixture(scope="module")
def path() -> LearningPath:
    return build_path(ROADMAP, study_notes(CORPUS))


def test_the_suggested_order_is_parsed_into_its_eight_steps():
    steps = parse_steps(ROADMAP)
    assert [s.number for s in steps] == list(range(1, 9))
    assert steps[3].title == "Transformers & LLMs"
    assert steps[-1].title == "Continuous Learning"


def test_each_step_covers_the_sections_it_names_not_the_phase_order(path):
    steps = {s.number: s for s in path.steps}
    assert steps[1].sections == [(1, "Mathematics & Statistics"), (1, "Python & Programming")]
    assert steps[2].sections == [(1, "Machine Learning Basics")]
    assert {p for p, _ in steps[3].sections} == {2} and len(steps[3].sections) == 3
    # The order puts transformers (phase 3, section 2) before the generative models of
    # phase 3's section 1: the steps follow the order, not the phases.
    assert steps[4].sections == [(3, "Transformers & Large Language Models")]
    assert steps[5].sections == [(3, "Core Concepts")]
    assert {s for _, s in steps[6].sections} == {
        "Text Generation",
        "Image Generation",
        "Audio & Video Generation",
    }
    assert {p for p, _ in steps[7].sections} == {5} and len(steps[7].sections) == 3
    assert steps[8].phases == [6]  # "Continuous Learning" is phase 6, Stay Updated


def test_the_graph_is_acyclic_and_covers_every_topic(path):
    notes = study_notes(CORPUS)
    assert set(path.topics) == {n.topic_id for n in notes}
    assert nx.is_directed_acyclic_graph(path.graph)
    assert not path.unknown_prerequisites  # every prerequisite names a study note
    for topic in path.topics.values():
        assert topic.step is not None or topic.phase == "other", topic.id
    assert {t.id for t in path.topics.values() if t.step is None} == {
        "rlhf",
        "hallucination",
        "adversarial-prompting",
    }


def test_the_order_puts_every_prerequisite_first_and_agrees_with_the_steps(path):
    position = {t: i for i, t in enumerate(path.order)}
    for topic in path.topics.values():
        for prerequisite in topic.prerequisites:
            assert position[prerequisite] < position[topic.id], (prerequisite, topic.id)
    steps = [t.after_step for t in path.topics.values()]
    assert steps == sorted(steps)  # step by step
    assert late_prerequisites(path) == []
    # The other topics follow the step that holds their latest prerequisite.
    assert path.topics["adversarial-prompting"].after_step == 6
    assert path.where(path.topics["rlhf"]) == "Other topics (after step 6 of 8)"
    assert path.where(path.topics["gpt-bert-llama"]) == (
        "Phase 3, Transformers & Large Language Models (step 4 of 8: Transformers & LLMs)"
    )


def test_a_cycle_in_the_prerequisites_is_refused():
    notes = [
        NoteRef("notes/a.md", "A", 1, None, "a", ["b"]),
        NoteRef("notes/b.md", "B", 1, None, "b", ["a"]),
    ]
    with pytest.raises(ValueError, match="cycle"):
        build_path(ROADMAP, notes)


def test_the_path_survives_its_plain_data_and_draws_as_graphviz(path):
    again = LearningPath.from_dict(path.to_dict())
    assert again.order == path.order
    assert nx.ancestors(again.graph, "gans") == nx.ancestors(path.graph, "gans")
    dot = path.dot({"linear-algebra": "mastered", "calculus": "next"})
    assert dot.count("subgraph cluster_") == 9  # eight steps and the other topics
    assert '"linear-algebra" -> "calculus";' in dot
    assert "✓ Linear Algebra" in dot and "→ Calculus" in dot


def test_one_step_is_drawn_with_what_it_builds_on_from_other_steps(path):
    dot = path.dot({}, "Step 5: Generative Models (GANs/VAEs/Diffusion)")
    assert '"gans"' in dot and '"autoencoders"' in dot  # VAEs build on autoencoders (step 3)
    assert '"linear-algebra"' not in dot  # not a direct prerequisite of step 5
    assert dot.count("style=rounded;") == 1 and "style=dashed;" in dot
    assert path.groups()[6] == "Other topics (after step 6)"
