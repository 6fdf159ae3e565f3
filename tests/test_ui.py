"""The chat page's logic with Streamlit's AppTest: the real core in-process (course index,
0.5B model), or a tutor API that is down."""

import os
import sqlite3
import uuid
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

PAGE = str(Path(__file__).resolve().parents[1] / "ui" / "app.py")


@pytest.fixture
def ui_env(course_settings, monkeypatch):
    learner = f"learner-{uuid.uuid4().hex[:8]}"  # each test has its own progress
    for key in [k for k in os.environ if k.startswith("TUTOR_")]:
        monkeypatch.delenv(key)
    monkeypatch.setenv("TUTOR_DATA_DIR", str(course_settings.data_dir))
    monkeypatch.setenv("TUTOR_CORPUS_DIR", str(course_settings.corpus_dir))
    monkeypatch.setenv("TUTOR_LLM_MODEL", course_settings.llm_model)
    monkeypatch.setenv("TUTOR_LLM_THREADS", "2")
    monkeypatch.setenv("TUTOR_MAX_ANSWER_TOKENS", "64")
    monkeypatch.setenv("TUTOR_ANSWER_CACHE", "false")
    monkeypatch.setenv("TUTOR_LEARNER", learner)
    return course_settings, learner


def page() -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=300)
    at.run()
    assert not at.exception, at.exception
    return at


def ask(at: AppTest, question: str) -> AppTest:
    at.chat_input[0].set_value(question).run()
    assert not at.exception, at.exception
    return at


def test_a_question_gets_a_streamed_answer_with_citation_cards(ui_env):
    at = ask(page(), "What does a GAN discriminator do?")
    assert [m.name for m in at.chat_message] == ["user", "assistant"]
    answer = at.session_state["messages"][-1]["answer"]
    assert answer["text"] and not answer["abstained"]
    cards = [e.label for e in at.expander if e.label.startswith("[")]
    assert cards and cards[0].startswith(f"[{answer['citations'][0]['number']}]")
    # A card shows the passage; its toggle reveals the whole chunk.
    at.toggle(key=f"full-1-{answer['citations'][0]['number']}").set_value(True).run()
    shown = [m.value for m in at.markdown]
    ending = answer["citations"][0]["passage"].strip()[-80:]  # headings are restyled, text kept
    assert any(m.endswith(ending) for m in shown)
    # Under the answer, a line places it on the roadmap.
    place = answer["placement"]
    assert any(c.value.startswith(f"On the roadmap: {place['title']}") for c in at.caption)


def test_an_off_corpus_question_shows_an_abstention_not_a_failure(ui_env):
    at = ask(page(), "Who won the 1998 football World Cup?")
    assert any("can't find this in the course materials" in i.value for i in at.info)
    assert not at.error


def test_the_mode_and_level_reach_the_core(ui_env):
    at = page()
    at.radio(key="mode").set_value("Hint")
    at.selectbox(key="level").set_value("beginner")
    at = ask(at, "How does backpropagation compute gradients?")
    answer = at.session_state["messages"][-1]["answer"]
    assert (answer["mode"], answer["level"]) == ("hint", "beginner")


def test_feedback_is_stored_with_its_comment(ui_env):
    settings, learner = ui_env
    at = ask(page(), "What is self-attention?")
    at.text_input(key="comment-1").set_value("clear, thanks").run()
    at.button(key="rate-1-1").click().run()
    db = sqlite3.connect(settings.data_dir / "progress.sqlite")
    rows = db.execute(
        "SELECT rating, comment, question FROM feedback WHERE learner = ?", (learner,)
    ).fetchall()
    assert rows == [(1, "clear, thanks", "What is self-attention?")]


def test_picking_what_to_learn_next_follows_the_roadmap(ui_env):
    at = page()
    at.button[0].click().run()  # "What should I learn next?"
    topic = at.session_state["topic"]
    assert topic["source_id"].startswith("notes/phase-1/")
    assert any("Studying" in i.value for i in at.info)


def test_the_learning_path_view_draws_the_graph_and_takes_known_topics(ui_env):
    settings, learner = ui_env
    at = page()
    at.radio(key="view").set_value("Learning path").run()
    assert not at.exception, at.exception
    assert any(i.value.startswith("**Next:** Linear Algebra") for i in at.info)
    chart = at.get("graphviz_chart")[0].proto.spec  # the step of the next topic
    assert chart.startswith("digraph path {") and "Step 1: Math & Python" in chart
    assert "Step 2: ML Basics" not in chart
    at.selectbox(key="path_group").set_value("The whole path").run()
    assert "Step 8: Continuous Learning" in at.get("graphviz_chart")[0].proto.spec

    at.selectbox(key="known_topic").set_value("linear-algebra").run()
    next(b for b in at.button if b.label == "I know this").click().run()
    from tutor.progress import ProgressStore

    known = ProgressStore(settings.data_dir / "progress.sqlite").known(learner)
    assert known == {"notes/phase-1/linear-algebra.md"}
    chart = at.get("graphviz_chart")[0].proto.spec
    assert "✓ Linear Algebra" in chart
    assert any(i.value.startswith("**Next:** Probability") for i in at.info)

    # "Check me with a short quiz" goes back to the chat in quiz mode on that topic.
    next(b for b in at.button if b.label == "Check me with a short quiz").click().run()
    assert at.session_state["view"] == "Chat" and at.session_state["mode"] == "Quiz"
    assert at.session_state["topic"]["source_id"] == "notes/phase-1/linear-algebra.md"


def test_an_api_that_is_down_gives_a_notice_and_keeps_the_question(ui_env, monkeypatch):
    monkeypatch.setenv("TUTOR_API_URL", "http://127.0.0.1:9")  # nothing listens on port 9
    at = page()
    assert any("not reachable" in e.value for e in at.error)  # the roadmap could not load
    at = ask(at, "What is a GAN?")
    assert any("tutor serve" in e.value for e in at.error)
    assert at.text_area(key="kept_question").value == "What is a GAN?"
    assert at.session_state["messages"] == []


def test_a_quiz_asks_then_grades_and_records_the_result(ui_env):
    settings, learner = ui_env
    at = page()
    at.radio(key="mode").set_value("Quiz")
    at = ask(at, "Quiz me on GANs")
    quiz = at.session_state["quiz_question"]
    assert quiz and at.session_state["messages"][-1]["answer"]["mode"] == "quiz"
    at = ask(at, "The discriminator tells real samples from generated ones.")
    assert at.session_state["quiz_question"] is None  # graded; the next message starts anew
    db = sqlite3.connect(settings.data_dir / "progress.sqlite")
    rows = db.execute("SELECT question, answer FROM quiz WHERE learner = ?", (learner,)).fetchall()
    assert rows == [(quiz, "The discriminator tells real samples from generated ones.")]


def test_a_locked_progress_database_is_reported_and_the_answer_kept(ui_env):
    settings, learner = ui_env
    at = page()
    at.button[0].click().run()  # a topic to study: the next answer is recorded against it
    locker = sqlite3.connect(settings.data_dir / "progress.sqlite", isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")  # another process holds the database
    try:
        at = ask(at, "What is a GAN?")
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert at.session_state["messages"][-1]["answer"]["text"]
    assert any("could not be saved" in e.value for e in at.error)
