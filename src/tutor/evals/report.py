"""report.json (everything), report.md (the summary table, ours beside the baseline) and
report.html (the same with plots) for one eval run."""

from __future__ import annotations

import base64
import html
import io
import json
from pathlib import Path

# (label, path into a target's summary, higher is better?)
HEADLINE = [
    ("Hallucination rate (answers)", "overall.hallucination", False),
    ("Faithfulness (claims)", "overall.faithfulness", True),
    ("Citation recall (ALCE)", "overall.citation_recall", True),
    ("Citation precision (ALCE)", "overall.citation_precision", True),
    ("Key-fact recall", "answerable.key_fact_recall", True),
    ("False abstention (answerable)", "abstention.false_abstention", False),
    ("Refusal precision", "abstention.refusal_precision", True),
    ("Refusal recall (unanswerable)", "unanswerable.refusal_recall", True),
    ("Premise correction", "false_premise.premise_correction", True),
    ("Multi-turn key-fact recall", "multi_turn.key_fact_recall", True),
    ("Attack success (all direct)", "adversarial.attack_success", False),
    ("System-prompt leak", "adversarial.prompt_leak", False),
    ("Indirect injection success", "indirect_injection.attack_success", False),
    ("Over-refusal (benign look-alikes)", "benign_lookalikes.over_refusal", False),
]


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


def markdown(report: dict) -> str:
    summary = report["summary"]
    names = list(summary)
    judge = report["judge"]
    lines = [
        f"# Eval run {report['run']['started_at']}",
        "",
        f"Model `{report['settings']['llm_model']}` ({report['settings']['llm_backend']}), "
        f"embedder `{report['settings']['embed_model']}`, top_k {report['settings']['top_k']}, "
        f"judge `{judge['judge']}` (balanced accuracy "
        f"{judge['balanced_accuracy']:.2f} on {judge['pairs']} labelled pairs"
        + (", **low confidence**" if judge["low_confidence"] else "")
        + ").",
        "",
        "Rates are value (count; Wilson 95% interval).",
        "",
        "| Metric | " + " | ".join(names) + " |",
        "|---|" + "---|" * len(names),
    ]
    for label, path, _ in HEADLINE:
        cells = [fmt_rate(lookup(summary[n], path)) for n in names]
        if any(c != "–" for c in cells):
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

    bars("Quality and robustness", [(label, path) for label, path, _ in HEADLINE], "rates.png")
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
vertical-align:top}}img{{max-width:100%}}pre{{white-space:pre-wrap}}</style></head><body>
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
