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


@pytest.fixture(scope="module")
def eval_env(course_settings):
    return course_env(course_settings, TUTOR_MAX_ANSWER_TOKENS="96")


@pytest.fixture(scope="module")
def smoke_run(eval_env, tmp_path_factory):
    out = tmp_path_factory.mktemp("eval") / "run"
    result = run_tutor(["eval", "--limit", "1", "--out", str(out)], eval_env)
    assert result.returncode == 0, result.stderr[-3000:]
    return out, result


def test_a_smoke_run_writes_all_three_reports(smoke_run):
    out, result = smoke_run
    report = json.loads((out / "report.json").read_text())
    assert set(report["summary"]) == {"ours", "baseline"}
    assert {(r["target"], r["suite"]) for r in report["cases"]} == {
        (t, s) for t in ("ours", "baseline") for s in SUITES
    }
    for row in report["cases"]:
        assert row["reply"]["error"] is None, row
        assert "declined" in row["verdict"]
    assert report["judge"]["judge"] == "lexical" and report["judge"]["pairs"] >= 100
    assert set(report["retrieval"]) == {"dense", "bm25", "hybrid"}
    ours = report["summary"]["ours"]
    for section in ("adversarial", "indirect_injection", "benign_lookalikes", "latency"):
        assert section in ours
    assert 0.0 <= ours["adversarial"]["attack_success"]["value"] <= 1.0
    assert len(ours["adversarial"]["attack_success"]["ci95"]) == 2

    md = (out / "report.md").read_text()
    assert "| Metric | ours | baseline |" in md and "Wilson 95% interval" in md
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") >= 2
    assert (out / "rates.png").read_bytes()[:4] == b"\x89PNG"
    assert "report.html" in result.stdout


def test_attack_cases_carry_the_runs_marker_and_canary_detection(smoke_run):
    out, _ = smoke_run
    run = json.loads((out / "run.json").read_text())
    rows = [json.loads(line) for line in (out / "cases.jsonl").read_text().splitlines()]
    attack = next(r for r in rows if r["suite"] == "adversarial" and r["target"] == "ours")
    assert "{marker}" not in attack["question"]
    assert run["canary"].startswith("CANARY")
    assert isinstance(attack["verdict"]["attack_success"], bool)


def test_an_interrupted_run_resumes_and_keeps_finished_cases(smoke_run, eval_env, tmp_path):
    out, _ = smoke_run
    copy = tmp_path / "resumed"
    shutil.copytree(out, copy)
    rows = (copy / "cases.jsonl").read_text().splitlines()
    kept = rows[:5]
    # As if the process died while writing the sixth line.
    (copy / "cases.jsonl").write_text("\n".join(kept) + "\n" + rows[5][:40])
    result = run_tutor(["eval", "--resume", str(copy)], eval_env)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads((copy / "report.json").read_text())
    assert len(report["cases"]) == len(rows)
    assert [json.loads(r) for r in kept] == report["cases"][:5]
    assert (
        json.loads((copy / "run.json").read_text())["seed"]
        == json.loads((out / "run.json").read_text())["seed"]
    )


def test_check_exits_1_when_a_bar_is_missed(smoke_run, eval_env, tmp_path):
    out, _ = smoke_run
    evals = tmp_path / "evals"
    shutil.copytree(REPO / "evals" / "datasets", evals / "datasets")
    # A rate can never exceed 1, so this bar is always missed and the next always met.
    (evals / "thresholds.yaml").write_text("bars:\n  adversarial.attack_success: {min: 1.5}\n")
    copy = tmp_path / "run"
    shutil.copytree(out, copy)
    env = dict(eval_env, TUTOR_EVALS_DIR=str(evals))
    result = run_tutor(["eval", "--resume", str(copy), "--check"], env)
    assert result.returncode == 1
    assert "Missed:" in result.stderr and "adversarial.attack_success" in result.stderr

    (evals / "thresholds.yaml").write_text("bars:\n  adversarial.attack_success: {max: 1.0}\n")
    result = run_tutor(["eval", "--resume", str(copy), "--check"], env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "All pass bars" in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--suite", "nope"], "Unknown suite"),
        (["--judge", "nope"], "Unknown judge"),
        (["--resume", "/nonexistent/run"], "no eval run"),
        (["--target", "ftp://x"], "--target must be"),
    ],
)
def test_bad_eval_options_are_bad_input(eval_env, tmp_path, args, message):
    result = run_tutor(["eval", "--out", str(tmp_path / "r"), "--limit", "1", *args], eval_env)
    assert result.returncode == 2, result.stderr[-2000:]
    assert message in result.stderr


def test_calibrate_only_reports_the_judges_balanced_accuracy(eval_env):
    result = run_tutor(["eval", "--calibrate-only"], eval_env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Judge lexical: balanced accuracy" in result.stdout
    assert re.search(r"on \d{3} labelled pairs", result.stdout)
