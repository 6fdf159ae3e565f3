"""The `tutor` command run as a learner runs it: a real process, real index, real 0.5B model."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from servers import free_port

from tutor.index import build_index


def run_tutor(args, env, input_text=None, timeout=300):
    return subprocess.run(
        [sys.executable, "-m", "tutor.cli", *args],
        env=env,
        input=input_text,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


@pytest.fixture
def cli_env(settings):
    return dict(
        os.environ,
        TUTOR_DATA_DIR=str(settings.data_dir),
        TUTOR_CORPUS_DIR=str(settings.corpus_dir),
        TUTOR_LLM_MODEL=settings.llm_model,
        TUTOR_LLM_THREADS="2",
        COLUMNS="200",
    )


@pytest.fixture
def indexed_env(cli_env, settings, embedder):
    build_index(settings, embedder=embedder)
    return cli_env


def test_index_reports_what_it_did_and_names_skipped_files(cli_env, settings):
    (settings.corpus_dir / "bad.ipynb").write_text("{oops")
    result = run_tutor(["index"], cli_env)
    assert result.returncode == 0, result.stderr
    assert "Indexed 8 sources" in result.stdout and "8 added" in result.stdout
    assert "Skipped" in result.stderr and "bad.ipynb" in result.stderr
    # Output to a log (not a terminal) still shows progress, as plain lines.
    assert re.search(r"^embed: (\d+)/\1, elapsed .* min left$", result.stderr, re.M)
    again = run_tutor(["index"], cli_env)
    assert "8 unchanged (0 chunks embedded)" in again.stdout


def test_index_of_a_missing_path_is_bad_input(cli_env, tmp_path):
    result = run_tutor(["index", str(tmp_path / "nowhere")], cli_env)
    assert result.returncode == 2
    assert "does not exist" in result.stderr


def test_search_prints_ranked_passages_with_scores_and_locations(indexed_env):
    result = run_tutor(["search", "what is mode collapse", "--top-k", "2"], indexed_env)
    assert result.returncode == 0, result.stderr
    first = result.stdout.splitlines()[0]
    assert first.startswith("1. gans.md") and "Mode collapse" in first
    assert "cosine" in result.stdout and "bm25" in result.stdout
    as_json = json.loads(run_tutor(["search", "mode collapse", "--json"], indexed_env).stdout)
    assert as_json[0]["source_id"] == "gans.md" and as_json[0]["start_char"] > 0


def test_ask_json_returns_the_structured_answer(indexed_env):
    result = run_tutor(
        ["ask", "How does backpropagation use the chain rule?", "--json"], indexed_env
    )
    assert result.returncode == 0, result.stderr
    answer = json.loads(result.stdout)
    assert answer["abstained"] is False
    assert answer["citations"] and answer["citations"][0]["source_id"] == "backprop.md"
    assert {"text", "retrieval", "timings", "model_id", "query"} <= set(answer)


def test_ask_streams_the_answer_then_lists_its_sources(indexed_env):
    result = run_tutor(["ask", "What is mode collapse?"], indexed_env)
    assert result.returncode == 0, result.stderr
    assert "gans.md | Generative Adversarial Networks > Mode collapse" in result.stdout
    assert "https://example.org/notes/gans#mode-collapse" in result.stdout


def test_ask_off_corpus_declines(indexed_env):
    result = run_tutor(["ask", "Who won the 2018 football World Cup?"], indexed_env)
    assert result.returncode == 0
    assert "I can't find this in the course materials." in result.stdout


@pytest.mark.parametrize("question", ["", "   ", "q" * 4001])
def test_ask_rejects_empty_and_huge_questions_with_exit_code_2(indexed_env, question):
    result = run_tutor(["ask", question], indexed_env)
    assert result.returncode == 2
    assert "empty" in result.stderr or "limit is 4000" in result.stderr


def test_bad_phase_is_bad_input(indexed_env):
    result = run_tutor(["search", "gans", "--phase", "9"], indexed_env)
    assert result.returncode == 2 and "not a roadmap phase" in result.stderr


def test_missing_index_fails_with_the_command_that_fixes_it(cli_env):
    for args in (["ask", "What is a GAN?"], ["search", "GAN"]):
        result = run_tutor(args, cli_env)
        assert result.returncode == 1
        assert "No index at" in result.stderr and "tutor index" in result.stderr
        assert "Traceback" not in result.stderr


def test_a_dead_llm_server_is_reported_and_search_still_works(indexed_env):
    env = dict(
        indexed_env,
        TUTOR_LLM_BACKEND="openai",
        TUTOR_LLM_BASE_URL=f"http://127.0.0.1:{free_port()}/v1",
        TUTOR_LLM_TIMEOUT_S="5",
    )
    result = run_tutor(["ask", "What is mode collapse?"], env)
    assert result.returncode == 1
    assert "is not reachable" in result.stderr and "TUTOR_LLM_BASE_URL" in result.stderr
    assert "Traceback" not in result.stderr
    assert run_tutor(["search", "mode collapse"], env).returncode == 0


def test_a_missing_model_file_is_reported(indexed_env, tmp_path):
    env = dict(indexed_env, TUTOR_LLM_MODEL=str(tmp_path / "missing.gguf"))
    result = run_tutor(["ask", "What is mode collapse?"], env)
    assert result.returncode == 1 and "No model file at" in result.stderr


def test_an_unreachable_model_hub_is_reported_with_alternatives(indexed_env):
    env = dict(
        indexed_env,
        TUTOR_LLM_MODEL="Qwen/Qwen2.5-0.5B-Instruct-GGUF",
        HF_ENDPOINT=f"http://127.0.0.1:{free_port()}",
        HF_HUB_OFFLINE="0",
    )
    result = run_tutor(["ask", "What is mode collapse?"], env)
    assert result.returncode == 1
    assert "Could not get" in result.stderr and "Qwen/Qwen2.5-0.5B-Instruct-GGUF" in result.stderr
    assert "qwen2.5-coder-1.5b" in result.stderr and "Traceback" not in result.stderr


def test_chat_rewrites_follow_ups_and_keeps_going_after_bad_input(indexed_env):
    script = "What is a GAN?\n\n" + "x" * 4001 + "\nAnd how is it different from a VAE?\n/quit\n"
    result = run_tutor(["chat"], indexed_env, input_text=script)
    assert result.returncode == 0, result.stderr
    assert "limit is 4000" in result.stderr
    assert "(searched for:" in result.stderr
    searched = result.stderr.split("(searched for:")[1].lower()
    assert "gan" in searched and "vae" in searched


def test_info_describes_the_index_and_model(indexed_env, settings):
    result = run_tutor(["info", "--json"], indexed_env)
    info = json.loads(result.stdout)
    assert info["index_built"] and info["chunks"] > 0 and info["sources"] == 8
    assert info["data_dir"] == str(settings.data_dir)
    assert info["embed_model"] == "all-MiniLM-L6-v2"


def test_index_from_another_embedding_model_is_refused_at_query_time(indexed_env, tmp_path):
    from tutor.models import resolve_embedder_path

    env = dict(indexed_env, TUTOR_EMBED_MODEL=resolve_embedder_path("all-MiniLM-L6-v2"))
    result = run_tutor(["search", "GAN"], env)
    assert result.returncode == 1
    assert "was built with embedding model" in result.stderr and "tutor index" in result.stderr


def test_an_invalid_setting_is_bad_input_not_a_bug(cli_env):
    result = run_tutor(["info"], dict(cli_env, TUTOR_TOP_K="99"))
    assert result.returncode == 2
    assert "TUTOR_TOP_K" in result.stderr and "bug" not in result.stderr


@pytest.fixture
def course_cli_env(cli_env):
    """The real roadmap and notes (the learning path needs no index)."""
    return dict(cli_env, TUTOR_CORPUS_DIR=str(Path(__file__).resolve().parents[1] / "corpus"))


def test_path_prints_the_steps_and_what_is_next_then_follows_known_topics(course_cli_env):
    cli_env = course_cli_env
    shown = run_tutor(["path"], cli_env)
    assert shown.returncode == 0, shown.stderr
    assert "Step 1: Math & Python" in shown.stdout and "Other topics (after step 6)" in shown.stdout
    assert "Next: Linear Algebra for Generative AI is next in Step 1" in shown.stdout

    marked = run_tutor(["path", "--known", "linear-algebra", "--json"], cli_env)
    assert marked.returncode == 0, marked.stderr
    assert "Marked Linear Algebra for Generative AI as known" in marked.stderr
    data = json.loads(marked.stdout)
    status = {t["id"]: t["status"] for t in data["topics"]}
    assert status["linear-algebra"] == "mastered"
    assert data["next"]["topic_id"] == "probability" and status["probability"] == "next"
    assert run_tutor(["path", "--dot"], cli_env).stdout.startswith("digraph path {")

    wrong = run_tutor(["path", "--known", "no-such-topic"], cli_env)
    assert wrong.returncode == 2 and "No topic 'no-such-topic'" in wrong.stderr


def test_progress_exports_and_imports_into_another_install(course_cli_env, tmp_path):
    cli_env = course_cli_env
    assert run_tutor(["path", "--known", "gans"], cli_env).returncode == 0
    exported = run_tutor(["progress", "export"], cli_env)
    assert exported.returncode == 0, exported.stderr
    file = tmp_path / "progress.json"
    file.write_text(exported.stdout)
    other = dict(cli_env, TUTOR_DATA_DIR=str(tmp_path / "other"))
    imported = run_tutor(["progress", "import", str(file)], other)
    assert imported.returncode == 0 and "1 known" in imported.stdout, imported.stderr
    assert json.loads(run_tutor(["progress", "export"], other).stdout) == json.loads(
        file.read_text()
    )
    broken = tmp_path / "broken.json"
    broken.write_text("{not json")
    result = run_tutor(["progress", "import", str(broken)], other)
    assert result.returncode == 1 and "Cannot read" in result.stderr


def test_ask_places_the_answer_on_the_roadmap_and_names_unstudied_prerequisites(course_settings):
    from conftest import course_env

    env = course_env(course_settings, TUTOR_MAX_ANSWER_TOKENS="64", TUTOR_LEARNER="cli-place")
    assert run_tutor(["path", "--known", "generative-vs-discriminative"], env).returncode == 0
    result = run_tutor(["ask", "What is mode collapse in a GAN?"], env)
    assert result.returncode == 0, result.stderr
    line = next(x for x in result.stdout.splitlines() if x.startswith("On the roadmap: "))
    assert "(step " in line
    if "not studied yet" in line:  # whatever the topic, a known topic is not named
        assert "notes/phase-3/generative-vs-discriminative.md" not in line
    placed = json.loads(run_tutor(["ask", "What is mode collapse in a GAN?", "--json"], env).stdout)
    place = placed["placement"]
    assert line.startswith(f"On the roadmap: {place['title']}, {place['where']}")
    assert "generative-vs-discriminative" not in [
        p["topic_id"] for p in place["missing_prerequisites"]
    ]
