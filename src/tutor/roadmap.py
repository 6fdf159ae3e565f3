"""The roadmap's shape: phases and their numbered sections, with character spans.

Only what the chunker needs to tag roadmap passages with phase and section;
the navigable tree for the API and UI grows from here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_PHASE = re.compile(r"^#{1,3}\s+\**Phase\s+(\d+)\s*:\s*(.+?)\**\s*$", re.M)
_SECTION = re.compile(r"^(\d+)\.\s+\*\*(.+?)\*\*\s*$", re.M)
_OTHER = re.compile(r"^\*\*Other Topics\*\*\s*$", re.M | re.I)
_PATH = re.compile(r"^\W*\*\*Suggested Learning Path Order\*\*\s*$", re.M | re.I)


@dataclass
class Section:
    number: int
    title: str
    start: int
    end: int
    topics: list[str] = field(default_factory=list)
    resources: list[str] = field(default_factory=list)
    practice: str | None = None


@dataclass
class Phase:
    number: int | str | None
    title: str
    start: int
    end: int
    sections: list[Section] = field(default_factory=list)
    topics: list[str] = field(default_factory=list)  # phase-level lists (Other Topics)
    resources: list[str] = field(default_factory=list)  # phase-level lists (Stay Updated)


def parse_roadmap(text: str) -> list[Phase]:
    """Phases with their sections, located by character offsets in `text`.

    >>> [(p.number, [s.title for s in p.sections]) for p in parse_roadmap(
    ...     "## **Phase 1: Basics**\\n1. **Math**\\n2. **Python**\\n")]
    [(1, ['Math', 'Python'])]
    """
    marks = [(m.start(), int(m.group(1)), m.group(2).strip()) for m in _PHASE.finditer(text)]
    other = _OTHER.search(text)
    if other:
        marks.append((other.start(), "other", "Other Topics"))
    path = _PATH.search(text)
    if path:
        marks.append((path.start(), None, "Suggested Learning Path Order"))
    marks.sort(key=lambda m: m[0])
    phases = []
    for i, (start, number, title) in enumerate(marks):
        end = marks[i + 1][0] if i + 1 < len(marks) else len(text)
        phase = Phase(number, title, start, end)
        found = list(_SECTION.finditer(text, start, end))
        for j, m in enumerate(found):
            section_end = found[j + 1].start() if j + 1 < len(found) else end
            section = Section(int(m.group(1)), m.group(2).strip(), m.start(), section_end)
            fields = _fields(text[m.end() : section_end])
            section.topics = fields.get("topics", [])
            section.resources = fields.get("resources", [])
            practice = fields.get("practice")
            section.practice = "; ".join(practice) if practice else None
            if not fields:  # a plain list, like the portfolio projects
                section.topics = _bullets(text[m.end() : section_end])
            phase.sections.append(section)
        if not phase.sections:
            body = text[start:end].split("\n", 1)[-1]
            fields = _fields(body)
            phase.resources = fields.get("resources", [])
            if number == "other":
                phase.topics = _bullets(body)
        phases.append(phase)
    return phases


_FIELD = re.compile(r"^(\s*)\*\s+\*\*(\w+)\*\*\s*:\s*(.*)$")
_BULLET = re.compile(r"^(\s*)\*\s+(.*\S)\s*$")


def _plain(text: str) -> str:
    return re.sub(r"[*_]", "", text).strip().rstrip(":").strip()


def _bullets(body: str) -> list[str]:
    """Bullet items, leaving out lead-in lines such as "Build your portfolio:"."""
    matches = [m for m in map(_BULLET.match, body.splitlines()) if m]
    return [_plain(m.group(2)) for m in matches if not m.group(2).rstrip("*").endswith(":")]


def _fields(body: str) -> dict[str, list[str]]:
    """`* **Label**: a, b` lines, or a label followed by deeper bullets, as label -> items."""
    fields: dict[str, list[str]] = {}
    label, indent = None, 0
    for line in body.splitlines():
        field_match = _FIELD.match(line)
        if field_match:
            label, indent = field_match.group(2).lower(), len(field_match.group(1))
            inline = field_match.group(3).strip()
            items = [_plain(x) for x in inline.split(",")] if inline else []
            if label == "practice" and inline:
                items = [_plain(inline)]
            fields[label] = [x for x in items if x]
            continue
        bullet = _BULLET.match(line)
        if bullet and label and len(bullet.group(1)) > indent:
            fields[label].append(_plain(bullet.group(2)))
    return fields


def roadmap_sections(text: str) -> list[tuple[int, int, list[str]]]:
    """(start, end, heading path) spans that cover the roadmap: each phase's introduction,
    then each numbered section, so no passage straddles two sections."""
    spans = []
    for phase in parse_roadmap(text):
        label = (
            f"Phase {phase.number}: {phase.title}" if isinstance(phase.number, int) else phase.title
        )
        intro_end = phase.sections[0].start if phase.sections else phase.end
        spans.append((phase.start, intro_end, [label]))
        spans.extend((s.start, s.end, [label, s.title]) for s in phase.sections)
    return [s for s in spans if text[s[0] : s[1]].strip()]


def locate(phases: list[Phase], offset: int) -> tuple[int | str | None, str | None]:
    """The phase number and section title that contain `offset`, if any."""
    for phase in phases:
        if phase.start <= offset < phase.end:
            for section in phase.sections:
                if section.start <= offset < section.end:
                    return phase.number, section.title
            return phase.number, None
    return None, None


@dataclass
class NoteRef:
    source_id: str
    title: str
    phase: int | str | None
    section: str | None
    topic_id: str = ""  # the file stem, as other notes' prerequisites name it
    prerequisites: list[str] = field(default_factory=list)


def study_notes(corpus_dir) -> list[NoteRef]:
    """The study notes under `corpus_dir/notes`, from their front matter."""
    from pathlib import Path

    from tutor.ingest import split_front_matter

    notes = []
    root = Path(corpus_dir)
    for path in sorted((root / "notes").rglob("*.md")):
        meta, _ = split_front_matter(path.read_text(encoding="utf-8", errors="replace"))
        notes.append(
            NoteRef(
                path.relative_to(root).as_posix(),
                str(meta.get("title", path.stem)),
                meta.get("phase"),
                meta.get("section"),
                path.stem,
                [str(p) for p in meta.get("prerequisites") or []],
            )
        )
    return notes


def roadmap_tree(text: str, notes: list[NoteRef]) -> list[dict]:
    """The roadmap as plain data: phases -> sections -> topics, resources, practice, notes.
    The phases 1-6, then "other" (the Other Topics); the suggested order is the path's."""
    tree = []
    for phase in parse_roadmap(text):
        if phase.number is None:
            continue  # the suggested order is not a phase: see tutor.path

        def notes_for(section_title: str | None, phase=phase) -> list[dict]:
            return [
                {"source_id": n.source_id, "title": n.title}
                for n in notes
                if str(n.phase) == str(phase.number)
                and (section_title is None or n.section == section_title)
            ]

        tree.append(
            {
                "phase": phase.number,
                "title": phase.title,
                "topics": phase.topics,
                "resources": phase.resources,
                "notes": notes_for(None) if not phase.sections else [],
                "sections": [
                    {
                        "number": s.number,
                        "title": s.title,
                        "topics": s.topics,
                        "resources": s.resources,
                        "practice": s.practice,
                        "notes": notes_for(s.title),
                    }
                    for s in phase.sections
                ],
            }
        )
    return tree
