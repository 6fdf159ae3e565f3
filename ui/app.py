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
from tutor.mastery import LearnerProgress, learner_progress
from tutor.path import LearningPath
from tutor.place import describe
from tutor.progress import ProgressStore, topics_in_order

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


def _path() -> LearningPath:
    if "path" not in state:
        state.path = LearningPath.from_dict(client.learning_path())
    return state.path


def _progress() -> LearnerProgress:
    """The learner's standing on the path: studied, mastery, each topic's status, next."""
    return learner_progress(_path(), store, learner)


def _topic_state(topic) -> dict:
    """A path topic as the page's current topic (what the chat is scoped to)."""
    return {"source_id": topic.source_id, "title": topic.title, "phase": topic.phase}


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
            studied=store.studied_or_known(learner),
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
        # The quiz's topic: the one being studied, else where the graded answer sits.
        placed = (answer.get("placement") or {}).get("source_id")
        store.record_quiz(
            learner,
            (state.topic or {}).get("source_id") or placed,
            history[-1]["content"],
            question,
            answer["text"],
        )


def _placement(place: dict, index: int) -> None:
    """A line under the answer: where its topic sits on the roadmap, and a button to each
    prerequisite not studied yet."""
    st.caption(describe(place, note_ids=False))
    try:
        path = _path()
    except TutorError:  # the API went away since the answer: the line above still stands
        return
    missing = [path.topics[m["topic_id"]] for m in place.get("missing_prerequisites") or []]
    for col, topic in zip(st.columns(len(missing)) if missing else [], missing, strict=True):
        label = f"Study {topic.title.split(':')[0]} first"
        if col.button(label, key=f"pre-{index}-{topic.id}", use_container_width=True):
            state.topic = _topic_state(topic)
            st.rerun()


# One badge per claim, by its support level (tutor.support): how sure the match with a
# passage sentence is, not a verdict on the fact.
BADGES = {
    "backed": " :green-badge[:material/check: backed]",
    "loose": " :gray-badge[loose match]",
    "not_found": " :orange-badge[:material/warning: not found in the passages]",
}


def with_support(text: str, sentences: list[dict]) -> str:
    """The answer's markdown with a badge after each claim: backed by a passage sentence, a
    loose match, or not found in the passages. The text keeps its line breaks and lists.

    >>> with_support("GANs fight [1]. Why?", [
    ...     {"text": "GANs fight [1].", "level": "backed"},
    ...     {"text": "Why?", "level": None}])
    'GANs fight [1]. :green-badge[:material/check: backed] Why?'
    """
    out, cursor = [], 0
    for sentence in sentences:
        at = text.find(sentence["text"], cursor)
        if at == -1 or sentence.get("level") not in BADGES:
            continue
        end = at + len(sentence["text"])
        out.append(text[cursor:end] + BADGES[sentence["level"]])
        cursor = end
    return "".join(out) + text[cursor:]


def _citation_cards(answer: dict, index: int) -> None:
    quotes: dict[int, list[str]] = {}
    for sentence in answer.get("sentences") or []:
        if sentence.get("quote") and sentence.get("passage"):
            quotes.setdefault(sentence["passage"], []).append(sentence["quote"])
    for c in answer["citations"]:
        where = " › ".join(c["heading_path"]) or c["title"]
        with st.expander(f"[{c['number']}] {c['title']} — {where}"):
            for quote in dict.fromkeys(quotes.get(c["number"], [])):
                # The exact sentence that backs the answer, before the passage around it.
                st.markdown("> " + " ".join(quote.split()))
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
        elif answer and answer.get("sentences"):
            st.markdown(with_support(message["content"], answer["sentences"]))
            if left_out := sum(bool(s.get("withheld")) for s in answer["sentences"]):
                st.caption(
                    "One sentence of the draft was left out: no passage backs it."
                    if left_out == 1
                    else f"{left_out} sentences of the draft were left out: no passage backs them."
                )
        else:
            st.markdown(message["content"])
        if answer and answer.get("placement"):
            _placement(answer["placement"], index)
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
        st.radio("View", ["Chat", "Learning path"], key="view", horizontal=True)
        try:
            standing = _progress()
        except TutorError:  # the API is down: the page says so once, above the chat
            standing = LearnerProgress(store.studied(learner), {}, {}, None)
        studied, status, suggestion = standing.studied, standing.status, standing.suggestion
        topics = topics_in_order(tree)
        mastered = sum(v == "mastered" for v in status.values())
        st.progress(
            mastered / max(1, len(status)),
            text=f"Mastered {mastered} of {len(status)} topics · studied {len(studied)}",
        )
        if st.button("What should I learn next?", use_container_width=True):
            if suggestion:
                state.topic = _topic_state(suggestion.topic)
                state.next_reason = suggestion.reason
            elif status:  # else the path could not load, and the page says why
                st.success("You have mastered every topic on the roadmap.")
        st.subheader("Roadmap")
        for phase in tree:
            label = phase["title"]  # "Other Topics" keeps its own name
            if isinstance(phase["phase"], int):
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
        upload = st.file_uploader("Import progress (JSON)", type="json", key="import")
        if upload is not None and state.get("imported") != upload.file_id:
            try:
                added = store.import_(json.loads(upload.getvalue()), learner)
                st.toast("Imported " + ", ".join(f"{n} {k}" for k, n in added.items()))
            except (TutorError, ValueError) as exc:
                st.error(f"Nothing was imported: {exc}")
            state.imported = upload.file_id


def _path_view() -> None:
    """The learning path as a graph: steps of the suggested order, each topic after what
    it builds on, coloured by progress; and marking a topic as known."""
    path = _path()
    standing = _progress()
    mastery, status, suggestion = standing.mastery, standing.status, standing.suggestion
    st.header("Your learning path")
    if suggestion:
        st.info(f"**Next:** {suggestion.reason}")
    else:
        st.success("You have mastered every topic on the path.")
    st.caption(
        "Boxes are the roadmap's suggested steps (dashed: topics of other steps that this "
        "one builds on); an arrow runs from a topic to one that builds on it. Green: "
        "mastered (from your quiz results, or marked known); light green: studied; "
        "orange: next."
    )
    groups = path.groups()
    here = path.step_title(suggestion.topic) if suggestion else groups[0]
    shown = st.selectbox(
        "Show", [*groups, "The whole path"], index=groups.index(here), key="path_group"
    )
    group = None if shown == "The whole path" else shown
    st.graphviz_chart(path.dot(status, group), use_container_width=True)
    st.subheader("Already know a topic?")
    chosen = st.selectbox(
        "Topic", list(path.topics), format_func=lambda t: path.topics[t].title, key="known_topic"
    )
    topic = path.topics[chosen]
    m = mastery.get(topic.source_id)
    st.caption(f"{path.where(topic)}; " + (m.summary() if m else "no quiz answers yet"))
    cols = st.columns(2)
    if m and m.known:
        if cols[0].button("Take back “I know this”"):
            store.mark_known(learner, topic.source_id, topic.title, False)
            st.rerun()
    elif cols[0].button("I know this"):
        store.mark_known(learner, topic.source_id, topic.title)
        st.toast(f"Marked {topic.title} as known.")
        st.rerun()
    if cols[1].button("Check me with a short quiz"):
        state.topic = _topic_state(topic)
        state.switch_to_quiz = True
        state.queued = f"Quiz me on {topic.title}"
        st.rerun()


def _phase_name(phase) -> str:
    return f"phase {phase}" if isinstance(phase, int) else "other topics"


def main() -> None:
    if state.pop("switch_to_quiz", False):
        state.mode = "Quiz"
        state.view = "Chat"  # widgets' values can only change before they are drawn
    try:
        tree = _roadmap()
    except TutorError as exc:
        tree = []
        st.error(f"{exc}")
    _sidebar(tree)
    if state.get("view") == "Learning path":
        try:
            _path_view()
        except TutorError as exc:
            st.error(str(exc))
        return

    st.header("Ask about the Generative AI roadmap")
    if state.get("next_reason"):
        st.info(state.pop("next_reason"))
    if state.topic:
        cols = st.columns([4, 1, 1])
        cols[0].info(
            f"Studying **{state.topic['title']}** ({_phase_name(state.topic['phase'])}): "
            "questions are answered from this part of the roadmap."
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
