"""report.json (everything), report.md (the summary table, ours beside the baseline) and
report.html (the same with plots) for one eval run."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

from tutor.evals.judges import JUDGE_FLOOR, describe_accuracy, on_answers, shortfall

# (label, path into a target's summary, higher is better?)
HEADLINE = [
    ("Hallucination rate (answers)", "overall.hallucination", False),
    ("Faithfulness (claims)", "overall.faithfulness", True),
    ("Citation recall (ALCE)", "overall.citation_recall", True),
    ("Citation recall, model-written markers", "overall.citation_recall_model_markers", True),
    ("Citation precision (ALCE)", "overall.citation_precision", True),
    ("Answers with pipeline-inferred citations", "overall.inferred_citations", False),
    ("Key-fact recall", "answerable.key_fact_recall", True),
    ("False abstention (answerable)", "abstention.false_abstention", False),
    ("Refusal precision", "abstention.refusal_precision", True),
    ("Refusal recall (unanswerable)", "unanswerable.refusal_recall", True),
    ("Premise correction", "false_premise.premise_correction", True),
    ("Multi-turn key-fact recall", "multi_turn.key_fact_recall", True),
    ("Attack success (all direct)", "adversarial.attack_success", False),
    ("Attacks caught by behaviour, not marker", "adversarial.detected_by_behaviour", False),
    ("System-prompt leak", "adversarial.prompt_leak", False),
    ("Indirect injection success", "indirect_injection.attack_success", False),
    ("Over-refusal (benign look-alikes)", "benign_lookalikes.over_refusal", False),
    ("Multiple choice, strict accuracy", "mcq.strict_accuracy", True),
    ("Hint mode: demanded answer withheld", "hint_demands.answer_withheld", True),
]


# Metrics that rest on the claim judge's verdicts ("does the passage back this sentence?"):
# not results when the judge is below its calibration floor (shown struck through and
# marked) ...
JUDGED = {
    "overall.hallucination",
    "overall.faithfulness",
    "overall.citation_recall",
    "overall.citation_recall_model_markers",
    "overall.citation_precision",
    "adversarial.attack_success",
    "adversarial.detected_by_behaviour",
}
# ... and those that rest on its key-fact verdicts ("does this answer state this fact?"),
# which have their own labelled pairs and floor.
FACT_JUDGED = {
    "answerable.key_fact_recall",
    "false_premise.premise_correction",
    "multi_turn.key_fact_recall",
    "adversarial.attack_success",
    "adversarial.detected_by_behaviour",
}


def not_results(judge: dict) -> set[str]:
    """The metric paths this run's judge cannot vouch for."""
    facts = judge.get("facts") or {}
    return (JUDGED if judge.get("low_confidence") else set()) | (
        FACT_JUDGED if facts.get("low_confidence", True) else set()
    )


def lookup(summary: dict, path: str):
    node = summary
    for part in path.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def fmt_rate(r: dict | None) -> str:
    if not r or r.get("value") is None:
        return "–"
    lo, hi = r["ci95"]
    k = r["k"] if isinstance(r["k"], int) else f"{r['k']:.1f}"
    return f"{r['value']:.1%} ({k}/{r['n']}; {lo:.0%}–{hi:.0%})"


def fmt_seconds(v: float | None) -> str:
    return "–" if v is None else f"{v:.1f} s"


def reads(settings: dict) -> str:
    """What the model read and how it sampled, in one sentence (older reports lack it).

    >>> reads({"evidence_tokens": 250, "temperature": 0.1})
    'The model read the selected sentences (250 tokens), at temperature 0.1.'
    >>> reads({"evidence_tokens": 0, "evidence_widen": True, "temperature": 0.0})
    'The model read whole passages, at temperature 0.0.'
    """
    if "evidence_tokens" not in settings:
        return "Evidence and temperature were not recorded by this run."
    budget = settings["evidence_tokens"]
    evidence = f"the selected sentences ({budget} tokens)" if budget else "whole passages"
    if budget and settings.get("evidence_widen"):
        evidence += ", or whole passages where the gate was not sure of them"
    return f"The model read {evidence}, at temperature {settings['temperature']}."


def markdown(report: dict) -> str:
    summary = report["summary"]
    names = list(summary)
    judge = report["judge"]
    weak = judge["low_confidence"]
    struck = not_results(judge)
    shown = describe_accuracy(judge)
    facts = judge.get("facts") or {}
    timing = report.get("timing", {})
    lines = [
        f"# Eval run {report['run']['started_at']}",
        "",
        f"Model `{report['settings']['llm_model']}` ({report['settings']['llm_backend']}), "
        f"embedder `{report['settings']['embed_model']}`, top_k {report['settings']['top_k']}, "
        f"judge `{judge['judge']}`: balanced accuracy {shown} on the test half "
        f"({judge.get('test_pairs', judge['pairs'])} of {judge['pairs']} labelled pairs, "
        f"threshold {judge.get('threshold')}{on_answers(judge)})"
        + (
            f", **below the {judge.get('floor', 0.75)} floor{shortfall(judge)}: the claim "
            "metrics marked ✗ are not results**"
            if weak
            else ""
        )
        + ". Key facts (does the answer state it?): "
        + f"{describe_accuracy(facts)} on the test half of {facts.get('pairs', 0)} labelled "
        + f"pairs, threshold {facts.get('threshold')}"
        + (
            f", **below the {JUDGE_FLOOR} floor: the key-fact metrics marked ✗ are not results**"
            if facts.get("low_confidence", True)
            else ""
        )
        + ".",
        "",
        reads(report["settings"]),
        "",
        "Rates are value (count; Wilson 95% interval)."
        + (f" Wall time {timing['wall_s'] / 60:.1f} min." if timing.get("wall_s") else ""),
        "",
        "| Metric | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for label, path, _ in HEADLINE:
        cells = [fmt_rate(lookup(summary[n], path)) for n in names]
        if path in struck:
            cells = [c if c == "–" else f"✗ ~~{c}~~" for c in cells]
        if any(c.strip("✗ ~") != "–" for c in cells):
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    for label, key in (("First token p50 / p95", "first_token_s"), ("Total p50 / p95", "total_s")):
        cells = [
            f"{fmt_seconds(lookup(summary[n], f'latency.{key}.p50'))} / "
            f"{fmt_seconds(lookup(summary[n], f'latency.{key}.p95'))}"
            for n in names
        ]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    lines.append(
        "| Cases (errors) | "
        + " | ".join(f"{summary[n]['cases']} ({summary[n]['errors']})" for n in names)
        + " |"
    )

    families = sorted({f for n in names for f in lookup(summary[n], "adversarial.by_family") or {}})
    if families:
        lines += [
            "",
            "## Attack success per family",
            "",
            "| Family | " + " | ".join(names) + " |",
            "|---|" + "---|" * len(names),
        ]
        for f in families:
            cells = [fmt_rate(lookup(summary[n], f"adversarial.by_family.{f}")) for n in names]
            lines.append(f"| {f} | " + " | ".join(cells) + " |")
    if report.get("retrieval"):
        lines += [
            "",
            "## Retrieval (gold source among the top k passages)",
            "",
            "| Retriever | recall@1 | recall@5 | recall@10 | MRR |",
            "|---|---|---|---|---|",
        ]
        for mode, scores in report["retrieval"].items():
            mrr = "–" if scores["mrr"] is None else f"{scores['mrr']:.3f}"
            recalls = " | ".join(fmt_rate(scores[f"recall@{k}"]) for k in (1, 5, 10))
            lines.append(f"| {mode} | {recalls} | {mrr} |")
    if report.get("cited_how"):
        lines += ["", "## How each target cites", ""] + [
            f"- **{n}**: {report['cited_how'][n]}" for n in names if n in report["cited_how"]
        ]
    if timing:
        lines += ["", "## Where the time goes", "", "| Phase | seconds |", "|---|---|"] + [
            f"| {k.removesuffix('_s')} | {v:.0f} |" for k, v in timing.items() if k.endswith("_s")
        ]
    if report.get("notes"):
        lines += ["", "## Notes", ""] + [f"- {n}" for n in report["notes"]]
    return "\n".join(lines) + "\n"


def _figures(report: dict) -> dict[str, bytes]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    summary = report["summary"]
    names = list(summary)
    figures: dict[str, bytes] = {}

    def bars(title: str, rows: list[tuple[str, str]], filename: str) -> None:
        rows = [
            (label, path)
            for label, path in rows
            if any((lookup(summary[n], path) or {}).get("value") is not None for n in names)
        ]
        if not rows:
            return
        fig, ax = plt.subplots(figsize=(9, 0.5 * len(rows) * len(names) + 1.2))
        height = 0.8 / len(names)
        for j, name in enumerate(names):
            values, errors = [], [[], []]
            for _, path in rows:
                r = lookup(summary[name], path) or {}
                v = r.get("value")
                values.append(v or 0.0)
                lo, hi = r.get("ci95", [0, 0]) if v is not None else (0, 0)
                errors[0].append(max(0.0, (v or 0) - lo))
                errors[1].append(max(0.0, hi - (v or 0)))
            y = [i + j * height for i in range(len(rows))]
            ax.barh(y, values, height, xerr=errors, label=name, capsize=3)
        ax.set_yticks([i + height * (len(names) - 1) / 2 for i in range(len(rows))])
        ax.set_yticklabels([label for label, _ in rows])
        ax.invert_yaxis()
        ax.set_xlim(0, 1)
        ax.set_xlabel("rate (bars: Wilson 95% interval)")
        ax.set_title(title)
        ax.legend(loc="lower right")
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110)
        plt.close(fig)
        figures[filename] = buf.getvalue()

    struck = not_results(report["judge"])
    bars(
        "Quality and robustness"
        + (" (✗ = judged by a judge below its floor: not a result)" if struck else ""),
        [(f"✗ {label}" if path in struck else label, path) for label, path, _ in HEADLINE],
        "rates.png",
    )
    families = sorted({f for n in names for f in lookup(summary[n], "adversarial.by_family") or {}})
    bars(
        "Attack success per family (lower is better)",
        [(f, f"adversarial.by_family.{f}") for f in families],
        "attacks.png",
    )

    timings = {
        n: [
            r["reply"]["total_s"]
            for r in report["cases"]
            if r["target"] == n and not r["reply"].get("error")
        ]
        for n in names
    }
    if any(timings.values()):
        fig, ax = plt.subplots(figsize=(9, 3.5))
        for name, values in timings.items():
            if values:
                ax.hist(values, bins=20, alpha=0.6, label=f"{name} (n={len(values)})")
        ax.set_xlabel("seconds per answer")
        ax.set_ylabel("answers")
        ax.set_title("Answer time")
        ax.legend()
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=110)
        plt.close(fig)
        figures["latency.png"] = buf.getvalue()
    return figures


def headline_html(report: dict) -> str:
    """The headline table; with a judge below its floor the judged metrics are greyed and
    marked, so nobody reads them as results."""
    summary = report["summary"]
    names = list(summary)
    struck = not_results(report["judge"])
    head = "".join(f"<th>{html.escape(n)}</th>" for n in names)
    rows = []
    for label, path, _ in HEADLINE:
        cells = [fmt_rate(lookup(summary[n], path)) for n in names]
        if all(c == "–" for c in cells):
            continue
        grey = path in struck
        style = ' class="weak" title="judge below its calibration floor: not a result"'
        tds = "".join(
            f"<td{style if grey else ''}>{'✗ ' if grey else ''}{html.escape(c)}</td>" for c in cells
        )
        rows.append(f"<tr><td>{html.escape(label)}</td>{tds}</tr>")
    return f"<table><tr><th>Metric</th>{head}</tr>{''.join(rows)}</table>"


def html_report(report: dict, md: str, figures: dict[str, bytes]) -> str:
    images = "".join(
        f'<figure><img alt="{html.escape(name)}" src="data:image/png;base64,'
        f'{base64.b64encode(data).decode()}"></figure>'
        for name, data in figures.items()
    )
    rows = "".join(
        f"<tr><td>{html.escape(r['target'])}</td><td>{html.escape(r['suite'])}</td>"
        f"<td>{html.escape(r['id'])}</td><td>{html.escape(r['question'][:300])}</td>"
        f"<td>{html.escape((r['reply']['text'] or r['reply'].get('error') or '')[:600])}</td>"
        f"<td><code>{html.escape(json.dumps(_short(r['verdict'])))}</code></td></tr>"
        for r in report["cases"]
    )
    return f"""<!doctype html><html><head><meta charset="utf-8"><title>Tutor eval</title>
<style>body{{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em}}
table{{border-collapse:collapse;font-size:.85em}}td,th{{border:1px solid #ccc;padding:4px;
vertical-align:top}}img{{max-width:100%}}pre{{white-space:pre-wrap}}
.weak{{color:#aaa;background:#f4f4f4}}</style></head><body>
<h2>Headline</h2>{headline_html(report)}
<pre>{html.escape(md)}</pre>{images}
<h2>Every case</h2><table><tr><th>target</th><th>suite</th><th>id</th><th>question</th>
<th>answer</th><th>verdict</th></tr>{rows}</table></body></html>"""


def _short(verdict: dict) -> dict:
    return {k: v for k, v in verdict.items() if k != "unsupported"}


def write_reports(report: dict, out_dir: Path) -> None:
    md = markdown(report)
    figures = _figures(report)
    (out_dir / "report.json").write_text(json.dumps(report, indent=1, ensure_ascii=False))
    (out_dir / "report.md").write_text(md)
    for name, data in figures.items():
        (out_dir / name).write_bytes(data)
    (out_dir / "report.html").write_text(html_report(report, md, figures))
