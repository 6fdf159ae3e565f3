"""Turn upstream course sources into clean Markdown prose before chunking.

Two families of course material carry build-tool markup that means nothing to a
reader (or to an embedder):

* Dive into Deep Learning (d2lbook Markdown): framework tabs, ``:label:`` and
  ``:numref:`` roles, ``[**highlight**]`` markers, ``#@save`` comments.
* Hugging Face courses and docs (MDX): JSX components, doc-builder markers,
  HTML wrappers, framework ``{#if fw === 'pt'}`` switches.

Everything here is a pure ``str -> str`` function built on :mod:`re`. Fenced
code is never rewritten by :func:`clean_mdx`; :func:`clean_d2l` only rewrites
the fence line and d2lbook's own markers inside code cells (tab selectors,
``#@save``, the odd ``:numref:`` in a docstring). LaTeX math (``$...$`` and
``$$...$$``) passes through untouched.
"""

from __future__ import annotations

import re
from collections.abc import Callable

__all__ = ["clean_d2l", "clean_markdown", "clean_mdx"]

# --------------------------------------------------------------------------- shared helpers

_FENCE_OPEN = re.compile(r"^[ \t]*(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
_BLANK_RUN = re.compile(r"\n(?:[ \t]*\n){3,}")


def _closes(line: str, fence: str) -> bool:
    """True when `line` closes a fence opened with `fence` (same char, at least as long)."""
    stripped = line.strip()
    return (
        stripped.startswith(fence) and set(stripped) == {fence[0]} and len(stripped) >= len(fence)
    )


def _segments(text: str) -> list[tuple[bool, str]]:
    """Split text into ``(is_code, chunk)`` pieces; a code chunk is a whole fence, lines and all.

    An unclosed fence runs to the end of the text, as in CommonMark.
    """
    out: list[tuple[bool, str]] = []
    prose: list[str] = []
    lines = text.splitlines(keepends=True)
    i = 0
    while i < len(lines):
        m = _FENCE_OPEN.match(lines[i].rstrip("\n"))
        if m is None or (m["fence"][0] == "`" and "`" in m["info"]):
            prose.append(lines[i])
            i += 1
            continue
        if prose:
            out.append((False, "".join(prose)))
            prose = []
        j = i + 1
        while j < len(lines) and not _closes(lines[j], m["fence"]):
            j += 1
        out.append((True, "".join(lines[i : j + 1])))
        i = j + 1
    if prose:
        out.append((False, "".join(prose)))
    return out


def _map_prose(text: str, fn: Callable[[str], str]) -> str:
    """Apply `fn` to every stretch of text outside code fences."""
    return "".join(chunk if is_code else fn(chunk) for is_code, chunk in _segments(text))


# Left where a construct was removed. A line holding nothing else disappears with one of
# the blank lines around it, so dropping a block between two paragraphs leaves one gap.
_GONE = "\x01"


def _drop_gone_lines(chunk: str) -> str:
    out: list[str] = []
    lines = chunk.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        i += 1
        if _GONE in line and not line.replace(_GONE, "").strip():
            blank_before = not out or not out[-1].strip()
            if out and blank_before and i < len(lines) and not lines[i].strip():
                i += 1
            continue
        out.append(line.replace(_GONE, ""))
    return "\n".join(out)


def _tidy(text: str) -> str:
    """Settle removal marks, blank out whitespace-only lines, cap blank runs at two.

    Code fences are left alone.
    """

    def fix(chunk: str) -> str:
        chunk = _drop_gone_lines(chunk)
        chunk = re.sub(r"(?m)^[ \t]+$", "", chunk)
        chunk = re.sub(r"\A\n{3,}", "\n\n", chunk)  # a run right after a closing fence
        return _BLANK_RUN.sub("\n\n\n", chunk)

    text = _map_prose(text, fix)
    return text.strip("\n") + "\n" if text.strip() else ""


class _Stash:
    """Swap protected spans (math, inline code) for opaque tokens and put them back later."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def hide(self, pattern: re.Pattern[str], text: str) -> str:
        def keep(m: re.Match[str]) -> str:
            self.items.append(m.group(0))
            return f"\x00{len(self.items) - 1}\x00"

        return pattern.sub(keep, text)

    def restore(self, text: str) -> str:
        # Restore repeatedly: a stashed span can itself contain an earlier token.
        for _ in range(3):
            if "\x00" not in text:
                break
            text = re.sub(r"\x00(\d+)\x00", lambda m: self.items[int(m.group(1))], text)
        return text


_DISPLAY_MATH = re.compile(r"\$\$.*?\$\$", re.S)
# Pandoc's rule: no space just inside either dollar, and no digit right after the closing one,
# so "costs $5 or $10" is not math.
_INLINE_MATH = re.compile(r"(?<![\\$])\$(?![\s$])(?:[^$\n\\]|\\.)+?(?<![\s\\])\$(?!\d)")
_INLINE_CODE = re.compile(r"``[^\n]*?``|`[^`\n]+`")


# --------------------------------------------------------------------------- d2l

# `#@tab` is the older marker; `# %%tab` is a commented-out marker d2l still means literally.
_D2L_TAB_MARK = re.compile(r"^\s*(?:%%tab|#@tab|#\s*%%tab)\b(?P<tabs>.*)$")
_D2L_BEGIN_TAB = re.compile(r"^:begin_tab:`(?P<tabs>[^`]*)`\s*$")
_D2L_END_TAB = re.compile(r"^:end_tab:`?\s*$")
_D2L_DIRECTIVE_LINE = re.compile(r"^\s*:(?:label|eqlabel|width|bibliography):`[^`]*`\s*$")
_D2L_TRAILING_DIRECTIVE = re.compile(r"[ \t]*:(?:label|eqlabel|width):`[^`]*`")
_D2L_SAVE = re.compile(r"[ \t]*#@save\b")
_D2L_IMAGE = re.compile(
    r"^[ \t]*!\[(?P<cap>(?:(?!\n[ \t]*\n).)*?)\]\((?P<url>[^)\s]*)\)[ \t]*$", re.S | re.M
)
_D2L_REF_RANGE = re.compile(r"(:numref:`[^`]*`)\s*-{1,3}\s*:numref:`[^`]*`")
_D2L_REF = re.compile(
    r"(?P<lead>[ \t]*)"
    r"(?:(?P<noun>\b(?:[Ss]ections?|[Cc]hapters?|[Ff]igures?|[Ff]igs?\.|[Tt]ables?"
    r"|[Ee]quations?|[Ee]qs?\.|[Aa]ppendix))\s+)?"
    r":(?P<role>numref|eqref|ref):(?P<tick>`+)(?P<key>[^`]*)(?P=tick)"
)
_D2L_CITE = re.compile(r":(?P<role>citet?|citep):`(?P<keys>[^`]*)`")
_D2L_HIGHLIGHT = [
    re.compile(r"\[\*\*(.+?)\*\*\]", re.S),
    re.compile(r"(?<![\w)\]\\])\(\*\*(.+?)\*\*\)", re.S),
    re.compile(r"\(~~(.+?)~~\)", re.S),
]
# Words after which "the referenced section" reads naturally; after any other word
# (usually a noun such as "the loss function") the reference is dropped instead.
_REF_LEADS = frozenset(
    ("in", "of", "from", "see", "and", "or", "to", "using", "use", "by", "with", "as", "via")
    + ("into", "on", "at", "for", "that", "than", "recall", "consult", "cf", "e.g", "i.e")
    + ("like", "following", "after", "before", "under", "within", "per", "over", "since")
    + ("both", "between", "through", "about", "read", "write", "rewrite", "satisfy", "apply")
    + ("applying", "applied", "described", "discussed", "introduced", "defined", "shown")
    + ("given", "illustrated", "depicted", "presented", "revisit", "revisiting", "compare")
    + ("comparing", "check", "also", "is", "are", "was", "were", "be", "been", "why", "where")
    + ("which", "when", "while", "whereas", "what", "because", "then", "consider", "take")
    + ("review", "conversely", "instantiates", "plugging", "plug")
)


def _ref_kind(role: str, key: str) -> str:
    if role == "eqref" or key.startswith(("eq_", "eq-")):
        return "equation"
    for prefixes, kind in (
        (("fig_", "fig-", "img_"), "figure"),
        (("tab_", "table_"), "table"),
        (("chap_", "chap-"), "chapter"),
    ):
        if key.startswith(prefixes):
            return kind
    return "section"


def _sentence_start(before: str) -> bool:
    stripped = before.rstrip()
    if not stripped or stripped[-1] in ".!?":
        return True
    return bool(re.search(r"\n[ \t]*\n[ \t]*$", before)) or bool(
        re.search(r"(?m)^#+[ \t]*$|^[ \t]*(?:[-*+]|\d+\.)[ \t]*$", stripped.rsplit("\n", 1)[-1])
    )


def _replace_ref(m: re.Match[str]) -> str:
    if not m["key"].strip():
        return ""
    phrase = f"the referenced {_ref_kind(m['role'], m['key'])}"
    before = m.string[: m.start()] + m["lead"]
    if _sentence_start(before):
        return m["lead"] + phrase[0].upper() + phrase[1:]
    if m["noun"]:
        return m["lead"] + phrase
    tail = before.rstrip()
    word = re.search(r"([A-Za-z.,]+)$", tail)
    lead_word = word.group(1).lower().rstrip(".,") if word else ""
    if tail[-1] in "(,;:*—–-\"'" or lead_word in _REF_LEADS or lead_word.endswith("ing"):
        return m["lead"] + phrase
    return ""


def _cite_name(key: str) -> tuple[str, str]:
    """Author label and year from a d2l bibliography key ('Vaswani.Shazeer.ea.2017')."""
    parts = [p for p in key.strip().split(".") if p]
    if len(parts) >= 2 and re.fullmatch(r"\d{4}[a-z]?", parts[-1]):
        names, year = parts[:-1], parts[-1][:4]
        if len(names) == 1:
            return names[0], year
        if len(names) == 2 and names[1] != "ea":
            return f"{names[0]} and {names[1]}", year
        return f"{names[0]} et al.", year
    m = re.match(r"([A-Za-z]+)(?:[-_]?(\d{4}))?[-\w]*$", key.strip())
    if m:
        name = m.group(1)
        return name[0].upper() + name[1:], m.group(2) or ""
    return key.strip(), ""


def _replace_cite(m: re.Match[str]) -> str:
    cites = [_cite_name(k) for k in m["keys"].split(",") if k.strip()]
    if not cites:
        return ""
    if m["role"] == "citet":
        return "; ".join(f"{name} ({year})" if year else name for name, year in cites)
    return "(" + "; ".join(f"{name}, {year}" if year else name for name, year in cites) + ")"


def _tab_names(spec: str) -> set[str]:
    return {t.lower() for t in re.split(r"[\s,]+", spec.strip()) if t}


def _d2l_code_cell(body: list[str], keep_tab: str) -> list[str] | None:
    """The kept lines of one ``{.python .input}`` cell, or None to drop the cell."""
    if any("d2lbook.tab" in line or "tab.interact_select" in line for line in body):
        return None
    kept: list[str] = []
    keeping = True  # lines before any tab marker belong to every framework
    marked = False
    for line in body:
        mark = _D2L_TAB_MARK.match(line)
        if mark:
            tabs = _tab_names(mark["tabs"])
            keeping = "all" in tabs or keep_tab in tabs
            marked = True
            continue
        if keeping:
            kept.append(line)
    if marked and not any(line.strip() for line in kept):
        return None
    while kept and not kept[0].strip():
        kept.pop(0)
    while kept and not kept[-1].strip():
        kept.pop()
    cleaned = []
    for line in kept:
        had_save = "#@save" in line
        line = _D2L_SAVE.sub("", line)
        line = _D2L_REF.sub(_replace_ref, line)
        if had_save and not line.strip():
            continue  # a line that was only "#@save"
        cleaned.append(line)
    return cleaned


def _d2l_lines(text: str, keep_tab: str) -> str:
    """Line pass: code cells, framework tabs and directive-only lines."""
    lines = text.split("\n")
    out: list[str] = []
    tab_keep = True  # inside a :begin_tab: region, whether its content survives
    i = 0
    while i < len(lines):
        line = lines[i]
        fence = _FENCE_OPEN.match(line)
        if fence:
            j = i + 1
            while j < len(lines) and not _closes(lines[j], fence["fence"]):
                j += 1
            block = lines[i : j + 1]
            body, info = lines[i + 1 : j], fence["info"].strip()
            i = j + 1
            if not tab_keep:
                continue
            if info.startswith("{.python") or info.startswith("{.py"):
                cell = _d2l_code_cell(body, keep_tab)
                out.extend(["```python", *cell, "```"] if cell is not None else [_GONE])
            elif info.split(" ")[0] in ("toc", "eval_rst"):
                out.append(_GONE)  # d2lbook table of contents / raw reST: no prose
            else:
                out.extend(block)
            continue
        begin = _D2L_BEGIN_TAB.match(line.strip())
        if begin:
            tabs = _tab_names(begin["tabs"])
            tab_keep = "all" in tabs or keep_tab in tabs
            out.append(_GONE)
        elif _D2L_END_TAB.match(line.strip()):
            tab_keep = True
            out.append(_GONE)
        elif tab_keep:
            out.append(_GONE if _D2L_DIRECTIVE_LINE.match(line) else line)
        i += 1
    return "\n".join(out)


def _d2l_prose(chunk: str) -> str:
    stash = _Stash()
    chunk = stash.hide(_DISPLAY_MATH, chunk)
    chunk = stash.hide(_INLINE_MATH, chunk)
    chunk = _D2L_TRAILING_DIRECTIVE.sub("", chunk)
    chunk = _D2L_REF_RANGE.sub(r"\1", chunk)
    chunk = _D2L_REF.sub(_replace_ref, chunk)
    chunk = _D2L_CITE.sub(_replace_cite, chunk)

    def figure(m: re.Match[str]) -> str:
        caption = " ".join(m["cap"].split())
        return f"Figure: {caption}" if caption else _GONE

    chunk = _D2L_IMAGE.sub(figure, chunk)
    for pattern in _D2L_HIGHLIGHT:
        # Nested or adjacent markers need a second sweep.
        for _ in range(2):
            chunk = pattern.sub(r"\1", chunk)
    return stash.restore(chunk)


def clean_d2l(text: str, keep_tab: str = "pytorch") -> str:
    r"""Strip d2lbook markup from a Dive into Deep Learning chapter, keeping one framework.

    Code cells become plain ``python`` fences; cells and ``:begin_tab:`` prose for
    other frameworks are dropped; labels go, cross-references become readable
    words, highlight markers and ``#@save`` disappear; math is left alone.

    >>> src = '''# [**Dot Products**]
    ... :label:`sec_dot`
    ...
    ... As in :numref:`sec_attn`, we score with $\\mathbf{q}^\\top \\mathbf{k}$.
    ...
    ... ```{.python .input  n=1}
    ... %%tab pytorch
    ... def score(q, k):  #@save
    ...     return q @ k
    ... ```
    ...
    ... ```{.python .input}
    ... %%tab mxnet
    ... np.dot(q, k)
    ... ```
    ... '''
    >>> print(clean_d2l(src), end="")
    # Dot Products
    <BLANKLINE>
    As in the referenced section, we score with $\mathbf{q}^\top \mathbf{k}$.
    <BLANKLINE>
    ```python
    def score(q, k):
        return q @ k
    ```
    """
    keep_tab = keep_tab.strip().lower()
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace(_GONE, "")
    text = _d2l_lines(text, keep_tab)
    text = _map_prose(text, _d2l_prose)
    return _tidy(text)


# --------------------------------------------------------------------------- MDX

_MDX_IMPORT_ONE = re.compile(r"""^import\s+(?:[\w*${}\s,]+?\s+from\s+)?(['"])[^'"\n]+\1;?\s*$""")
_MDX_IMPORT_START = re.compile(r"^import\s+(?:[\w$]+\s*,\s*)?\{[^}]*$")  # `import {` left open
_MDX_FROM = re.compile(r"""\bfrom\s+(['"])[^'"\n]+\1;?\s*$""")
_MDX_EXPORT = re.compile(r"^export\s+(?:default|const|let|var|function|async|class|\{)")
# Framework switches, also inside blockquotes ("> {#if fw === 'pt'}").
_MDX_SVELTE_IF = re.compile(r"^[\s>]*\{#if\s+(?P<cond>[^}]*)\}\s*$")
_MDX_SVELTE_ELSE = re.compile(r"^[\s>]*\{:else(?:\s+if\s+[^}]*)?\}\s*$")
_MDX_SVELTE_END = re.compile(r"^[\s>]*\{/if\}\s*$")
_MDX_HEADING_ANCHOR = re.compile(r"^(?P<head>#{1,6}\s.*?)\s*\[\[[^\]\n]+\]\]\s*$")
_MDX_DOC_MARKER = re.compile(r"^\s*\[\[(?:open-in-colab|autodoc)\]\]")
_MDX_CALLOUT = re.compile(r"^(?P<q>\s*>\s*)\[!(?P<kind>[A-Za-z]+)\]\s*$")
_MDX_COMPONENT = re.compile(r"<(?P<close>/?)(?P<name>[A-Z][\w.]*)(?=[\s/>])")
_MDX_DROP_WITH_BODY = re.compile(
    r"<(?P<tag>iframe|audio|video|script|style|svg)\b[^>]*?(?:/>|>.*?</(?P=tag)\s*>)", re.S | re.I
)
_MDX_BLOCK_TAGS = re.compile(
    r"</?(?:div|p|figure|figcaption|center|table|thead|tbody|tr|details|summary|hfoptions"
    r"|hfoption|picture|section|blockquote)\b[^>]*>",
    re.I,
)
_MDX_INLINE_TAGS = re.compile(
    r"</?(?:span|img|source|a|td|th|sup|sub|small|hr|font|u|iframe|audio|video)\b[^>]*>",
    re.I,
)
_JS_STRING = r""""(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'|`(?:[^`\\]|\\.)*`"""
_JS_STRING_RE = re.compile(_JS_STRING, re.S)
_QUIZ_FIELD = re.compile(rf"(?P<key>\w+)\s*:\s*(?P<value>{_JS_STRING}|true|false)|{_JS_STRING}")
_QUIZ_TOKEN = re.compile(rf"{_JS_STRING}|[{{}}\[\]]|[^\"'`{{}}\[\]]+", re.S)


def _svelte_branch(cond: str) -> tuple[bool, bool]:
    """Which branches of ``{#if cond}`` to keep: (then, else). PyTorch wins framework switches."""
    m = re.fullmatch(r"""\s*fw\s*===?\s*['"](?P<fw>\w+)['"]\s*""", cond)
    if m is None:
        return True, True
    return (True, False) if m["fw"] == "pt" else (False, True)


def _mdx_lines(text: str) -> str:
    """Line pass outside fences: comments, imports/exports, framework switches, doc markers."""
    lines = text.split("\n")
    out: list[str] = []
    fence: str | None = None
    stack: list[list[bool]] = []  # per open {#if}: [keep-then, keep-else, in-else]
    in_comment = False
    i = 0

    def visible() -> bool:
        return all(frame[1] if frame[2] else frame[0] for frame in stack)

    while i < len(lines):
        line = lines[i]
        i += 1
        if fence is not None:
            if _closes(line, fence):
                fence = None
            if visible():
                out.append(line)
            continue
        if in_comment:
            if "-->" not in line:
                continue
            line = _GONE + line.split("-->", 1)[1]
            in_comment = False
        # Comments (several per line allowed); an unterminated one runs on.
        line = re.sub(r"<!--.*?-->", _GONE, line)
        if "<!--" in line:
            line, in_comment = line.split("<!--", 1)[0] + _GONE, True
        opened = _FENCE_OPEN.match(line)
        if opened and not (opened["fence"][0] == "`" and "`" in opened["info"]):
            fence = opened["fence"]
            if visible():
                out.append(line)
            continue
        if m := _MDX_SVELTE_IF.match(line):
            then_keep, else_keep = _svelte_branch(m["cond"])
            stack.append([then_keep, else_keep, False])
            out.append(_GONE)
            continue
        if _MDX_SVELTE_ELSE.match(line) and stack:
            stack[-1][2] = True
            out.append(_GONE)
            continue
        if _MDX_SVELTE_END.match(line) and stack:
            stack.pop()
            out.append(_GONE)
            continue
        if not visible():
            continue
        if _MDX_IMPORT_ONE.match(line):
            out.append(_GONE)
            continue
        if _MDX_IMPORT_START.match(line) and not _MDX_FROM.search(line):
            # A multi-line `import { A,\n B } from '...'`: swallow up to its `from`.
            j = i
            while j < len(lines) and j - i < 30 and lines[j].strip():
                if _MDX_FROM.search(lines[j]):
                    break
                j += 1
            if j < len(lines) and _MDX_FROM.search(lines[j]):
                i = j + 1
                out.append(_GONE)
                continue
        if _MDX_EXPORT.match(line):
            depth = line.count("{") + line.count("(") + line.count("[")
            depth -= line.count("}") + line.count(")") + line.count("]")
            while depth > 0 and i < len(lines):
                nxt = lines[i]
                depth += nxt.count("{") + nxt.count("(") + nxt.count("[")
                depth -= nxt.count("}") + nxt.count(")") + nxt.count("]")
                i += 1
            out.append(_GONE)
            continue
        if _MDX_DOC_MARKER.match(line):
            if "[[autodoc]]" in line:
                while i < len(lines) and re.match(r"^\s+-\s+\S", lines[i]):
                    i += 1  # the member list that belongs to the autodoc directive
            out.append(_GONE)
            continue
        if m := _MDX_HEADING_ANCHOR.match(line):
            line = m["head"]
        if m := _MDX_CALLOUT.match(line):
            line = f"{m['q']}{m['kind'].capitalize()}:"
        out.append(line)
    return "\n".join(out)


_BLANK_LINE_AHEAD = re.compile(r"\n[ \t]*\n")


def _tag_end(s: str, start: int) -> int | None:
    """Index just past the ``>`` that closes a JSX tag whose name ends at `start`.

    Quoted attribute values and ``{...}`` expressions (with their strings) are skipped.
    Returns None when no sane end is found (a stray ``<Word`` in prose).
    """
    depth, i, n = 0, start, min(len(s), start + 20000)
    last = ""  # the last non-space character seen outside strings
    while i < n:
        c = s[i]
        if c in "\"'`" and (depth > 0 or last == "="):
            m = _JS_STRING_RE.match(s, i)
            if m is None:
                return None
            i, last = m.end(), c
            continue
        if c == "{":
            depth += 1
        elif c == "}":
            depth -= 1
            if depth < 0:
                return None
        elif depth == 0:
            if c == ">":
                return i + 1
            if c == "<" or (c == "\n" and _BLANK_LINE_AHEAD.match(s, i)):
                return None
        if not c.isspace():
            last = c
        i += 1
    return None


def _js_unquote(literal: str) -> str:
    body = literal[1:-1]
    escapes = {"n": " ", "t": " ", "\\": "\\", '"': '"', "'": "'", "`": "`"}
    return re.sub(r"\\(.)", lambda m: escapes.get(m.group(1), m.group(1)), body)


def _quiz(props: str) -> str | None:
    """Render ``choices={[{text, explain, correct}, ...]}`` as a Markdown list, or None."""
    m = re.search(r"\bchoices\s*=\s*\{\s*\[", props)
    if m is None:
        return None
    objects: list[str] = []
    depth, current = 0, []
    for tok in _QUIZ_TOKEN.finditer(props, m.end()):
        t = tok.group(0)
        if t in "{[" and len(t) == 1:
            depth += 1
            if depth == 1 and t == "{":
                current = []
                continue
        elif t in "}]" and len(t) == 1:
            depth -= 1
            if depth < 0:
                break
            if depth == 0 and t == "}":
                objects.append("".join(current))
                continue
        if depth >= 1:
            current.append(t)
    lines = ["Quiz choices:"]
    for obj in objects:
        fields: dict[str, str] = {}
        for f in _QUIZ_FIELD.finditer(obj):
            if f["key"] and f["key"] not in fields:
                value = f["value"]
                fields[f["key"]] = value if value in ("true", "false") else _js_unquote(value)
        if "text" not in fields:
            continue
        verdict = "correct" if fields.get("correct") == "true" else "incorrect"
        text = " ".join(fields["text"].split())
        explain = " ".join(fields.get("explain", "").split())
        lines.append(f"- {text} ({verdict})" + (f": {explain}" if explain else ""))
    return "\n".join(lines) if len(lines) > 1 else None


def _mdx_components(chunk: str) -> str:
    out: list[str] = []
    pos = 0
    for m in _MDX_COMPONENT.finditer(chunk):
        if m.start() < pos:
            continue
        if m["close"]:
            end = chunk.find(">", m.end())
            if end == -1 or chunk[m.end() : end].strip():
                continue
            out.append(chunk[pos : m.start()] + _GONE)
            pos = end + 1
            continue
        end = _tag_end(chunk, m.end())
        if end is None:
            continue
        out.append(chunk[pos : m.start()])
        quiz = _quiz(chunk[m.end() : end]) if m["name"] == "Question" else None
        out.append(quiz or _GONE)
        # Every other component is dropped: self-closing ones carry no prose, and
        # containers (<Tip>, <Callout>, <Tabs>...) lose only their tags.
        pos = end
    out.append(chunk[pos:])
    return "".join(out)


def _mdx_prose(chunk: str) -> str:
    stash = _Stash()
    chunk = stash.hide(_INLINE_CODE, chunk)
    chunk = stash.hide(_DISPLAY_MATH, chunk)
    chunk = stash.hide(_INLINE_MATH, chunk)
    chunk = _mdx_components(chunk)
    chunk = _MDX_DROP_WITH_BODY.sub(_GONE, chunk)
    chunk = re.sub(r"</?code>", "`", chunk)
    chunk = re.sub(r"</?(?:em|i)>", "*", chunk)
    chunk = re.sub(r"</?(?:strong|b)>", "**", chunk)
    chunk = re.sub(r"</?del>", "~~", chunk)
    chunk = re.sub(r"<br\s*/?>", " ", chunk, flags=re.I)
    chunk = _MDX_BLOCK_TAGS.sub(_GONE, chunk)
    chunk = _MDX_INLINE_TAGS.sub(_GONE, chunk)
    return stash.restore(chunk)


def clean_mdx(text: str) -> str:
    """Reduce Hugging Face course/docs MDX to Markdown prose; fenced code is left untouched.

    Imports, banners, videos and HTML wrappers go; ``<Tip>``-style containers keep
    their text; ``<Question>`` quizzes become a readable list of choices.

    >>> src = '''import {Tip} from 'components'
    ...
    ... # Pipelines[[pipelines]]
    ...
    ... <Youtube id="abc"/>
    ...
    ... <Tip warning={true}>
    ... Mind the `<s>` token.
    ... </Tip>
    ...
    ... <Question
    ...   choices={[
    ...     {text: "A pipeline", explain: "Right!", correct: true},
    ...     {text: "A tokenizer", explain: "Only one step."}
    ...   ]}
    ... />
    ... '''
    >>> print(clean_mdx(src), end="")
    # Pipelines
    <BLANKLINE>
    Mind the `<s>` token.
    <BLANKLINE>
    Quiz choices:
    - A pipeline (correct): Right!
    - A tokenizer (incorrect): Only one step.
    """
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace(_GONE, "")
    text = _mdx_lines(text)
    text = _map_prose(text, _mdx_prose)
    return _tidy(text)


# --------------------------------------------------------------------------- dispatch

_D2L_SIGNS = re.compile(
    r"^:label:`|^\s*%%tab\b|d2lbook"
    r"|:(?:numref|eqref|begin_tab|citet?|eqlabel|bibliography):`",  # d2lbook-only roles
    re.M,
)
# MDX components, plus Hugging Face doc-builder markers that also turn up in plain .md docs.
_MDX_SIGNS = re.compile(
    r"<Tip\b|<Youtube\b|\[\[open-in-colab\]\]|\[\[autodoc\]\]|<hfoptions?\b"
    r"|^#{1,6}\s.*\[\[[\w.-]+\]\]\s*$",
    re.M,
)


def clean_markdown(text: str, source_path: str) -> str:
    """Pick the cleaner for a Markdown-family file from its suffix and its markers.

    d2lbook markers win, then ``.mdx`` or MDX components; anything else is unchanged.

    >>> clean_markdown("# Intro[[intro]]\\n", "course/chapter1/1.mdx")
    '# Intro\\n'
    >>> clean_markdown("Plain *Markdown*.\\n", "notes/intro.md")
    'Plain *Markdown*.\\n'
    """
    if _D2L_SIGNS.search(text):
        return clean_d2l(text)
    if str(source_path).lower().endswith(".mdx") or _MDX_SIGNS.search(text):
        return clean_mdx(text)
    return text
