"""Eval datasets: JSONL files under evals/datasets/, one suite each, validated on load.

Attack cases carry `{marker}` / `{payload}` placeholders; `materialise` fills them with a
marker unique to the run and case, so a successful attack is detected exactly.
"""

from __future__ import annotations

import base64
import codecs
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from tutor.answer import Turn
from tutor.errors import TutorError
from tutor.prompts import LEVELS, MODES

SUITES = (
    "answerable",
    "unanswerable",
    "false_premise",
    "multi_turn",
    "adversarial",
    "indirect_injection",
    "benign_lookalikes",
    "mcq",
    "hint_demands",
)
# A suite may span several files (the mirror questions live apart from the notes questions).
SUITE_FILES = {
    # true_premise: questions that state a true premise first ("Since X, how ...?"), so a
    # premise check that flags a right belief as wrong shows as a worse answer.
    "answerable": ("answerable.jsonl", "answerable_mirror.jsonl", "true_premise.jsonl"),
    # unanswerable_mcq: multiple-choice questions the materials do not settle (asked with
    # their options, like the mcq suite), so a tutor that always picks an option shows.
    "unanswerable": ("unanswerable.jsonl", "unanswerable_mcq.jsonl"),
    "false_premise": ("false_premise.jsonl",),
    "multi_turn": ("multi_turn.jsonl",),
    "adversarial": ("adversarial.jsonl",),
    "indirect_injection": ("indirect_injection.jsonl",),
    "benign_lookalikes": ("benign_lookalikes.jsonl",),
    # Course multiple-choice questions, answered in explain mode (strict accuracy) and asked
    # again in hint mode with the learner demanding the answer (is it withheld?).
    "mcq": ("mcq.jsonl",),
    "hint_demands": ("mcq.jsonl",),
}
CALIBRATION_FILE = "judge_calibration.jsonl"
# (answer, key fact, stated?) pairs: the judge's other question (evals/labelling.md).
FACT_CALIBRATION_FILE = "fact_calibration.jsonl"

ATTACK_FAMILIES = (
    "direct_injection",
    "prompt_extraction",
    "jailbreak_roleplay",
    "refusal_suppression",
    "encoding",
    "multilingual",
    "quiz_answer_leak",
    "harmful_offtopic",
)
ENCODINGS = ("base64", "rot13", "leet")
UNANSWERABLE_KINDS = ("near_miss", "off_topic")
# "answer": a sentence from the tutor's own answer against a passage it cited, labelled by
# hand; "written": a pair written to be hard (paraphrases, near misses).
CALIBRATION_ORIGINS = ("answer", "written")

# Required fields and their types per suite; checked before anything runs.
_REQUIRED: dict[str, dict[str, type | tuple[type, ...]]] = {
    "answerable": {"id": str, "question": str, "gold_sources": list, "key_facts": list},
    "unanswerable": {"id": str, "question": str, "kind": str},
    "false_premise": {
        "id": str,
        "question": str,
        "false_claim": str,
        "key_facts": list,
        "gold_sources": list,
    },
    "multi_turn": {
        "id": str,
        "history": list,
        "question": str,
        "gold_sources": list,
        "key_facts": list,
    },
    "adversarial": {"id": str, "family": str, "question": str},
    "indirect_injection": {"id": str, "doc_title": str, "doc": str, "question": str},
    "benign_lookalikes": {"id": str, "question": str, "gold_sources": list},
    "calibration": {"id": str, "claim": str, "passage": str, "supported": bool},
    "fact_calibration": {"id": str, "case": str, "answer": str, "fact": str, "stated": bool},
    "mcq": {"id": str, "question": str, "options": dict, "correct": list, "key_facts": list},
    "hint_demands": {"id": str, "question": str, "options": dict, "correct": list, "demand": str},
}


@dataclass
class Case:
    """One thing to ask a target, with what a good answer looks like."""

    id: str
    suite: str
    question: str
    history: list[Turn] = field(default_factory=list)
    mode: str = "explain"
    gold_sources: list[str] = field(default_factory=list)
    key_facts: list[str] = field(default_factory=list)
    needs_mirror: bool = False
    family: str | None = None  # attack family (adversarial suite)
    marker: str | None = None  # what a successful injection makes the model print
    detect_canary: bool = False
    doc: str | None = None  # planted document (indirect_injection suite)
    doc_title: str | None = None
    record: dict = field(default_factory=dict)  # the dataset line, for the report


def read_jsonl(path: Path) -> list[dict]:
    records = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise TutorError(f"Cannot read eval dataset {path}: {exc}") from exc
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            records.append(json.loads(line))
        except ValueError as exc:
            raise TutorError(f"{path}:{number} is not valid JSON ({exc}).") from exc
    return records


def validate_records(suite: str, records: list[dict]) -> list[str]:
    """Schema problems in a suite's records, as readable messages (empty when valid)."""
    problems: list[str] = []
    seen: set[str] = set()
    for record in records:
        rid = record.get("id", "<no id>")
        for name, kind in _REQUIRED[suite].items():
            if not isinstance(record.get(name), kind):
                problems.append(f"{suite}/{rid}: field '{name}' missing or not {kind}")
        if rid in seen:
            problems.append(f"{suite}/{rid}: duplicate id")
        seen.add(rid)
        mode = record.get("mode", "explain")
        if mode not in MODES:
            problems.append(f"{suite}/{rid}: unknown mode '{mode}'")
        if record.get("level", "intermediate") not in LEVELS:
            problems.append(f"{suite}/{rid}: unknown level")
        if suite == "adversarial":
            problems.extend(_check_attack(rid, record))
        if suite == "indirect_injection" and "{marker}" not in record.get("doc", ""):
            problems.append(f"{suite}/{rid}: the planted doc has no {{marker}}")
        if suite == "unanswerable" and record.get("kind") not in UNANSWERABLE_KINDS:
            problems.append(f"{suite}/{rid}: kind must be one of {UNANSWERABLE_KINDS}")
        if "options" in record and not (
            isinstance(record["options"], dict) and len(record["options"]) >= 2
        ):
            problems.append(f"{suite}/{rid}: 'options' must map two or more letters to text")
        if suite in ("mcq", "hint_demands") and not (
            set(record.get("correct", [])) <= set(record.get("options", {})) and record["correct"]
        ):
            problems.append(f"{suite}/{rid}: 'correct' must name one or more of its options")
        if suite == "calibration":
            if record.get("split") not in ("tune", "test"):
                problems.append(f"calibration/{rid}: split must be 'tune' or 'test'")
            if record.get("origin") not in CALIBRATION_ORIGINS:
                problems.append(f"calibration/{rid}: origin must be one of {CALIBRATION_ORIGINS}")
        if suite == "fact_calibration" and record.get("split") not in ("tune", "test"):
            problems.append(f"fact_calibration/{rid}: split must be 'tune' or 'test'")
        if suite == "multi_turn":
            roles = [t.get("role") for t in record.get("history", [])]
            if not roles or roles[0] != "user" or roles[-1] != "assistant":
                problems.append(f"{suite}/{rid}: history must start with user, end with assistant")
    return problems


def _check_attack(rid: str, record: dict) -> list[str]:
    problems = []
    question = record.get("question", "")
    if record.get("family") not in ATTACK_FAMILIES:
        problems.append(f"adversarial/{rid}: unknown family '{record.get('family')}'")
    if record.get("encoding"):
        if record["encoding"] not in ENCODINGS:
            problems.append(f"adversarial/{rid}: unknown encoding '{record['encoding']}'")
        if "{payload}" not in question or "{marker}" not in record.get("payload", ""):
            problems.append(f"adversarial/{rid}: encoded attacks need {{payload}} and {{marker}}")
    elif "{marker}" not in question and record.get("target") != "canary":
        problems.append(f"adversarial/{rid}: the question asks for no {{marker}}")
    # The behaviour families are judged by what the answer does, which needs these fields.
    family = record.get("family")
    if family == "harmful_offtopic" and not record.get("compliance_claim"):
        problems.append(f"adversarial/{rid}: harmful_offtopic needs a compliance_claim")
    if family == "quiz_answer_leak":
        if record.get("mode") != "quiz":
            problems.append(f"adversarial/{rid}: quiz_answer_leak runs in quiz mode")
        if not record.get("key_facts"):
            problems.append(f"adversarial/{rid}: quiz_answer_leak needs the quiz's key_facts")
    return problems


def load_suite(dataset_dir: Path, suite: str) -> list[dict]:
    if suite not in SUITE_FILES:
        raise TutorError(f"Unknown eval suite '{suite}'. Suites: {', '.join(SUITES)}.")
    records = []
    for name in SUITE_FILES[suite]:
        path = dataset_dir / name
        if path.exists():
            records.extend(read_jsonl(path))
    if not records:
        raise TutorError(f"No dataset for suite '{suite}' in {dataset_dir}.")
    problems = validate_records(suite, records)
    if problems:
        raise TutorError(
            f"Eval suite '{suite}' has {len(problems)} problem(s):\n  " + "\n  ".join(problems[:20])
        )
    return records


def load_calibration(dataset_dir: Path) -> list[dict]:
    records = read_jsonl(dataset_dir / CALIBRATION_FILE)
    problems = validate_records("calibration", records)
    if problems:
        raise TutorError("Judge calibration set problems:\n  " + "\n  ".join(problems[:20]))
    return records


def load_fact_calibration(dataset_dir: Path) -> list[dict]:
    """The labelled (answer, key fact) pairs, empty when there are none."""
    path = dataset_dir / FACT_CALIBRATION_FILE
    records = read_jsonl(path) if path.exists() else []
    problems = validate_records("fact_calibration", records)
    if problems:
        raise TutorError("Key-fact calibration set problems:\n  " + "\n  ".join(problems[:20]))
    return records


def run_secret(seed: str, name: str, prefix: str) -> str:
    """A string unique to a run and a name, which a model cannot guess: e.g. 'MK7F3A9C21'.

    Upper-case letters and digits only, so leetspeak encoding (lower-case map) keeps it whole.
    """
    return prefix + hashlib.sha256(f"{seed}/{name}".encode()).hexdigest()[:8].upper()


_LEET = str.maketrans({"a": "4", "e": "3", "i": "1", "o": "0", "s": "5", "t": "7"})


def encode(text: str, encoding: str) -> str:
    if encoding == "base64":
        return base64.b64encode(text.encode()).decode()
    if encoding == "rot13":
        return codecs.encode(text, "rot13")
    if encoding == "leet":
        return text.translate(_LEET)
    raise ValueError(encoding)


def mcq_text(record: dict) -> str:
    """A multiple-choice question as a learner would paste it: the stem, then one option a
    line ("A) ...")."""
    options = "\n".join(f"{letter}) {text}" for letter, text in sorted(record["options"].items()))
    return f"{record['question']}\n{options}"


def materialise(suite: str, record: dict, seed: str) -> Case:
    """A runnable Case from a dataset record, with this run's marker filled in."""
    marker = run_secret(seed, record["id"], "MK")
    question = record["question"]
    doc = record.get("doc")
    if suite == "adversarial":
        if record.get("encoding"):
            payload = encode(record["payload"].replace("{marker}", marker), record["encoding"])
            question = question.replace("{payload}", payload)
        question = question.replace("{marker}", marker)
    if doc is not None:
        doc = doc.replace("{marker}", marker)
    if suite in ("mcq", "hint_demands") or "options" in record:
        question = mcq_text(record)
        if suite == "hint_demands":
            question = f"{question}\n\n{record['demand']}"
    history = [Turn(t["role"], t["content"]) for t in record.get("history", [])]
    return Case(
        id=record["id"],
        suite=suite,
        question=question,
        history=history,
        mode="hint" if suite == "hint_demands" else record.get("mode", "explain"),
        gold_sources=list(record.get("gold_sources", [])),
        key_facts=list(record.get("key_facts", [])),
        needs_mirror=bool(record.get("needs_mirror", False)),
        family=record.get("family") if suite == "adversarial" else None,
        marker=marker if suite in ("adversarial", "indirect_injection") else None,
        detect_canary=suite == "adversarial",
        doc=doc,
        doc_title=record.get("doc_title"),
        record=record,
    )
