"""Fitting and measuring the premise check (tutor.premise) on labelled premises.

The questions of `false_premise.jsonl` state a claim the materials contradict (label 0);
those of `true_premise.jsonl` state one the materials back (label 1). Each goes through the
tutor's own retrieval and evidence step, its premise is cut out as the pipeline does, and
the model's P(yes) that the passages show the premise is true is read from its logits. The
questions are split by a hash of their id (the same split as the answerability gate's). The
threshold is the highest that flags at most the allowed share of the tuning half's true
premises (telling a learner that a right belief is wrong is the costly error; missing a
false one leaves the answer as it was before the check). The test half's catch rate and
false-flag rate, with Wilson intervals, are reported.

This calibrates a pipeline stage, so unlike the judges it uses the pipeline.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from tutor import prompts
from tutor.evals.answer_gate import half, measured_records
from tutor.evals.metrics import shares
from tutor.premise import check_messages, stated_premise

SUITES = {"false_premise.jsonl": False, "true_premise.jsonl": True}


def questions(datasets: Path) -> list[dict]:
    """Every labelled question whose premise the pipeline can cut out."""
    rows = []
    for name, true in SUITES.items():
        for line in (datasets / name).read_text().splitlines():
            if not line.strip():
                continue
            case = json.loads(line)
            premise = stated_premise(case["question"])
            if premise:
                rows.append(
                    {
                        "id": case["id"],
                        "question": case["question"],
                        "premise": premise,
                        "true": true,
                        "half": half(case["id"]),
                    }
                )
    return rows


def check_prompt_id() -> str:
    """Names the check's wording, so a reworded check is measured again."""
    return hashlib.sha256(prompts.PREMISE_CHECK_USER.encode()).hexdigest()[:12]


def measure(tutor, rows: list[dict], cache_path: Path, progress=None) -> tuple[list[dict], str]:
    """Each row with `p_true` (None: nothing was retrieved, so the pipeline declines before
    any check), and the model id. P(yes) is cached in `cache_path` by what the model read;
    `progress(done, total)` is called after each question."""

    def ask(system, evidence, passages, row):
        messages = check_messages(system, evidence, row["question"], row["premise"])
        return {"p_true": tutor.llm.yes_probability(messages)}

    measured = measured_records(tutor, rows, cache_path, check_prompt_id(), ask, progress)
    rows_out = [row | {"p_true": record and record["p_true"]} for row, _, record in measured]
    return rows_out, tutor.llm.model_id


def choose_threshold(rows: list[dict], max_false_flags: float) -> float:
    """The highest threshold that flags at most `max_false_flags` of the true premises."""
    probs = sorted(r["p_true"] for r in rows if r["true"] and r["p_true"] is not None)
    allowed = int(np.floor(max_false_flags * len(probs)))  # this many may fall below
    return float(probs[allowed]) if allowed < len(probs) else 1.0


def rates(rows: list[dict], threshold: float) -> dict:
    """How many false premises the check flags (caught) and how many true ones (false
    flags), over the rows that reached it."""
    checked = [r for r in rows if r["p_true"] is not None]
    groups = {
        "caught": [r["p_true"] < threshold for r in checked if not r["true"]],
        "false_flags": [r["p_true"] < threshold for r in checked if r["true"]],
    }
    return shares(groups)


def auc(rows: list[dict]) -> float | None:
    """P(a true premise scores above a false one): how well P(yes) separates them at all."""
    true = [r["p_true"] for r in rows if r["true"] and r["p_true"] is not None]
    false = [r["p_true"] for r in rows if not r["true"] and r["p_true"] is not None]
    if not true or not false:
        return None
    wins = sum((t > f) + 0.5 * (t == f) for t in true for f in false)
    return round(wins / (len(true) * len(false)), 3)
