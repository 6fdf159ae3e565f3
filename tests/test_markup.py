"""Markup cleaners: one small example per rule, then every real mirrored source file."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tutor.markup import clean_d2l, clean_markdown, clean_mdx

MIRROR = Path(__file__).resolve().parents[2] / "shared" / "resources"
D2L = MIRROR / "d2l-en"

FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,}).*?^[ \t]*\1[ \t]*$", re.M | re.S)
INLINE_CODE = re.compile(r"``[^\n]*?``|`[^`\n]+`")


def prose_of(text: str) -> str:
    """Text outside fenced code blocks."""
    return FENCE.sub("", text)


def code_of(text: str) -> str:
    return "\n".join(m.group(0) for m in FENCE.finditer(text))


# --------------------------------------------------------------------------- d2l rules


def test_d2l_drops_tab_setup_cell():
    src = (
        "```{.python .input}\n%load_ext d2lbook.tab\n"
        "tab.interact_select(['mxnet', 'pytorch', 'tensorflow', 'jax'])\n```\n\n# Title\n"
    )
    assert clean_d2l(src) == "# Title\n"


@pytest.mark.parametrize("fence", ["```{.python .input}", "```{.python .input  n=1}"])
def test_d2l_python_input_fence_becomes_python(fence):
    assert clean_d2l(f"{fence}\nx = 1\n```\n") == "```python\nx = 1\n```\n"


@pytest.mark.parametrize(
    "marker",
    ["%%tab pytorch", "%%tab all", "%%tab all    ", "%%tab mxnet, pytorch", "%%tab pytorch,jax"],
)
def test_d2l_keeps_cells_for_pytorch_or_all(marker):
    src = f"```{{.python .input}}\n{marker}\nimport torch\n```\n"
    assert clean_d2l(src) == "```python\nimport torch\n```\n"


@pytest.mark.parametrize(
    "marker", ["%%tab mxnet", "%%tab tensorflow", "%%tab jax", "%%tab mxnet, tensorflow, jax"]
)
def test_d2l_drops_cells_for_other_frameworks(marker):
    src = f"Before.\n\n```{{.python .input}}\n{marker}\nimport other\n```\n\nAfter.\n"
    assert clean_d2l(src) == "Before.\n\nAfter.\n"


def test_d2l_keep_tab_selects_another_framework():
    src = (
        "```{.python .input}\n%%tab pytorch\nimport torch\n```\n\n"
        "```{.python .input}\n%%tab jax\nimport jax\n```\n"
    )
    assert clean_d2l(src, keep_tab="jax") == "```python\nimport jax\n```\n"


def test_d2l_older_tab_markers_split_one_cell():
    src = (
        "```{.python .input}\n#@tab all\nimport math\n"
        "#@tab mxnet\nfrom mxnet import np\n#@tab pytorch\nimport torch\n```\n"
    )
    assert clean_d2l(src) == "```python\nimport math\nimport torch\n```\n"


def test_d2l_untagged_cells_and_other_fences_are_kept():
    src = "```{.python .input}\nx = 2\n```\n\n```bash\npip install d2l\n```\n"
    assert clean_d2l(src) == "```python\nx = 2\n```\n\n```bash\npip install d2l\n```\n"


def test_d2l_drops_toc_and_eval_rst_blocks():
    src = (
        "# Book\n\n```toc\n:maxdepth: 2\n\nchapter_intro/index\n```\n\n"
        "```eval_rst\n.. raw:: html\n```\n"
    )
    assert clean_d2l(src) == "# Book\n"


def test_d2l_begin_tab_keeps_only_pytorch_or_all_prose():
    src = (
        ":begin_tab:`mxnet`\nMXNet words.\n:end_tab:\n\n"
        ":begin_tab:`pytorch`\nPyTorch words.\n:end_tab:\n\n"
        ":begin_tab:`tensorflow, jax`\nOther words.\n:end_tab:\n\n"
        ":begin_tab:`all`\nShared words.\n:end_tab:\n\n"
        ":begin_tab:`mxnet, pytorch` \nListed words.\n:end_tab:\n"
    )
    out = clean_d2l(src)
    assert "PyTorch words." in out and "Shared words." in out and "Listed words." in out
    assert "MXNet" not in out and "Other" not in out and ":begin_tab:" not in out
    assert ":end_tab:" not in out


def test_d2l_begin_tab_drops_code_of_other_frameworks():
    src = ":begin_tab:`jax`\nJAX note.\n\n```bash\npip install jax\n```\n:end_tab:\n\nKept.\n"
    assert clean_d2l(src) == "Kept.\n"


def test_d2l_removes_labels():
    src = (
        "# Attention\n:label:`sec_attention`\n\n"
        "$$a = b.$$\n:eqlabel:`eq_ab`\n\n$$c = d.$$ :eqlabel:`eq_cd`\n"
    )
    assert clean_d2l(src) == "# Attention\n\n$$a = b.$$\n\n$$c = d.$$\n"


def test_d2l_cross_references_read_as_words():
    src = (
        "In :numref:`sec_attention-pooling`, we used kernels.\n"
        "This appears in :eqref:`eq_softmax_attention` and :numref:`fig_attention_output`.\n"
        "Padding matters (see :numref:`sec_machine_translation` for an example).\n"
        ":numref:`fig_qkv` shows the design. Read :ref:`chap_installation` first.\n"
        "Plug it into Equation :eqref:`eq_loss` now.\n"
        "We minimize the loss function :eqref:`eq_loss`.\n"
        "We covered this in :numref:``sec_regression_data``.\n"
    )
    assert clean_d2l(src) == (
        "In the referenced section, we used kernels.\n"
        "This appears in the referenced equation and the referenced figure.\n"
        "Padding matters (see the referenced section for an example).\n"
        "The referenced figure shows the design. Read the referenced chapter first.\n"
        "Plug it into the referenced equation now.\n"
        "We minimize the loss function.\n"
        "We covered this in the referenced section.\n"
    )


def test_d2l_citations_become_author_year():
    src = (
        "Transformers :cite:`Vaswani.Shazeer.Parmar.ea.2017` work.\n"
        ":citet:`Tsoumakas.Katakis.2007` surveyed it; "
        "see also :cite:`Fechner.1860,dwork2015preserving`.\n"
    )
    assert clean_d2l(src) == (
        "Transformers (Vaswani et al., 2017) work.\n"
        "Tsoumakas and Katakis (2007) surveyed it; see also (Fechner, 1860; Dwork, 2015).\n"
    )


def test_d2l_removes_save_markers_in_code():
    src = (
        "```{.python .input}\n%%tab pytorch\n#@save\nimport torch\n"
        "def f(x):  #@save\n    return x\n```\n"
    )
    assert clean_d2l(src) == "```python\nimport torch\ndef f(x):\n    return x\n```\n"


def test_d2l_unwraps_highlight_markers():
    src = (
        "## [**Dot Product Attention**]\n\n"
        "To [**illustrate how this\nfunction works**], we (**run a quick test**) "
        "that (~~should~~) pass `f(**kwargs)` and g(**kwargs).\n"
    )
    assert clean_d2l(src) == (
        "## Dot Product Attention\n\n"
        "To illustrate how this\nfunction works, we run a quick test "
        "that should pass `f(**kwargs)` and g(**kwargs).\n"
    )


def test_d2l_keeps_latex_exactly():
    math = (
        "$$\n\\alpha(\\mathbf{q}, \\mathbf{k}_i) = [\\![ x ]\\!] (**a**) \\frac{1}{2}\n$$\n\n"
        "Inline $\\mathbf{q}^\\top [**k**]$ and $\\sqrt{d}$ stay.\n"
    )
    assert clean_d2l(math) == math


def test_d2l_images_keep_their_caption():
    src = (
        "Text.\n\n![Computing the output with $\\mathit{a}$.](../img/attention-output.svg)\n"
        ":width:`400px`\n:label:`fig_attention_output`\n\n"
        "![The four numbers\nunder each step.](../img/beam.svg)\n\n![](../img/blank.svg)\n"
    )
    assert clean_d2l(src) == (
        "Text.\n\nFigure: Computing the output with $\\mathit{a}$.\n\n"
        "Figure: The four numbers under each step.\n"
    )


def test_d2l_dropped_cells_leave_one_gap_and_blank_runs_are_capped():
    src = (
        "A.\n\n```{.python .input}\n%%tab mxnet\nx\n```\n\n"
        "```{.python .input}\n%%tab jax\ny\n```\n\nB.\n"
    )
    assert clean_d2l(src) == "A.\n\nB.\n"
    assert clean_d2l("A.\n\n\n\n\n\nB.\n") == "A.\n\n\nB.\n"


# --------------------------------------------------------------------------- MDX rules


def test_mdx_drops_imports_and_exports_outside_fences_only():
    src = (
        "import { CoursePromo, CourseCard } from '../../components/CourseCard'\n"
        "import {\n  Tabs,\n  Tab,\n} from 'nextra/components'\n"
        "export const metadata = {\n  title: 'Intro',\n}\n\n"
        "Prose.\n\n```py\nimport torch\nfrom x import y\n```\n"
    )
    assert clean_mdx(src) == "Prose.\n\n```py\nimport torch\nfrom x import y\n```\n"


def test_mdx_keeps_prose_lines_that_start_with_import_words():
    src = "import torch in a notebook first.\n"
    assert clean_mdx(src) == src


@pytest.mark.parametrize(
    "component",
    [
        '<Youtube id="Xp2w1_LKZN4" />',
        '<Youtube id="abc"/>',
        '<CourseFloatingBanner\n    chapter={1}\n    classNames="absolute z-10"\n/>',
        '<CourseFloatingBanner chapter={1}\n  classNames="absolute"\n  notebooks={[\n'
        '    {label: "Google Colab", value: "https://colab.research.google.com/x.ipynb"},\n'
        '    {label: "Aws Studio", value: "https://studiolab.sagemaker.aws/x.ipynb"},\n]} />',
        "<FrameworkSwitchCourse {fw} />",
        '<Screenshot src={PIC} alt="A screenshot" />',
        '<CoursePromo\n  title="Explore All Courses"\n  href="https://example.com/"\n/>',
        '<Card\n    icon={<CodeIcon />}\n    title="Notebook"\n    href="https://x.y/a"\n    />',
    ],
)
def test_mdx_drops_self_closing_components(component):
    assert clean_mdx(f"Before.\n\n{component}\n\nAfter.\n") == "Before.\n\nAfter.\n"


@pytest.mark.parametrize(
    ("opening", "closing"),
    [
        ("<Tip>", "</Tip>"),
        ("<Tip warning={true}>", "</Tip>"),
        ('<Callout type= "info" emoji="🎓">', "</Callout>"),
        ("<Tabs items={['GPT-4 (OpenAI)', 'Mixtral']}>\n<Tab>", "</Tab>\n</Tabs>"),
        ("<Answer>", "</Answer>"),
    ],
)
def test_mdx_containers_keep_their_text(opening, closing):
    out = clean_mdx(f"{opening}\nUse a **GPU** for `<s>` tokens.\n{closing}\n")
    assert out == "Use a **GPU** for `<s>` tokens.\n"


def test_mdx_container_tags_inline():
    assert clean_mdx("<Tip>Short tip.</Tip>\n") == "Short tip.\n"


def test_mdx_question_becomes_quiz_block():
    src = (
        "### 1. Which one?\n\n<Question\n\tchoices={[\n\t\t{\n"
        '\t\t\ttext: "Forward pass → Backward pass",\n'
        "\t\t\texplain: \"Close, but the 'order' matters.\"\n\t\t},\n\t\t{\n"
        "\t\t\ttext: 'It\\'s the \"right\" one',\n"
        '\t\t\texplain: "Correct! {braces} and [brackets] are fine.",\n'
        "            correct: true\n\t\t},\n"
        '\t\t{ text: "No explanation" }\n\t]}\n/>\n'
    )
    assert clean_mdx(src) == (
        "### 1. Which one?\n\nQuiz choices:\n"
        "- Forward pass → Backward pass (incorrect): Close, but the 'order' matters.\n"
        '- It\'s the "right" one (correct): Correct! {braces} and [brackets] are fine.\n'
        "- No explanation (incorrect)\n"
    )


def test_mdx_unparseable_question_is_dropped():
    assert clean_mdx("A.\n\n<Question choices={answers} />\n\nB.\n") == "A.\n\nB.\n"


def test_mdx_strips_html_comments_outside_fences():
    src = (
        "<!--Copyright 2024 The HuggingFace Team.\n\n```\nnot code\n```\n-->\n"
        "# Title\n\nKeep <!-- inline --> this.\n\n```html\n<!-- a real comment in code -->\n```\n"
    )
    assert clean_mdx(src) == (
        "# Title\n\nKeep  this.\n\n```html\n<!-- a real comment in code -->\n```\n"
    )


def test_mdx_drops_html_wrappers():
    src = (
        '<div class="flex justify-center">\n'
        '<img src="https://hf.co/x.png" alt="Companies" width="100%">\n'
        '  <img class="block" src="y.png"/>\n</div>\n\n'
        '<iframe\n  src="https://hf.space/embed"\n  width="850"\n></iframe>\n\n'
        "Text after.\n"
    )
    assert clean_mdx(src) == "Text after.\n"


def test_mdx_never_touches_code_fences():
    code = (
        '```py\n<Tip>\n<Youtube id="x"/>\n[[open-in-colab]]\nexport A=1\n'
        "<div>\n\n\n\n\n</div>\n```\n"
    )
    assert clean_mdx(code) == code
    indented = "- Step:\n\n  ```bash\n  <!-- kept -->\n  ```\n"
    assert clean_mdx(indented) == indented


def test_mdx_collapses_three_or_more_blank_lines_to_two():
    assert clean_mdx("A.\n\n\n\n\n\nB.\n") == "A.\n\n\nB.\n"
    assert clean_mdx("A.\n\nB.\n") == "A.\n\nB.\n"


def test_mdx_doc_builder_markers_and_heading_anchors():
    src = (
        "# Load pipelines[[load-pipelines]]\n\n[[open-in-colab]]\n\n"
        "## DDPMPipeline\n[[autodoc]] DDPMPipeline\n\t- all\n\t- __call__\n\n"
        "Text with [[not-a-marker]] mid-line.\n"
    )
    assert clean_mdx(src) == (
        "# Load pipelines\n\n## DDPMPipeline\n\nText with [[not-a-marker]] mid-line.\n"
    )


def test_mdx_framework_switch_keeps_pytorch_branch():
    src = (
        "{#if fw === 'pt'}\n\n```py\nimport torch\n```\n\n"
        "{:else}\n\n```py\nimport tensorflow\n```\n\n"
        "{/if}\n\n> {#if fw === 'tf'}\n> TF tip.\n> {:else}\n> PT tip.\n> {/if}\n"
    )
    assert clean_mdx(src) == "```py\nimport torch\n```\n\n> PT tip.\n"


def test_mdx_keeps_math_and_special_tokens():
    src = "Math $$\\sum_i a_i < b$$ and $a<b$ stay; the <s> and </s> tokens too.\n"
    assert clean_mdx(src) == src


def test_mdx_html_inline_formatting():
    src = 'A <em>key</em> idea, <b>bold</b>, CO<sub>2</sub>, <a href="/x">a link</a>.<br/>\n'
    assert clean_mdx(src) == "A *key* idea, **bold**, CO2, a link. \n"


# --------------------------------------------------------------------------- dispatcher


def test_clean_markdown_dispatch():
    d2l = "# Title\n:label:`sec_x`\n\nSee :numref:`sec_y`.\n"
    assert clean_markdown(d2l, "chapter/x.md") == "# Title\n\nSee the referenced section.\n"
    cell = "```{.python .input}\n%%tab pytorch\nx = 1\n```\n"
    assert clean_markdown(cell, "x.md") == "```python\nx = 1\n```\n"
    mdx = '# Intro[[intro]]\n\n<Youtube id="x"/>\n'
    assert clean_markdown(mdx, "course/chapter1/1.mdx") == "# Intro\n"
    assert clean_markdown("<Tip>\nHi.\n</Tip>\n", "docs/a.md") == "Hi.\n"
    assert clean_markdown("[[open-in-colab]]\n\nHi.\n", "docs/a.md") == "Hi.\n"
    plain = "# Plain\n\n<div>html stays</div> and :label: words stay.\n"
    assert clean_markdown(plain, "notes/plain.md") == plain


# --------------------------------------------------------------------------- real files

D2L_MARKERS = (":label:", ":numref:", ":eqref:", "%%tab", ":begin_tab:", "#@save")
D2L_EXTRA = (":end_tab:", ":eqlabel:", ":cite:", ":citet:", ":width:", "#@tab", "[**", "**]")
MDX_MARKERS = ("<Youtube", "<Question", "<Tip", "<CourseFloatingBanner", "[[open-in-colab]]")
MDX_EXTRA = ("<FrameworkSwitchCourse", "<CoursePromo", "<Screenshot", "[[autodoc]]", "{#if")


def d2l_files() -> list[Path]:
    # SOURCE.md is the mirror's provenance note (it quotes the markers on purpose) and is
    # never indexed; everything else is book content.
    return sorted(p for p in D2L.rglob("*.md") if p.name != "SOURCE.md")


def test_clean_d2l_on_every_d2l_file():
    files = d2l_files()
    assert len(files) > 150
    emptied = []
    for path in files:
        src = path.read_text(encoding="utf-8")
        out = clean_d2l(src)
        if not out.strip():
            emptied.append(path.relative_to(D2L).as_posix())
        # A few chapters *explain* `%%tab` and `#@save` in inline code; that prose is kept.
        prose = INLINE_CODE.sub("", prose_of(out))
        for marker in D2L_MARKERS + D2L_EXTRA:
            assert marker not in prose, (path, marker)
            assert marker not in code_of(out) or marker in ("[**", "**]"), (path, marker)
        assert "{.python .input" not in out, path
        assert out.count("$$") == src.count("$$"), path
        assert clean_d2l(out) == out, path
    # The bibliography page is nothing but a reST directive.
    assert emptied == ["chapter_references/zreferences.md"]


def mdx_files() -> list[Path]:
    return sorted(MIRROR.rglob("*.mdx"))


def test_clean_mdx_on_every_mdx_file():
    files = mdx_files()
    assert len(files) > 150
    quizzes = 0
    for path in files:
        src = path.read_text(encoding="utf-8")
        out = clean_mdx(src)
        assert out.strip(), path
        prose = prose_of(out)
        for marker in MDX_MARKERS + MDX_EXTRA:
            assert marker not in prose, (path, marker)
        assert not re.search(r"^(?:import|export) .*\bfrom ['\"]", prose, re.M), path
        assert out.count("$$") == src.count("$$"), path
        # Code fences come through byte for byte.
        assert _fences(out) <= _fences(src), path
        quizzes += out.count("Quiz choices:")
        assert clean_mdx(out) == out, path
    assert quizzes >= 40


def _fences(text: str) -> set[str]:
    return {m.group(0) for m in FENCE.finditer(text)}


def test_clean_markdown_on_every_mirrored_markdown_file():
    routed = 0
    for path in sorted([*MIRROR.rglob("*.md"), *MIRROR.rglob("*.mdx")]):
        src = path.read_text(encoding="utf-8")
        out = clean_markdown(src, str(path))
        routed += out != src
        if path.suffix == ".mdx" or "[[open-in-colab]]" in src or "<Tip" in src:
            assert "[[open-in-colab]]" not in prose_of(out), path
        assert clean_markdown(out, str(path)) == out, path
    assert routed > 300
