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
as its own record in src/tutor/answer_gates.json.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from tutor.answer import open_tutor
from tutor.answerable import FEATURES, AnswerGate, evidence_kind, save_gate
from tutor.config import Settings
from tutor.evals.answer_gate import (
    choose_threshold,
    fit,
    gated,
    half,
    measure,
    measured_on,
    progress_printer,
    questions,
    rates,
)

ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "evals" / "results"
OUT = {
    "passages": RESULTS / "answer_gate.json",
    "sentences": RESULTS / "answer_gate_sentences.json",
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-false-abstention", type=float, default=0.05)
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
    print(json.dumps(result, indent=1))
    if not args.dry_run:
        calibration = {k: result[k] for k in ("measured_at", "questions", "test")}
        save_gate(AnswerGate(model_id, gate.weights, bias, threshold, evidence, calibration))
        OUT[evidence].write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
