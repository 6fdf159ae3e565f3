"""The tutor's chat page (Streamlit). Run with `tutor ui`, or `make run` beside the API.

The page only arranges things: answers come from `tutor.client` (the API when TUTOR_API_URL
is set, else the core in-process); progress and feedback go to `tutor.progress` (SQLite).
"""

from __future__ import annotations

import json
import os
import re

import streamlit as st

from tutor.client import make_client
from tutor.config import Settings
from tutor.errors import TutorError
from tutor.progress import ProgressStore, next_topic, topics_in_order

MODES = {
    "Explain": ("explain", "A full answer with citations."),
    "Hint": ("hint", "A nudge and a guiding question, so you work it out yourself."),
    "Quiz": ("quiz", "The tutor asks you a question on the topic, then grades your answer."),
}
LEVELS = ["beginner", "intermediate", "advanced"]

st.set_page_config(page_title="GenAI Tutor", page_icon="🎓", layout="wide")


@st.cache_resource
def _resources(environment: tuple):
    """One client and store per configuration (the tuple of TUTOR_* variables)."""
    settings = Settings()
    return settings, make_client(settings), ProgressStore(settings.data_dir / "progress.sqlite")


settings, client, store = _resources(
    tuple(sorted((k, v) for k, v in os.environ.items() if k.startswith("TUTOR_")))
)
state = st.session_state
state.setdefault("messages", [])  # {"role", "content", "answer"?, "question"?}
state.setdefault("topic", None)  # {"source_id", "title", "phase"}
state.setdefault("pending", "")  # a question kept after an error
state.setdefault("notice", None)
learner = settings.learner


def _roadmap() -> list[dict]:
    if "roadmap" not in state:
        state.roadmap = client.roadmap()
    return state.roadmap


def _history() -> list[dict]:
    turns = [{"role": m["role"], "content": m["content"]} for m in state.messages]
    return turns[-12:]


def _ask(question: str) -> None:
    """Stream one answer into the page and record what it means for the learner's progress."""
    mode = MODES[state.get("mode", "Explain")][0]
    history = _history()
    grading = False
    if mode == "quiz":
        # A reply to the open quiz question is graded against it; anything else starts a quiz.
        grading = bool(state.get("quiz_question"))
        history = [{"role": "assistant", "content": state.quiz_question}] if grading else []
    state.messages.append({"role": "user", "content": question})
    with st.chat_message("user"):
        st.markdown(question)
    final: dict = {}

    def tokens():
        for event in client.stream(
            question,
            history,
            mode=mode,
            level=state.get("level", "intermediate"),
            top_k=state.get("top_k"),
            phase=(state.topic or {}).get("phase"),
        ):
            if event["type"] == "token":
                yield event["text"]
            else:
                final["answer"] = event["answer"]

    with st.chat_message("assistant"):
        try:
            st.write_stream(tokens())
        except TutorError as exc:
            state.messages.pop()
            state.pending = question  # the learner's words are kept for a retry
            state.notice = str(exc)
            st.rerun()
        answer = final["answer"]
        state.messages.append(
            {"role": "assistant", "content": answer["text"], "answer": answer, "question": question}
        )
        state.pending = ""
        state.notice = None
        if mode == "quiz":
            state.quiz_question = None if grading or answer["abstained"] else answer["text"]
        try:
            _record_progress(answer, question, history, grading)
        except TutorError as exc:  # the answer stays on the page; the notice says why
            state.notice = str(exc)
        st.rerun()  # redraw the history with the answer's citation cards and feedback


def _record_progress(answer: dict, question: str, history: list[dict], grading: bool) -> None:
    if state.topic:
        store.record_studied(learner, state.topic["source_id"], state.topic["title"])
    for citation in answer["citations"][:1]:
        if citation["source_id"].startswith("notes/"):
            store.record_studied(learner, citation["source_id"], citation["title"])
    if grading:
        store.record_quiz(
            learner,
            (state.topic or {}).get("source_id"),
            history[-1]["content"],
            question,
            answer["text"],
        )


def _citation_cards(answer: dict, index: int) -> None:
    for c in answer["citations"]:
        where = " › ".join(c["heading_path"]) or c["title"]
        with st.expander(f"[{c['number']}] {c['title']} — {where}"):
            # Passages keep their markdown; headings inside a card read better as bold lines.
            text = re.sub(r"^#{1,6}\s*(.+)$", r"**\1**", c["passage"].strip(), flags=re.M)
            short = text if len(text) <= 320 else text[:320].rsplit(" ", 1)[0] + " …"
            if st.toggle("Read the whole passage", key=f"full-{index}-{c['number']}"):
                st.markdown(text)
            else:
                st.markdown(short)
            link = f"[Open the original]({c['url']})" if c["url"] else ""
            st.caption(
                f"{c['source_id']} {link}" + (" · matched by wording" if c["inferred"] else "")
            )


def _feedback(message: dict, index: int) -> None:
    cols = st.columns([1.4, 1.8, 5])
    comment = cols[2].text_input(
        "Comment (optional)",
        key=f"comment-{index}",
        label_visibility="collapsed",
        placeholder="What was good or wrong? (optional)",
    )
    choices = (
        (cols[0], 1, "Helpful", ":material/thumb_up:"),
        (cols[1], -1, "Not helpful", ":material/thumb_down:"),
    )
    for col, rating, label, icon in choices:
        if col.button(label, icon=icon, key=f"rate-{index}-{rating}"):
            answer = message["answer"]
            store.record_feedback(
                learner,
                message["question"],
                answer["text"],
                rating,
                comment,
                answer.get("mode"),
                answer["citations"],
            )
            st.toast("Thanks, your feedback is saved.")


def _render(message: dict, index: int) -> None:
    with st.chat_message(message["role"]):
        answer = message.get("answer")
        if answer and answer["abstained"]:
            st.info(answer["text"])
            if answer.get("suggestions"):
                st.markdown(
                    "**Closest roadmap topics:**\n"
                    + "\n".join(f"- {s}" for s in answer["suggestions"])
                )
        else:
            st.markdown(message["content"])
        if answer:
            _citation_cards(answer, index)
            if state.get("show_scores"):
                st.caption(
                    " · ".join(
                        f"{r['source_id']}: cosine {r['dense_score']:.2f}"
                        for r in answer["retrieval"]
                    )
                )
            _feedback(message, index)


def _sidebar(tree: list[dict]) -> None:
    with st.sidebar:
        st.title("GenAI Tutor")
        st.radio(
            "Study mode",
            list(MODES),
            key="mode",
            horizontal=True,
            captions=None,
            help=" ".join(f"{k}: {v[1]}" for k, v in MODES.items()),
        )
        st.selectbox("Level", LEVELS, index=1, key="level")
        studied = store.studied(learner)
        topics = topics_in_order(tree)
        st.progress(
            len([t for t in topics if t["source_id"] in studied]) / max(1, len(topics)),
            text=f"Studied {len(studied)} of {len(topics)} topics",
        )
        if st.button("What should I learn next?", use_container_width=True):
            upcoming = next_topic(tree, studied)
            if upcoming:
                state.topic = upcoming
            else:
                st.success("You have studied every topic on the roadmap.")
        st.subheader("Roadmap")
        for phase in tree:
            label = phase["title"]
            if phase["phase"] is not None:
                label = f"Phase {phase['phase']}: {label}"
            with st.expander(label):
                for topic in [t for t in topics if t["phase"] == phase["phase"]]:
                    tick = "✓ " if topic["source_id"] in studied else ""
                    if st.button(f"{tick}{topic['title']}", key=f"topic-{topic['source_id']}"):
                        state.topic = topic
        with st.expander("Settings"):
            try:
                about = client.describe()
                st.caption(f"Model: {about['model']} ({about['backend']}, {about['where']})")
            except TutorError as exc:
                st.caption(str(exc))
            st.slider("Passages per answer (top-k)", 1, 8, settings.top_k, key="top_k")
            st.checkbox("Show retrieval scores", key="show_scores")
        st.download_button(
            "Export my progress (JSON)",
            json.dumps(store.export(learner), indent=1),
            file_name="tutor-progress.json",
            mime="application/json",
        )


def main() -> None:
    if state.pop("switch_to_quiz", False):
        state.mode = "Quiz"
    try:
        tree = _roadmap()
    except TutorError as exc:
        tree = []
        st.error(f"{exc}")
    _sidebar(tree)

    st.header("Ask about the Generative AI roadmap")
    if state.topic:
        cols = st.columns([4, 1, 1])
        cols[0].info(
            f"Studying **{state.topic['title']}** (phase {state.topic['phase']}): "
            "questions are answered from this phase."
        )
        if cols[1].button("Quiz me on it"):
            state.switch_to_quiz = True  # the mode widget can only change before it is drawn
            state.queued = f"Quiz me on {state.topic['title']}"
            st.rerun()
        if cols[2].button("Clear topic"):
            state.topic = None
            st.rerun()
        if state.topic and state.topic.get("resources"):
            st.markdown("**Resources for this topic:** " + "; ".join(state.topic["resources"]))
        if state.topic:
            with st.expander("Study note for this topic"):
                try:
                    note = client.source(state.topic["source_id"])
                    st.markdown("\n\n".join(c["text"] for c in note["chunks"]))
                except TutorError as exc:
                    st.caption(str(exc))

    for i, message in enumerate(state.messages):
        _render(message, i)

    if state.notice:
        st.error(state.notice)
    question = st.chat_input("Ask a question, or answer the quiz…")
    if state.pending:
        kept = st.text_area(
            "Your question (kept so you can send it again)", state.pending, key="kept_question"
        )
        if st.button("Send again"):
            question = kept
    question = question or state.pop("queued", None)
    if question and question.strip():
        _ask(question.strip())


main()
