"""Heading-aware chunking: split at Markdown headings, then to a token budget with overlap.

Pure functions over Documents; no models are loaded here (the token counter
is passed in).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from llama_index.core import Document
from llama_index.core.node_parser import MarkdownNodeParser, SentenceSplitter

from tutor.ingest import clean_heading
from tutor.roadmap import locate, parse_roadmap, roadmap_sections

CHUNKER_VERSION = 1
HEADING_SEPARATOR = " > "
_HEADING_LINE = re.compile(r"^(#{1,6})\s+(.*)$")


@dataclass
class Chunk:
    id: str
    text: str
    source_id: str
    title: str
    heading_path: list[str] = field(default_factory=list)
    url: str | None = None
    phase: int | str | None = None
    section: str | None = None
    topic: str | None = None
    start_char: int = 0
    end_char: int = 0
    topics: list[str] = field(default_factory=list)  # roadmap topic ids (tutor.tagging)

    @property
    def location(self) -> str:
        return HEADING_SEPARATOR.join(self.heading_path) or self.title

    def indexed_text(self) -> str:
        """What is embedded and keyword-indexed: the passage under its title and headings,
        so a passage that says "it" still matches a query naming the topic."""
        return f"{self.title}\n{self.location}\n\n{self.text}"

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Chunk:
        return cls(**data)


def slugify(heading: str) -> str:
    """GitHub-style anchor for a heading.

    >>> slugify("Phase 2: Deep Learning")
    'phase-2-deep-learning'
    """
    slug = re.sub(r"[^\w\- ]", "", heading.lower()).strip()
    return re.sub(r"\s", "-", slug)


def chunk_id(source_id: str, start_char: int, text: str) -> str:
    """Same source, place and text give the same id on every build."""
    return hashlib.sha1(f"{source_id}\x00{start_char}\x00{text}".encode()).hexdigest()[:16]


def _sections(doc: Document, is_roadmap: bool) -> list[tuple[str, list[str]]]:
    """(section text, heading path) pairs, in document order."""
    if is_roadmap:  # its sections are numbered bold items, not headings
        return [(doc.text[a:b].strip(), path) for a, b, path in roadmap_sections(doc.text)]
    parser = MarkdownNodeParser(header_path_separator="\x1f")
    sections = []
    for node in parser.get_nodes_from_documents([doc]):
        text = node.get_content()
        parents = [clean_heading(h) for h in node.metadata.get("header_path", "").split("\x1f")]
        path = [h for h in parents if h]
        first_line = text.split("\n", 1)[0]
        heading = _HEADING_LINE.match(first_line)
        if heading:
            path.append(clean_heading(heading.group(2)))
        sections.append((text, path))
    return sections


def chunk_document(
    doc: Document,
    count_tokens: Callable[[str], int],
    chunk_tokens: int = 192,
    overlap_tokens: int = 32,
) -> list[Chunk]:
    """Split one document into chunks that keep their heading path and character offsets.

    Three headings in, three chunks out (when each section fits the budget):
    "# A\\nx\\n## B\\ny\\n## C\\nz" -> heading paths [A], [A, B], [A, C].
    """
    meta = doc.metadata
    text = doc.text
    splitter = SentenceSplitter(
        chunk_size=chunk_tokens,
        chunk_overlap=min(overlap_tokens, chunk_tokens // 2),
        tokenizer=lambda s: range(count_tokens(s)),
    )
    is_roadmap = meta["source_id"].endswith("roadmap.md")
    roadmap = parse_roadmap(text) if is_roadmap else None
    chunks: list[Chunk] = []
    cursor = 0
    for section_text, path in _sections(doc, is_roadmap):
        section_start = text.find(section_text, cursor)
        if section_start < 0:
            section_start = cursor
        cursor = section_start
        piece_cursor = section_start
        for piece in splitter.split_text(section_text):
            if not piece.strip():
                continue
            start = text.find(piece, piece_cursor)
            if start < 0:  # the splitter normalised whitespace; keep the best estimate
                start = piece_cursor
            end = start + len(piece)
            piece_cursor = start + 1
            phase, section, topic = meta.get("phase"), meta.get("section"), meta.get("topic")
            if roadmap is not None:
                phase, section = locate(roadmap, start)
            url = meta.get("url")
            if url and path and "#" not in url:
                url = f"{url}#{slugify(path[-1])}"
            chunks.append(
                Chunk(
                    id=chunk_id(meta["source_id"], start, piece),
                    text=piece,
                    source_id=meta["source_id"],
                    title=meta["title"],
                    heading_path=list(path),
                    url=url,
                    phase=phase,
                    section=section,
                    topic=topic,
                    start_char=start,
                    end_char=end,
                )
            )
        cursor = section_start + len(section_text)
    return chunks
