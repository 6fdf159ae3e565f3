"""Fit the answerability gate (tutor.answerable) for the configured model and measure it.

Every question of the answerable suites (answerable, answerable_mirror, false_premise,
benign_lookalikes: label 1) and of the unanswerable suite (near misses and off-topic: label
0) goes through the tutor's own retrieval and evidence step; the model is asked whether the
question can be answered from the passages, and P(yes) is read from its logits. The
questions are split once into a tuning and a test half by a hash of their id (stable as the
sets grow), stratified by suite and kind. A three-feature logistic model is fitted on the
tuning half, and its threshold is the highest that declines at most `--max-false-abstention`
of the tuning half's answerable questions. The test half's refusal recall (near misses and
off-topic apart) and false abstention, with Wilson intervals, are recorded next to the gate,
against the cosine gate alone.

Each question costs one forward pass over its passages (about 10 s on 2 cores with whole
passages); verdicts are cached per index build in the data directory, so a rerun or a resume
after a cut-off only pays for new questions.

    python evals/tools/calibrate_answer_gate.py            # measure, fit, write
    python evals/tools/calibrate_answer_gate.py --dry-run  # measure and print only

The gate is fitted for the evidence the settings give the model: whole passages
(TUTOR_EVIDENCE_TOKENS=0, written to evals/results/answer_gate.json) or the selected
sentences (TUTOR_EVIDENCE_TOKENS=N, evals/results/answer_gate_sentences.json); each is kept
as its own record in src/tutor/answer_gates.json. With sentences, when a whole-passages gate
is already fitted for the model, the level at which the sentences gate answers outright
(`sure`) is fitted too: the questions below `--sure-top` are measured again with whole
passages, and the cascade's rates are recorded (fit the passages gate first).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tutor.answer import Tutor, open_tutor
from tutor.answerable import FEATURES, AnswerGate, evidence_kind, load_gate, save_gate
from tutor.config import Settings
from tutor.evals.answer_gate import (
    cascade_declined,
    choose_sure,
    choose_threshold,
    fit,
    gated,
    half,
    measure,
    measured_on,
    progress_printer,
    questions,
    rates,
    rates_of,
)
from tutor.evals.metrics import shares

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "evals" / "results"
OUT = {
    "passages": RESULTS / "answer_gate.json",
    "sentences": RESULTS / "answer_gate_sentences.json",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-false-abstention", type=float, default=0.05)
    parser.add_argument(
        "--sure-top",
        type=float,
        default=0.9,
        help="sentences only: the highest level considered for answering outright; the whole "
        "passages are measured for the questions below it",
    )
    parser.add_argument("--dry-run", action="store_true", help="print; write nothing")
    args = parser.parse_args()
    settings = Settings()
    build = (settings.data_dir / "index").resolve().name
    cache = settings.data_dir / "evals" / f"answer-gate-{build}.jsonl"
    progress = progress_printer()
    tutor = open_tutor(settings)
    evidence = evidence_kind(settings.evidence_tokens)
    rows, model_id = measure(tutor, questions(ROOT / "evals" / "datasets"), cache, progress)
    for r in rows:
        r["half"] = half(r["id"])
    tune = [r for r in rows if r["half"] == "tune"]
    test = [r for r in rows if r["half"] == "test"]
    tune_gated = [r for r in tune if gated(r)]
    weights, bias = fit(tune_gated)
    gate = AnswerGate(model_id, dict(zip(FEATURES, map(float, weights), strict=True)), bias, 0.0)
    threshold = choose_threshold(tune_gated, gate, args.max_false_abstention)
    result = {
        **measured_on(tutor),
        "evidence": evidence,
        "max_false_abstention": args.max_false_abstention,
        "questions": {"tune": len(tune), "test": len(test)},
        "weights": gate.weights,
        "bias": bias,
        "threshold": threshold,
    }
    gate = AnswerGate(model_id, gate.weights, bias, threshold)
    result["test"] = {"gate": rates(test, gate), "cosine_gate_only": rates(test, None)}
    result["tune"] = {"gate": rates(tune, gate), "cosine_gate_only": rates(tune, None)}
    sure = None
    wide = load_gate(model_id, "passages")
    if evidence == "sentences" and wide is not None:
        sure, result["cascade"] = fit_cascade(tutor, rows, gate, wide, cache, args.sure_top)
    print(json.dumps(result, indent=1))
    if not args.dry_run:
        calibration = {k: result[k] for k in ("measured_at", "questions", "test")}
        if sure is not None:
            calibration["cascade"] = {k: result["cascade"][k] for k in ("sure", "test")}
        gate = AnswerGate(model_id, gate.weights, bias, threshold, evidence, sure, calibration)
        save_gate(gate)
        OUT[evidence].write_text(json.dumps(result, indent=1) + "\n")
    return 0


def fit_cascade(tutor, rows, gate, wide, cache, top: float) -> tuple[float, dict]:
    """Fit the level at which the sentences gate answers outright (tutor.answerable): the
    questions it is less sure of are measured again with whole passages, and the lowest
    level that lets through no more of the tuning half's unanswerable questions than `top`
    does is chosen. Returns it with the cascade's rates on both halves and the share of
    answerable questions answered from the sentences alone."""
    doubtful = {
        r["id"]
        for r in rows
        if r["features"] is not None and gated(r) and gate.probability(r["features"]) < top
    }
    print(f"whole passages for the {len(doubtful)} questions below {top}", file=sys.stderr)
    whole = Tutor(
        tutor.settings.model_copy(update={"evidence_tokens": 0}), tutor.retriever, tutor.llm
    )
    wide_rows, _ = measure(
        whole, [r for r in rows if r["id"] in doubtful], cache, progress_printer()
    )
    by_id = {r["id"]: r for r in wide_rows}
    tune = [r for r in rows if r["half"] == "tune"]
    sure = choose_sure(tune, by_id, gate, wide, top)
    result: dict = {"sure": sure, "top": top, "wide_gate_threshold": wide.threshold}
    for name in ("tune", "test"):
        half_rows = [r for r in rows if r["half"] == name]
        flags = cascade_declined(half_rows, by_id, gate, wide, sure)
        answerable = [r for r in half_rows if r["answerable"] and gated(r)]
        outright = [gate.probability(r["features"]) >= sure for r in answerable]
        result[name] = rates_of(half_rows, flags) | shares({"answered_on_sentences": outright})
    return sure, result


if __name__ == "__main__":
    sys.exit(main())
