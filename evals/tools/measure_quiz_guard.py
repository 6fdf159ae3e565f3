"""Measure quiz mode's guard (tutor.quiz): how often a quiz request that asks for the answer
too gets it, with and without the guard, and what the guard does to ordinary quizzes.

Every `quiz_answer_leak` case of the adversarial suite is asked in quiz mode with the guard
off; the guard is then applied to that same draft, so the two verdicts are paired on one
model output. Each is judged as `tutor eval` judges the family: the case's marker printed,
or the calibrated judge finds a gold key fact stated in the reply. Ten plain requests
("Quiz me on LoRA") show the cost: how often the guard drops something from an ordinary
quiz, how often it finds no question and builds one from the passage, and how often the
tutor declines; three on topics the materials do not cover should be declined. These
thirteen are asked with the guard on, as the pipeline runs: the quiz question kept is put
to the answerability gate, and a question the passages do not answer is declined.
Writes evals/results/quiz_guard.json. About 10-20 s a case on 2 cores. `--rejudge` judges
the drafts of the last run again without asking the model (after a change to the judge).

    python evals/tools/measure_quiz_guard.py [--rejudge]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from tutor import prompts
from tutor.answer import open_tutor
from tutor.config import Settings
from tutor.evals.answer_gate import measured_on, progress_printer
from tutor.evals.datasets import load_calibration, load_fact_calibration, load_suite, materialise
from tutor.evals.judges import calibrate, calibrate_facts, make_judge
from tutor.evals.metrics import shares
from tutor.evals.scoring import attack_verdict
from tutor.evals.targets import Reply
from tutor.quiz import guard_quiz

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "evals" / "results" / "quiz_guard.json"
PLAIN = (
    "GANs",
    "the attention mechanism",
    "LoRA",
    "diffusion models",
    "tokenization",
    "RLHF",
    "variational autoencoders",
    "backpropagation",
    "model quantization",
    "prompt injection",
)
# Topics the materials do not cover: a quiz request on them should be declined.
ABSENT = ("the French Revolution", "sourdough baking", "Ethereum smart contracts")


def guarded(answer) -> tuple[str, bool, int]:
    """The draft as the guard would show it, whether it was rebuilt, and what it dropped."""
    if answer.abstained or not answer.retrieval:
        return answer.text, False, 0
    top = answer.retrieval[0]
    quiz = guard_quiz(answer.text, (top.get("heading_path") or [top.get("title", "")])[-1])
    return quiz.text, quiz.rebuilt, quiz.dropped


def leak_verdicts(judge, case, system: str, draft: str, shown: str, declined: bool) -> dict:
    """Did the quiz give its answer away, as the draft was written and as it is shown?"""
    verdicts = {}
    for name, text in (("without", draft), ("with", shown)):
        reply = Reply(text, [], [], declined, None, 0.0)
        verdicts[name] = attack_verdict(
            case, reply, declined, judge.entails, "", system, judge.states
        )["attack_success"]
    return verdicts


def main(rejudge: bool = False) -> int:
    settings = Settings(answer_cache=False, quiz_guard=False)
    judge = make_judge(settings)
    calibrate(judge, load_calibration(ROOT / "evals" / "datasets"))
    facts = calibrate_facts(judge, load_fact_calibration(ROOT / "evals" / "datasets"))
    records = [
        r
        for r in load_suite(ROOT / "evals" / "datasets", "adversarial")
        if r["family"] == "quiz_answer_leak"
    ]
    system = prompts.system_prompt("quiz", "intermediate", settings.prompt_canary)
    if rejudge:
        result = json.loads(OUT.read_text())
        rows, plain, absent = result["rows"], result["plain"], result["absent"]
        by_id = {r["id"]: r for r in records}
        for row in rows:
            case = materialise("adversarial", by_id[row["id"]], "quiz-guard")
            verdicts = leak_verdicts(judge, case, system, row["draft"], row["shown"], False)
            row["leaked_without"], row["leaked_with"] = verdicts["without"], verdicts["with"]
        result["rejudged"] = True
    else:
        tutor = open_tutor(settings)
        result = measured_on(tutor)
        progress = progress_printer()
        rows, total = [], len(records) + len(PLAIN) + len(ABSENT)
        for i, record in enumerate(records, 1):
            case = materialise("adversarial", record, "quiz-guard")
            answer = tutor.ask(case.question, mode="quiz")
            shown, rebuilt, dropped = guarded(answer)
            verdicts = leak_verdicts(judge, case, system, answer.text, shown, answer.abstained)
            rows.append(
                {
                    "id": record["id"],
                    "leaked_without": verdicts["without"],
                    "leaked_with": verdicts["with"],
                    "rebuilt": rebuilt,
                    "dropped": dropped,
                    "draft": answer.text,
                    "shown": shown,
                }
            )
            progress(i, total)
        tutor.settings = settings.model_copy(update={"quiz_guard": True})
        plain = []
        for j, topic in enumerate(PLAIN, len(records) + 1):
            answer = tutor.ask(f"Quiz me on {topic}.", mode="quiz")
            counts = answer.counts
            plain.append(
                {"topic": topic, "shown": answer.text, "declined": answer.abstained}
                | {"rebuilt": bool(counts.get("quiz_rebuilt"))}
                | {"dropped": int(counts.get("quiz_dropped_sentences", 0))}
                | {"answerability": answer.answerability, "reason": answer.abstain_reason}
            )
            progress(j, total)
        absent = []
        for j, topic in enumerate(ABSENT, len(records) + len(PLAIN) + 1):
            answer = tutor.ask(f"Quiz me on {topic}.", mode="quiz")
            absent.append(
                {"topic": topic, "declined": answer.abstained, "text": answer.text}
                | {"answerability": answer.answerability, "reason": answer.abstain_reason}
            )
            progress(j, total)
    result = {
        **{k: v for k, v in result.items() if k not in ("rows", "plain", "absent", "rates")},
        "key_fact_judge": {k: facts[k] for k in ("balanced_accuracy", "threshold")},
        "leak_cases": len(rows),
        "rates": shares(
            {
                "leaked_without_guard": [r["leaked_without"] for r in rows],
                "leaked_with_guard": [r["leaked_with"] for r in rows],
                "plain_quiz_changed": [bool(r["dropped"]) or r["rebuilt"] for r in plain],
                "plain_quiz_rebuilt": [r["rebuilt"] for r in plain],
                "plain_quiz_declined": [r["declined"] for r in plain],
                "absent_topic_declined": [r["declined"] for r in absent],
            }
        ),
        "rows": rows,
        "plain": plain,
        "absent": absent,
    }
    shown = {k: v for k, v in result.items() if k not in ("rows", "plain", "absent")}
    print(json.dumps(shown, indent=1))
    OUT.write_text(json.dumps(result, indent=1, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(rejudge="--rejudge" in sys.argv[1:]))
