"""`tutor eval` end to end on a few cases per suite: the real corpus index, the real 0.5B
model for ours and for the llama-index baseline, planted documents, reports, resume, --check."""

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import course_env

from tutor.evals.datasets import SUITES

REPO = Path(__file__).resolve().parents[1]


def run_tutor(args, env, timeout=900):
    return subprocess.run(
        [sys.executable, "-m", "tutor.cli", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


SECRET_KEY = "sk-eval-key-that-must-never-be-written-7Q2"


@pytest.fixture(scope="module")
def eval_env(course_settings):
    return course_env(course_settings, TUTOR_MAX_ANSWER_TOKENS="96")


@pytest.fixture(scope="module")
def smoke_run(eval_env, tmp_path_factory):
    """One case per suite with the fast lexical judge (the LLM judge is tested on its own)."""
    out = tmp_path_factory.mktemp("eval") / "run"
    env = dict(eval_env, TUTOR_EVAL_API_KEY=SECRET_KEY)
    result = run_tutor(["eval", "--limit", "1", "--judge", "lexical", "--out", str(out)], env)
    assert result.returncode == 0, result.stderr[-3000:]
    return out, result


def test_a_smoke_run_writes_all_three_reports(smoke_run):
    out, result = smoke_run
    report = json.loads((out / "report.json").read_text())
    assert set(report["summary"]) == {"ours", "baseline", "closed_book"}
    # Our model without retrieval answers the multiple-choice questions only.
    assert {(r["target"], r["suite"]) for r in report["cases"]} == {
        (t, s) for t in ("ours", "baseline") for s in SUITES
    } | {("closed_book", "mcq")}
    for row in report["cases"]:
        assert row["reply"]["error"] is None, row
        assert "declined" in row["verdict"]
    judge = report["judge"]
    assert judge["judge"] == "lexical" and judge["pairs"] >= 300
    assert judge["test_pairs"] >= 150 and judge["tune_pairs"] >= 150
    assert judge["low_confidence"] is True  # the smoke judge is below the floor
    assert set(report["retrieval"]) == {"dense", "bm25", "hybrid"}
    ours = report["summary"]["ours"]
    for section in (
        "adversarial",
        "indirect_injection",
        "benign_lookalikes",
        "mcq",
        "hint_demands",
        "latency",
    ):
        assert section in ours
    assert 0.0 <= ours["adversarial"]["attack_success"]["value"] <= 1.0
    assert len(ours["adversarial"]["attack_success"]["ci95"]) == 2

    # What the model read and how it sampled, so two runs can be told apart.
    assert report["settings"]["evidence_tokens"] == 400  # selected sentences, the default
    assert report["settings"]["temperature"] == 0.1

    md = (out / "report.md").read_text()
    assert (
        "The model read the selected sentences (400 tokens), or whole passages where the gate "
        "was not sure of them, at temperature 0.1." in md
    )
    assert "| Metric | ours | baseline | closed_book |" in md and "Wilson 95% interval" in md
    assert "Multiple choice, strict accuracy" in md
    assert "not results" in md and "Where the time goes" in md
    # Recorded, not how fast: speed belongs in benchmarks/.
    assert isinstance(report["timing"]["wall_s"], float)
    assert report["timing"]["cases_run"] >= 2 * len(SUITES) + 1
    html = (out / "report.html").read_text()
    assert 'class="weak"' in html  # judged metrics greyed
    assert html.count("data:image/png;base64,") >= 2
    assert (out / "rates.png").read_bytes()[:4] == b"\x89PNG"
    assert "report.html" in result.stdout


def test_a_run_compared_with_itself_differs_in_no_case(smoke_run):
    out, _ = smoke_run
    tool = REPO / "evals" / "tools" / "compare_runs.py"
    result = subprocess.run(
        [sys.executable, str(tool), str(out), str(out), "--out", str(out / "compared.json")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert "case by case" in result.stdout
    compared = json.loads((out / "compared.json").read_text())
    assert compared["case_by_case"]["declined"]["same"] >= len(SUITES)
    for row in compared["case_by_case"].values():
        assert row["a_better"] == row["b_better"] == 0
    first, second = compared["headline"]["unanswerable.refusal_recall"]
    assert first == second
    difference = compared["key_fact_recall_difference"]
    assert difference["cases"] == 1  # the one answerable case of --limit 1
    assert difference["mean"] == 0 and difference["ci95"] == [0, 0]


def test_attack_cases_carry_the_runs_marker_and_canary_detection(smoke_run):
    out, _ = smoke_run
    run = json.loads((out / "run.json").read_text())
    rows = [json.loads(line) for line in (out / "cases.jsonl").read_text().splitlines()]
    attack = next(r for r in rows if r["suite"] == "adversarial" and r["target"] == "ours")
    assert "{marker}" not in attack["question"]
    assert run["canary"].startswith("CANARY")
    assert isinstance(attack["verdict"]["attack_success"], bool)


def test_no_written_file_holds_the_api_key(smoke_run):
    out, _ = smoke_run
    for path in out.iterdir():
        assert SECRET_KEY not in path.read_text(errors="ignore"), path.name


def test_resume_after_cut_lines_keeps_every_row_across_two_resumes(smoke_run, eval_env, tmp_path):
    out, _ = smoke_run
    copy = tmp_path / "resumed"
    shutil.copytree(out, copy)
    rows = (copy / "cases.jsonl").read_text().splitlines()
    # As if the process died while writing the sixth line.
    (copy / "cases.jsonl").write_text("\n".join(rows[:5]) + "\n" + rows[5][:40])
    result = run_tutor(["eval", "--resume", str(copy)], eval_env)
    assert result.returncode == 0, result.stderr[-3000:]
    after_first = (copy / "cases.jsonl").read_text().splitlines()
    assert len(after_first) == len(rows)
    assert [json.loads(r) for r in rows[:5]] == [json.loads(r) for r in after_first[:5]]
    # Cut the last answer and the last verdict too (answers are written before they are
    # judged) and resume again: what was cut is redone, and nothing is lost.
    answers = (copy / "answers.jsonl").read_text().splitlines()
    assert len(answers) == len(rows)
    (copy / "answers.jsonl").write_text("\n".join(answers[:-1]) + "\n" + answers[-1][:30])
    (copy / "cases.jsonl").write_text("\n".join(after_first[:-1]) + "\n" + after_first[-1][:30])
    result = run_tutor(["eval", "--resume", str(copy)], eval_env)
    assert result.returncode == 0, result.stderr[-3000:]
    final = [json.loads(r) for r in (copy / "cases.jsonl").read_text().splitlines()]
    assert len(final) == len(rows)
    assert {(r["target"], r["suite"], r["id"]) for r in final} == {
        (json.loads(r)["target"], json.loads(r)["suite"], json.loads(r)["id"]) for r in rows
    }
    report = json.loads((copy / "report.json").read_text())
    assert len(report["cases"]) == len(rows)
    assert (
        json.loads((copy / "run.json").read_text())["seed"]
        == json.loads((out / "run.json").read_text())["seed"]
    )


def _check(out, eval_env, tmp_path, thresholds: str):
    evals = tmp_path / "evals"
    shutil.copytree(REPO / "evals" / "datasets", evals / "datasets")
    (evals / "thresholds.yaml").write_text(thresholds)
    copy = tmp_path / "run"
    shutil.copytree(out, copy)
    env = dict(eval_env, TUTOR_EVALS_DIR=str(evals))
    return run_tutor(["eval", "--resume", str(copy), "--check"], env)


def test_check_fails_when_a_bar_is_missed(smoke_run, eval_env, tmp_path):
    # A rate can never exceed 1, so this bar is always missed.
    result = _check(
        smoke_run[0], eval_env, tmp_path, "bars:\n  adversarial.attack_success: {min: 1.5}\n"
    )
    assert result.returncode == 1
    assert "Missed:" in result.stderr and "adversarial.attack_success" in result.stderr


def test_check_fails_with_a_judge_below_its_floor(smoke_run, eval_env, tmp_path):
    # The bar is always met; the lexical judge is below 0.75 on the test half.
    result = _check(
        smoke_run[0], eval_env, tmp_path, "bars:\n  adversarial.attack_success: {max: 1.0}\n"
    )
    assert result.returncode == 1
    assert "below the floor" in result.stderr
    assert "All pass bars" not in result.stdout


def test_check_fails_when_a_barred_metric_is_missing(smoke_run, eval_env, tmp_path):
    result = _check(
        smoke_run[0], eval_env, tmp_path, "bars:\n  adversarial.no_such_rate: {max: 1.0}\n"
    )
    assert result.returncode == 1
    assert "adversarial.no_such_rate was not measured" in result.stderr


def test_check_fails_when_the_llm_is_down(eval_env, tmp_path):
    """The LLM server at a dead port: every case errors, and --check must not pass."""
    env = dict(
        eval_env,
        TUTOR_LLM_BACKEND="openai",
        TUTOR_LLM_BASE_URL="http://127.0.0.1:9/v1",
        TUTOR_LLM_TIMEOUT_S="5",
    )
    out = tmp_path / "down"
    # An answerable question: it passes the relevance gate, so the LLM is really asked.
    result = run_tutor(
        ["eval", "--suite", "answerable", "--limit", "1", "--judge", "lexical"]
        + ["--no-baseline", "--check", "--out", str(out)],
        env,
    )
    assert result.returncode == 1, result.stderr[-2000:]
    assert "errored" in result.stderr and "All pass bars" not in result.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["summary"]["ours"]["errors"] == 1
    assert "not reachable" in report["cases"][0]["reply"]["error"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--suite", "nope"], "Unknown suite"),
        (["--judge", "nope"], "Unknown judge"),
        (["--resume", "/nonexistent/run"], "no eval run"),
        (["--target", "ftp://x"], "--target must be"),
        (["--sample", "10"], "--limit or --sample"),
    ],
)
def test_bad_eval_options_are_bad_input(eval_env, tmp_path, args, message):
    result = run_tutor(["eval", "--out", str(tmp_path / "r"), "--limit", "1", *args], eval_env)
    assert result.returncode == 2, result.stderr[-2000:]
    assert message in result.stderr


def test_calibrate_only_reports_the_test_half_balanced_accuracy(eval_env):
    result = run_tutor(["eval", "--calibrate-only", "--judge", "lexical"], eval_env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Judge lexical: balanced accuracy" in result.stdout
    assert re.search(r"on the test half \(\d{3} pairs", result.stdout)
    assert "low confidence" in result.stdout
    assert re.search(r"Key facts \(does the answer state it\?\): balanced accuracy", result.stdout)


def test_the_baseline_gets_the_conversation_through_its_chat_engine(course_tutor):
    """The llama-index baseline answers a multi-turn case with the same history as ours,
    through llama-index's own condense_plus_context chat engine."""
    from tutor.evals.datasets import load_suite, materialise
    from tutor.evals.targets import LlamaIndexBaseline

    record = load_suite(REPO / "evals" / "datasets", "multi_turn")[0]
    case = materialise("multi_turn", record, "seed")
    baseline = LlamaIndexBaseline(course_tutor, canary=None)
    reply = baseline.answer(case)
    assert reply.error is None and reply.text
    assert len(reply.context) == course_tutor.settings.top_k
    seen = [(m.role.value, m.content) for m in baseline.last_engine.chat_history]
    assert seen[0] == ("user", record["history"][0]["content"])
    assert ("user", case.question) in seen  # the follow-up, after the history
    assert seen[-1][0] == "assistant"
    assert baseline.fingerprint()["chat_mode"] == "condense_plus_context"
