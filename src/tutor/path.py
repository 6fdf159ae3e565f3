"""The learning path: the roadmap's suggested order, mapped onto its phases and sections,
joined with the study notes' prerequisites into one graph of topics.

The roadmap's order ("1. Math & Python -> 2. ML Basics -> ...") is not its phase order
(it puts Transformers & LLMs before the generative models of the same phase), so each step
is matched to the sections it names, by words:

1. a section whose title shares words with a step belongs to the step sharing the most;
2. otherwise, one whose topic list does (Core Concepts lists GANs, VAEs, diffusion);
3. otherwise, the step most of its phase's sections went to;
4. a phase with no section matched takes the step its title names, else the next step
   not yet used (Stay Updated -> Continuous Learning).

The three "Other topics" have no step: each comes right after the step that holds its
latest prerequisite. Within a step, topics follow their prerequisites, then roadmap order.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

import networkx as nx

from tutor.roadmap import NoteRef, Phase, parse_roadmap, study_notes

_ORDER = re.compile(r"Suggested Learning Path Order\**\s*\n+(.+?)(?:\n\s*\n|\Z)", re.S | re.I)
_STEP = re.compile(r"^\s*(\d+)\.\s*(.+?)\s*$")
# Words that tell nothing about which part of the roadmap a step means.
_GENERIC = {"and", "the", "of", "for", "a", "to", "model", "basic", "concept", "advanced", "ai"}
_SPELLED_OUT = {
    "ml": "machine learning",
    "dl": "deep learning",
    "llm": "large language model",
    "math": "mathematic",
    "gen": "generative",
}


def _words(text: str) -> set[str]:
    """Content words, singular, with the roadmap's abbreviations spelled out.

    >>> sorted(_words("Transformers & LLMs"))
    ['language', 'large', 'transformer']
    """
    words = set()
    for word in re.findall(r"[a-z0-9]+", text.lower()):
        if len(word) > 3 and word.endswith("s"):
            word = word[:-1]
        for part in _SPELLED_OUT.get(word, word).split():
            if part not in _GENERIC:
                words.add(part)
    return words


@dataclass
class Step:
    number: int
    title: str
    sections: list[tuple[int, str]] = field(default_factory=list)  # (phase, section title)
    phases: list[int] = field(default_factory=list)  # phases with no sections (Stay Updated)


@dataclass
class Topic:
    id: str  # the study note's file stem, as prerequisites name it
    title: str
    source_id: str
    phase: int | str | None
    section: str | None
    step: int | None  # None for the "Other topics"
    after_step: int  # where it sits in the order: its step, or the step it follows
    prerequisites: list[str]


def parse_steps(text: str) -> list[Step]:
    """The numbered steps of the roadmap's "Suggested Learning Path Order" line.

    >>> [(s.number, s.title) for s in parse_steps(
    ...     "**Suggested Learning Path Order**\\n\\n1. Math → 2. ML Basics\\n")]
    [(1, 'Math'), (2, 'ML Basics')]
    """
    found = _ORDER.search(text)
    if not found:
        return []
    steps = []
    for part in re.split(r"→|->", found.group(1)):
        match = _STEP.match(part.strip())
        if match:
            steps.append(Step(int(match.group(1)), match.group(2)))
    return steps


def _best_step(words: set[str], steps: list[Step]) -> Step | None:
    if not steps:
        return None
    scores = [(len(words & _words(s.title)), -s.number, s) for s in steps]
    score, _, step = max(scores, key=lambda x: x[:2])
    return step if score > 0 else None


def map_steps(steps: list[Step], phases: list[Phase]) -> list[Step]:
    """Fill each step's sections (and section-less phases) by the rules in the module's
    docstring. Returns the same steps."""
    numbered = [p for p in phases if isinstance(p.number, int)]
    for phase in numbered:
        unmatched = []
        for section in phase.sections:
            step = _best_step(_words(section.title), steps) or _best_step(
                _words(" ".join(section.topics)), steps
            )
            if step:
                step.sections.append((phase.number, section.title))
            else:
                unmatched.append(section)
        counts = Counter(s.number for s in steps for p, _ in s.sections if p == phase.number)
        if unmatched and counts:
            step = next(s for s in steps if s.number == counts.most_common(1)[0][0])
            step.sections.extend((phase.number, s.title) for s in unmatched)
    last = 0
    for phase in numbered:
        used = [s.number for s in steps if any(p == phase.number for p, _ in s.sections)]
        if used:
            last = max(used)
            continue
        step = _best_step(_words(phase.title), steps) or next(
            (s for s in steps if s.number > last and not s.sections and not s.phases), None
        )
        if step:
            step.phases.append(phase.number)
            last = step.number
    return steps


@dataclass
class LearningPath:
    steps: list[Step]
    topics: dict[str, Topic]  # by topic id, in path order
    graph: nx.DiGraph  # prerequisite -> topic
    unknown_prerequisites: list[tuple[str, str]]  # (topic, a prerequisite with no note)

    @property
    def order(self) -> list[str]:
        return list(self.topics)

    def by_source(self, source_id: str) -> Topic | None:
        return next((t for t in self.topics.values() if t.source_id == source_id), None)

    def step_title(self, topic: Topic) -> str:
        if topic.step is None:
            return f"Other topics (after step {topic.after_step})"
        return f"Step {topic.step}: {self.steps[topic.step - 1].title}"

    def where(self, topic: Topic) -> str:
        """Where a topic sits, in words: "Phase 3, Transformers & Large Language Models
        (step 4 of 8: Transformers & LLMs)"."""
        if topic.step is None:
            return f"Other topics (after step {topic.after_step} of {len(self.steps)})"
        where = f"Phase {topic.phase}, {topic.section}" if topic.section else f"Phase {topic.phase}"
        step = self.steps[topic.step - 1]
        return f"{where} (step {step.number} of {len(self.steps)}: {step.title})"

    def ancestors(self, topic_id: str) -> list[str]:
        """Every topic that `topic_id` builds on, in path order."""
        before = nx.ancestors(self.graph, topic_id)
        return [t for t in self.topics if t in before]

    def to_dict(self) -> dict:
        """Plain data (the API's /v1/path): steps, topics in path order with their direct
        prerequisites, and the graph's edges without the ones implied by others."""
        return {
            "steps": [asdict(s) for s in self.steps],
            "topics": [asdict(t) for t in self.topics.values()],
            "edges": sorted(list(e) for e in nx.transitive_reduction(self.graph).edges),
        }

    @classmethod
    def from_dict(cls, data: dict) -> LearningPath:
        steps = [
            Step(s["number"], s["title"], [tuple(x) for x in s["sections"]], s["phases"])
            for s in data["steps"]
        ]
        topics = {t["id"]: Topic(**t) for t in data["topics"]}
        graph = nx.DiGraph()
        graph.add_nodes_from(topics)
        graph.add_edges_from((p, t.id) for t in topics.values() for p in t.prerequisites)
        return cls(steps, topics, graph, [])

    def dot(self, status: dict[str, str] | None = None, group: str | None = None) -> str:
        """Graphviz source: one box per step, topics inside in path order, an arrow from
        each prerequisite (implied ones left out); `status` (topic id -> mastered, studied,
        next) colours the topics. With `group` (a `step_title`), only that step's topics
        and, dashed, what they build on from other steps."""
        status = status or {}
        fill = {"mastered": "#9be39b", "studied": "#d4f1d4", "next": "#ffc266"}
        shown = set(self.topics)
        if group is not None:
            inside = {t.id for t in self.topics.values() if self.step_title(t) == group}
            shown = inside | {p for t in inside for p in self.topics[t].prerequisites}
        lines = [
            "digraph path {",
            f"  rankdir={'LR' if group else 'TB'}; newrank=true;",
            '  node [shape=box, style="rounded,filled", fillcolor=white, '
            'fontname="sans-serif", fontsize=11];',
        ]
        groups: dict[str, list[Topic]] = {}
        for topic in self.topics.values():
            if topic.id in shown:
                groups.setdefault(self.step_title(topic), []).append(topic)
        for i, (title, members) in enumerate(groups.items()):
            outside = group is not None and title != group
            lines.append(
                f'  subgraph cluster_{i} {{ label="{_dot_text(title)}"; '
                f"style={'dashed' if outside else 'rounded'};"
            )
            for t in members:
                colour = fill.get(status.get(t.id, ""), "white")
                mark = {"mastered": "✓ ", "next": "→ "}.get(status.get(t.id, ""), "")
                label = _dot_text(mark + t.title.split(":")[0])
                lines.append(f'    "{t.id}" [label="{label}", fillcolor="{colour}"];')
            lines.append("  }")
        for a, b in sorted(nx.transitive_reduction(self.graph.subgraph(shown)).edges):
            lines.append(f'  "{a}" -> "{b}";')
        lines.append("}")
        return "\n".join(lines)

    def groups(self) -> list[str]:
        """The step titles, in path order (the other topics as one group)."""
        return list(dict.fromkeys(self.step_title(t) for t in self.topics.values()))


def _dot_text(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _roadmap_rank(note: NoteRef, phases: list[Phase]) -> tuple:
    """Where the roadmap itself lists a note's topic: phase, section, place in the topic list."""
    for i, phase in enumerate(phases):
        if str(phase.number) != str(note.phase):
            continue
        for j, section in enumerate(phase.sections):
            if section.title == note.section:
                listed = [k for k, t in enumerate(section.topics) if _words(note.title) & _words(t)]
                return (i, j, min(listed, default=len(section.topics)), note.title)
        return (i, len(phase.sections), 0, note.title)
    return (len(phases), 0, 0, note.title)


def build_path(roadmap_text: str, notes: list[NoteRef]) -> LearningPath:
    """The suggested order joined with the notes' prerequisites. Raises ValueError when
    the prerequisites form a cycle (then no order can respect them)."""
    phases = parse_roadmap(roadmap_text)
    steps = map_steps(parse_steps(roadmap_text), phases)
    step_of: dict[tuple, int] = {}
    for step in steps:
        step_of.update({key: step.number for key in step.sections})
        step_of.update({(phase, None): step.number for phase in step.phases})

    known = {n.topic_id for n in notes}
    graph = nx.DiGraph()
    graph.add_nodes_from(n.topic_id for n in notes)
    unknown = []
    for note in notes:
        for prerequisite in note.prerequisites:
            if prerequisite in known:
                graph.add_edge(prerequisite, note.topic_id)
            else:
                unknown.append((note.topic_id, prerequisite))
    if not nx.is_directed_acyclic_graph(graph):
        cycle = " -> ".join(a for a, _ in nx.find_cycle(graph))
        raise ValueError(f"The study notes' prerequisites form a cycle: {cycle}")

    by_id = {n.topic_id: n for n in notes}
    rank = {n.topic_id: _roadmap_rank(n, phases) for n in notes}
    steps_of = {
        n.topic_id: step_of.get((n.phase, n.section), step_of.get((n.phase, None))) for n in notes
    }
    after: dict[str, int] = {}
    for topic_id in nx.topological_sort(graph):
        own = steps_of[topic_id]
        before = [after[p] for p in graph.predecessors(topic_id)]
        after[topic_id] = own if own is not None else max(before, default=len(steps))
    # Other topics sort just after the step they follow (x.5), then by prerequisites.
    order = nx.lexicographical_topological_sort(
        graph,
        key=lambda t: (after[t] + (0.5 if steps_of[t] is None else 0), rank[t]),
    )
    topics = {}
    for topic_id in order:
        note = by_id[topic_id]
        topics[topic_id] = Topic(
            topic_id,
            note.title,
            note.source_id,
            note.phase,
            note.section,
            steps_of[topic_id],
            after[topic_id],
            [p for p in note.prerequisites if p in known],
        )
    return LearningPath(steps, topics, graph, unknown)


def load_path(corpus_dir: Path) -> LearningPath | None:
    """The corpus's learning path, or None for a corpus without a roadmap (a test corpus)."""
    roadmap = Path(corpus_dir) / "roadmap.md"
    if not roadmap.is_file():
        return None
    return build_path(roadmap.read_text(encoding="utf-8"), study_notes(corpus_dir))


def late_prerequisites(path: LearningPath) -> list[tuple[str, str]]:
    """(topic, prerequisite) pairs where the prerequisite's step comes after the topic's:
    places where the suggested order and the notes disagree."""
    return [
        (t.id, p)
        for t in path.topics.values()
        for p in t.prerequisites
        if path.topics[p].after_step > t.after_step
    ]
