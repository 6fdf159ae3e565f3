"""Fitting and measuring the answerability gate (tutor.answerable) on the eval's questions.

Every question of the answerable suites (answerable, answerable_mirror, false_premise,
benign_lookalikes: label 1) and of the unanswerable suite (near misses and off-topic: label
0) goes through the tutor's own retrieval and evidence step; the model is asked whether the
question can be answered from the passages, and P(yes) is read from its logits. The
questions are split once into a tuning and a test half by a hash of their id (stable as the
sets grow). A three-feature logistic model is fitted on the tuning half, and its threshold
is the highest that declines at most the allowed share of the tuning half's answerable
questions. The test half's refusal recall (near misses and off-topic apart) and false
abstention, with Wilson intervals, are reported against the cosine gate alone.

This calibrates a pipeline stage, so unlike the judges it uses the pipeline.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

from tutor import prompts
from tutor.answer import format_passages
from tutor.answerable import FEATURES, AnswerGate, asserts_premise, check_messages, gate_features
from tutor.evals.metrics import shares

ANSWERABLE_SUITES = ("answerable", "answerable_mirror", "false_premise", "benign_lookalikes")


def questions(datasets: Path) -> list[dict]:
    rows = []
    for suite in (*ANSWERABLE_SUITES, "unanswerable"):
        for line in (datasets / f"{suite}.jsonl").read_text().splitlines():
            if line.strip():
                case = json.loads(line)
                rows.append(
                    {
                        "id": case["id"],
                        "question": case["question"],
                        "group": case.get("kind", suite),
                        "answerable": suite != "unanswerable",
                    }
                )
    return rows


def half(case_id: str) -> str:
    """'tune' or 'test', fixed by the id alone."""
    return "tune" if hashlib.sha256(case_id.encode()).digest()[0] % 2 == 0 else "test"


def check_prompt_id() -> str:
    """Names the check's prompt text, so cached answers to an older wording are not reused."""
    return hashlib.sha256(prompts.ANSWERABLE_USER.encode()).hexdigest()[:12]


def reads_id(system: str, evidence: str) -> str:
    """Names what the model reads before the check (its rules and the passages as
    formatted), so a cached probability is reused only when these are unchanged: a new
    passage format, evidence budget or canary is measured again."""
    return hashlib.sha256(f"{system}\0{evidence}".encode()).hexdigest()[:12]


def cached_records(path: Path) -> list[dict]:
    """The measurements a cache file holds (a line cut off by an interrupted run is
    skipped); its folder is made when missing, so the measurer can append to it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return records


def progress_printer() -> Callable[[int, int], None]:
    """`progress(done, total)` that prints elapsed and remaining time to stderr."""
    started = time.perf_counter()

    def progress(done: int, total: int) -> None:
        elapsed = time.perf_counter() - started
        left = elapsed / done * (total - done)
        print(f"[{done}/{total}] {elapsed:.0f} s, about {left:.0f} s left", file=sys.stderr)

    return progress


def measured_on(tutor) -> dict:
    """When and with what a pipeline stage was measured, for its results file."""
    settings = tutor.settings
    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "model_id": tutor.llm.model_id,
        "embed_model": settings.embed_model,
        "index_build": tutor.retriever.index.path.name,
        "chunks": len(tutor.retriever.index.chunks),
        "evidence_tokens": settings.evidence_tokens,
        "top_k": settings.top_k,
        "min_dense_score": settings.min_dense_score,
    }


def measured_records(tutor, rows: list[dict], cache_path: Path, prompt: str, ask, progress=None):
    """For each row, in order: (row, passages, record). The record holds what
    `ask(system, evidence, passages, row)` returned, read from `cache_path` when it was
    measured before with the same model, check wording (`prompt`) and everything the model
    read, and written there otherwise; None when nothing was retrieved (the pipeline
    declines before any check). `progress(done, total)` is called after each row."""
    model_id = tutor.llm.model_id
    cached = {
        (record["model_id"], record.get("prompt"), record.get("reads"), record["question"]): record
        for record in cached_records(cache_path)
    }
    system = prompts.system_prompt("explain", "intermediate", tutor.settings.prompt_canary)
    measured = []
    with cache_path.open("a") as out:
        for i, row in enumerate(rows, 1):
            _, passages = tutor.retrieve_evidence(row["question"])
            record = None
            if passages:
                evidence = format_passages(passages)
                key = (model_id, prompt, reads_id(system, evidence), row["question"])
                record = cached.get(key)
                if record is None:
                    record = {"model_id": model_id, "prompt": prompt, "reads": key[2]}
                    record |= {"question": row["question"]}
                    record |= ask(system, evidence, passages, row)
                    out.write(json.dumps(record) + "\n")
                    out.flush()
                    cached[key] = record
            measured.append((row, passages, record))
            if progress:
                progress(i, len(rows))
    return measured


def measure(tutor, rows: list[dict], cache_path: Path, progress=None) -> tuple[list[dict], str]:
    """Each row with its gate features (None: the cosine gate declined it), and the model
    id. The model's P(yes) is cached in `cache_path` by what the model read, so a rerun pays
    only for new questions or changed evidence (retrieval and the word features are
    recomputed: they take milliseconds); `progress(done, total)` is called after each."""

    def ask(system, evidence, passages, row):
        messages = check_messages(system, evidence, row["question"])
        return {"features": {"p_yes": tutor.llm.yes_probability(messages)}}

    frequencies = tutor.retriever.term_frequencies
    measured = []
    for row, passages, record in measured_records(
        tutor, rows, cache_path, check_prompt_id(), ask, progress
    ):
        features = None
        if record is not None:
            p_yes = record["features"]["p_yes"]
            features = gate_features(p_yes, passages, row["question"], frequencies)
            features["p_yes"] = p_yes
        measured.append(row | {"features": features})
    return measured, tutor.llm.model_id


def fit(rows: list[dict], l2: float = 0.1) -> tuple[np.ndarray, float]:
    """Logistic regression on the rows that reached the gate (weights, bias)."""
    x = np.array([[r["features"][f] for f in FEATURES] for r in rows])
    y = np.array([1.0 if r["answerable"] else 0.0 for r in rows])

    def loss(params):
        z = x @ params[:-1] + params[-1]
        return np.mean(np.logaddexp(0, z) - y * z) + l2 * np.sum(params[:-1] ** 2) / len(y)

    result = minimize(loss, np.zeros(x.shape[1] + 1), method="L-BFGS-B")
    return result.x[:-1], float(result.x[-1])


def gated(row: dict) -> bool:
    """Whether the question reaches the gate, as in the pipeline: passages were found and it
    states no premise."""
    return row["features"] is not None and not asserts_premise(row["question"])


def declined(rows: list[dict], gate: AnswerGate | None) -> list[bool]:
    """Whether each question is declined: by the cosine gate (no passages), or by `gate`."""
    return [
        r["features"] is None or (gate is not None and gated(r) and not gate.answers(r["features"]))
        for r in rows
    ]


def cascade_declined(
    rows: list[dict], wide_rows: dict[str, dict], gate: AnswerGate, wide: AnswerGate, sure: float
) -> list[bool]:
    """Whether each question is declined by the cascade (tutor.answerable): the cosine gate,
    then the sentences `gate` answering outright at or above `sure`, else the whole
    passages' gate `wide` on the same question's row in `wide_rows` (by id)."""
    flags = []
    for r in rows:
        if r["features"] is None or not gated(r):
            flags.append(r["features"] is None)
        elif gate.probability(r["features"]) >= sure:
            flags.append(False)
        else:
            w = wide_rows[r["id"]]
            flags.append(w["features"] is None or not wide.answers(w["features"]))
    return flags


def choose_sure(
    rows: list[dict],
    wide_rows: dict[str, dict],
    gate: AnswerGate,
    wide: AnswerGate,
    top: float,
    max_extra: float = 0.0,
) -> float:
    """The lowest level at or above which the sentences gate may answer outright while the
    cascade lets through at most `max_extra` (a share) more of the unanswerable `rows` than
    it does with `top` as the level: the shortcut should cost no refusals. `wide_rows` need
    only cover the gated rows below `top`."""
    unanswerable = [not r["answerable"] for r in rows]

    def let_through(level: float) -> int:
        flags = cascade_declined(rows, wide_rows, gate, wide, level)
        return sum(u and not f for u, f in zip(unanswerable, flags, strict=True))

    allowed = let_through(top) + int(np.floor(max_extra * sum(unanswerable)))
    levels = sorted(
        {gate.probability(r["features"]) for r in rows if r["features"] is not None and gated(r)}
        | {top}
    )
    return next(x for x in levels if x <= top and let_through(x) <= allowed)


def rates(rows: list[dict], gate: AnswerGate | None) -> dict:
    return rates_of(rows, declined(rows, gate))


def rates_of(rows: list[dict], flags: list[bool]) -> dict:
    """False abstention and refusal recall (near misses and off-topic apart) of `flags`."""
    groups = {
        "false_abstention": [f for f, r in zip(flags, rows, strict=True) if r["answerable"]],
        "refusal_recall": [f for f, r in zip(flags, rows, strict=True) if not r["answerable"]],
        "refusal_recall_near_miss": [
            f for f, r in zip(flags, rows, strict=True) if r["group"] == "near_miss"
        ],
        "refusal_recall_off_topic": [
            f for f, r in zip(flags, rows, strict=True) if r["group"] == "off_topic"
        ],
    }
    return shares(groups)


def choose_threshold(gate_rows: list[dict], gate: AnswerGate, max_false: float) -> float:
    """The highest threshold that declines at most `max_false` of the answerable rows."""
    probs = sorted(gate.probability(r["features"]) for r in gate_rows if r["answerable"])
    allowed = int(np.floor(max_false * len(probs)))  # this many may fall below
    return float(probs[allowed]) if allowed < len(probs) else 1.0
