"""Read source files into llama-index Documents. No chunking, no embedding.

Each supported format becomes Markdown-flavoured text, so the chunker can
follow headings everywhere: HTML headings become `#` lines, notebook code
cells become fenced blocks, MDX loses its JSX tags but keeps their text.
A file that cannot be read is skipped with a reason; the rest still index.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml
from llama_index.core import Document

from tutor.markup import clean_markdown

TEXT_SUFFIXES = {".md", ".markdown", ".mdx", ".txt", ".rst"}
SUPPORTED_SUFFIXES = TEXT_SUFFIXES | {".ipynb", ".html", ".htm", ".pdf"}
# Provenance and licence files travel with mirrored resources; they teach nothing.
SKIPPED_NAMES = {"SOURCE.md", "_toctree.yml", "manifest.json"}
MAX_FILE_BYTES = 20 << 20


@dataclass(frozen=True)
class SkippedFile:
    path: Path
    reason: str


@dataclass(frozen=True)
class SourceFile:
    """A file to index: where it lives and the id its chunks cite it by."""

    path: Path
    source_id: str


class UnreadableFile(Exception):
    pass


def discover(root: Path, prefix: str = "") -> Iterator[SourceFile]:
    """Yield indexable files under `root` in a stable order; hidden paths and licences skipped."""
    if root.is_file():
        yield SourceFile(root, f"{prefix}{root.name}")
        return
    for path in sorted(root.rglob("*")):
        rel = path.relative_to(root)
        if any(part.startswith(".") for part in rel.parts) or not path.is_file():
            continue
        if path.name in SKIPPED_NAMES or path.name.upper().startswith(("LICENSE", "COPYING")):
            continue
        if path.suffix.lower() in SUPPORTED_SUFFIXES:
            yield SourceFile(path, prefix + rel.as_posix())


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _decode(raw: bytes, path: Path) -> str:
    if b"\x00" in raw[:8192]:
        raise UnreadableFile("binary content (NUL bytes) in a text file")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableFile(f"not valid UTF-8 (byte {exc.start}); re-save it as UTF-8") from exc


FRONT_MATTER = re.compile(r"\A---\s*\n(.*?)\n---\s*\n", re.S)


def split_front_matter(text: str) -> tuple[dict, str]:
    """Separate YAML front matter from the body.

    >>> split_front_matter("---\\ntitle: GANs\\nphase: 3\\n---\\n# GANs\\n")
    ({'title': 'GANs', 'phase': 3}, '# GANs\\n')
    """
    match = FRONT_MATTER.match(text)
    if not match:
        return {}, text
    try:
        meta = yaml.safe_load(match.group(1)) or {}
    except yaml.YAMLError:
        return {}, text
    return (meta if isinstance(meta, dict) else {}), text[match.end() :]


def read_notebook(raw: bytes, path: Path) -> str:
    try:
        nb = json.loads(_decode(raw, path))
        cells = nb["cells"]
    except (ValueError, KeyError, TypeError) as exc:
        raise UnreadableFile(f"not a valid Jupyter notebook ({exc.__class__.__name__})") from exc
    lang = (nb.get("metadata", {}).get("kernelspec", {}) or {}).get("language", "python")
    parts = []
    for cell in cells:
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else str(source)
        if not source.strip():
            continue
        if cell.get("cell_type") == "code":
            parts.append(f"```{lang}\n{source.rstrip()}\n```")
        elif cell.get("cell_type") == "markdown":
            parts.append(source.strip())
    return "\n\n".join(parts)


def read_html(raw: bytes, path: Path) -> tuple[str, str | None]:
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(raw, "html.parser")
    title = soup.title.get_text(strip=True) if soup.title else None
    for tag in soup(["script", "style", "nav", "header", "footer", "aside", "form", "noscript"]):
        tag.decompose()
    body = soup.find("main") or soup.find("article") or soup.body or soup
    for level in range(1, 7):
        for heading in body.find_all(f"h{level}"):
            heading.replace_with(f"\n\n{'#' * level} {heading.get_text(' ', strip=True)}\n\n")
    for block in body.find_all(["p", "li", "pre", "tr", "br", "div"]):
        block.insert_after("\n")
    text = re.sub(r"\n{3,}", "\n\n", body.get_text())
    return text.strip(), title


def read_pdf(path: Path) -> str:
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        reader = PdfReader(str(path))
        pages = [page.extract_text() or "" for page in reader.pages]
    except (PdfReadError, ValueError, KeyError, OSError) as exc:
        raise UnreadableFile(f"corrupt or unreadable PDF ({exc})") from exc
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    if not text:
        raise UnreadableFile("PDF has no extractable text (scanned images?)")
    return text


def _first_heading(text: str) -> str | None:
    match = re.search(r"^#\s+(.+)$", text, re.M)
    return clean_heading(match.group(1)) if match else None


def clean_heading(text: str) -> str:
    """Markdown heading text without emphasis markers or trailing anchors.

    >>> clean_heading("**Phase 1: Foundations** {#phase-1}")
    'Phase 1: Foundations'
    """
    text = re.sub(r"\{#[^}]*\}\s*$", "", text)
    return re.sub(r"[*_`]+", "", text).strip().rstrip("#").strip()


def load_document(source: SourceFile, defaults: dict | None = None) -> Document:
    """Read one file into a Document whose metadata identifies and locates it.

    `defaults` fills what the file itself does not say (a fetched resource's page URL,
    phase and name come from the catalog)."""
    path = source.path
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            raise UnreadableFile(
                f"{size / 2**20:.0f} MiB is over the {MAX_FILE_BYTES >> 20} MiB limit"
            )
        raw = path.read_bytes()
    except OSError as exc:
        raise UnreadableFile(f"cannot read it ({exc.strerror})") from exc
    suffix = path.suffix.lower()
    meta: dict = {}
    title = None
    if suffix == ".pdf":
        text = read_pdf(path)
    elif suffix == ".ipynb":
        text = clean_markdown(read_notebook(raw, path), str(path))
    elif suffix in {".html", ".htm"}:
        text, title = read_html(raw, path)
    else:
        meta, text = split_front_matter(_decode(raw, path))
        # Upstream course formats (MDX components, d2l's tab and label markup) become prose.
        text = clean_markdown(text, str(path))
    if not text.strip():
        raise UnreadableFile("no text in it")
    defaults = defaults or {}
    meta = {**{k: v for k, v in defaults.items() if v is not None}, **meta}
    title = str(meta.get("title") or title or _first_heading(text) or path.stem)
    if defaults.get("resource") and defaults["resource"] not in title:
        title = f"{title} ({defaults['resource']})"
    metadata = {
        "source_id": source.source_id,
        "title": title,
        "url": meta.get("url"),
        "phase": meta.get("phase"),
        "section": meta.get("section"),
        "topic": meta.get("topic"),
        "file_path": str(path),
    }
    return Document(text=text, metadata=metadata, id_=source.source_id)


def load_documents(
    sources: Iterable[SourceFile],
) -> tuple[list[Document], list[SkippedFile]]:
    documents, skipped = [], []
    for source in sources:
        try:
            documents.append(load_document(source))
        except UnreadableFile as exc:
            skipped.append(SkippedFile(source.path, str(exc)))
    return documents, skipped
