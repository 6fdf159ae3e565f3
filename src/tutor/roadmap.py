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


@dataclass
class Phase:
    number: int | str | None
    title: str
    start: int
    end: int
    sections: list[Section] = field(default_factory=list)


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
            phase.sections.append(
                Section(int(m.group(1)), m.group(2).strip(), m.start(), section_end)
            )
        phases.append(phase)
    return phases


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
