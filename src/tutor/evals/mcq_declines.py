"""How multiple-choice questions are declined: the answerability gate against a floor on the
option check's best P(yes), on labelled questions.

The course multiple-choice questions of `mcq.jsonl` are answered by the materials (label 1);
those of `unanswerable_mcq.jsonl` are not (label 0: near misses and off-topic questions,
asked with their options). Each goes through the tutor's own retrieval and evidence step;
every option gets the model's P(yes) that the passages show it is correct (tutor.choice),
and the gate's probability is recorded beside them. The questions are split by a hash of
their id (the gate's split). A floor is fitted on the tuning half by the gate's rule (the
highest that declines at most the allowed share of its answerable questions), and the test
half's refusal recall, false abstention and strict accuracy (the exact set of correct
options, a decline counting as wrong) are reported for three ways to decline: the gate (the
pipeline's way), the floor alone, and both together (declined only when the gate and the
floor both say so).

This measures a pipeline stage, so unlike the judges it uses the pipeline.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from tutor import prompts
from tutor.choice import choose_options
from tutor.evals.answer_gate import half, measured_records
from tutor.evals.datasets import mcq_text
from tutor.evals.metrics import shares
from tutor.hint import parse_options

SUITES = {"mcq.jsonl": True, "unanswerable_mcq.jsonl": False}


def questions(datasets: Path) -> list[dict]:
    rows = []
    for name, answerable in SUITES.items():
        for line in (datasets / name).read_text().splitlines():
            if line.strip():
                case = json.loads(line)
                rows.append(
                    {
                        "id": case["id"],
                        "question": mcq_text(case),
                        "answerable": answerable,
                        "group": case.get("kind", "course"),
                        "correct": sorted(case.get("correct", [])),
                        "half": half(case["id"]),
                    }
                )
    return rows


def prompts_id() -> str:
    """Names the wording of both checks, so a reworded check is measured again."""
    text = prompts.OPTION_CHECK_USER + prompts.ANSWERABLE_USER
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def measure(tutor, rows: list[dict], cache_path: Path, progress=None) -> tuple[list[dict], str]:
    """Each row with its options' P(yes) (`scores`, None: nothing was retrieved, so the
    pipeline declines before any check), the options chosen and the gate's probability (the
    tutor must have a fitted gate); and the model id. Cached in `cache_path` by what the
    model read; `progress(done, total)` is called after each question."""

    def ask(system, evidence, passages, row):
        question = row["question"]
        gate = tutor.answerability(system, evidence, question, passages)
        choice = choose_options(tutor.llm, system, evidence, question, parse_options(question))
        return {"gate": gate, "scores": choice.scores, "chosen": choice.letters}

    fields = ("scores", "chosen", "gate")
    measured = measured_records(tutor, rows, cache_path, prompts_id(), ask, progress)
    rows_out = [row | {k: record and record[k] for k in fields} for row, _, record in measured]
    return rows_out, tutor.llm.model_id


def best(row: dict) -> float | None:
    return max(row["scores"].values()) if row["scores"] else None


def choose_floor(rows: list[dict], declined, max_false: float) -> float:
    """The highest floor at which `declined(row, floor)` declines at most `max_false` of the
    answerable rows."""
    answerable = [r for r in rows if r["answerable"] and r["scores"]]
    allowed = int(np.floor(max_false * len(answerable)))
    for floor in sorted({best(r) for r in answerable}, reverse=True):
        if sum(declined(r, floor) for r in answerable) <= allowed:
            return floor
    return 0.0


def by_gate(row: dict, threshold: float) -> bool:
    """Declined by the cosine gate (nothing retrieved) or by the answerability gate."""
    return row["scores"] is None or row["gate"] < threshold


def by_floor(row: dict, floor: float) -> bool:
    return row["scores"] is None or best(row) < floor


def by_both(row: dict, threshold: float, floor: float) -> bool:
    """Declined when the gate and the floor both decline (or nothing was retrieved)."""
    return row["scores"] is None or (row["gate"] < threshold and best(row) < floor)


def rates(rows: list[dict], declined) -> dict:
    """Refusal recall (all, near misses, off topic), false abstention and strict accuracy,
    with `declined(row)` deciding each decline."""
    flags = [declined(r) for r in rows]
    pairs = list(zip(flags, rows, strict=True))
    groups = {
        "false_abstention": [f for f, r in pairs if r["answerable"]],
        "refusal_recall": [f for f, r in pairs if not r["answerable"]],
        "refusal_recall_near_miss": [f for f, r in pairs if r["group"] == "near_miss"],
        "refusal_recall_off_topic": [f for f, r in pairs if r["group"] == "off_topic"],
        "strict_accuracy": [
            not f and r["chosen"] == r["correct"] for f, r in pairs if r["answerable"]
        ],
    }
    return shares(groups)
