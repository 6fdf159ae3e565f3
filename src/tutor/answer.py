"""Question -> retrieval -> prompt -> streamed generation -> cited Answer. No HTTP here.

`Tutor.stream` is the core: it yields Retrieved (once, or a second time when the evidence is
widened from selected sentences to whole passages: the last one is what the answer is
written from), Token for every piece of text, and Done with the structured Answer;
`Tutor.ask` just drains it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection, Iterator, Sequence
from dataclasses import asdict, dataclass, field

from tutor import __version__, prompts
from tutor.answer_cache import AnswerCache, cache_key, normalise
from tutor.answerable import (
    AnswerGate,
    asserts_premise,
    check_messages,
    evidence_kind,
    gate_features,
    gates_digest,
    load_gate,
)
from tutor.choice import Choice, choose_options
from tutor.cite import (
    StreamingCitationFilter,
    attribute_sentences,
    content_words,
    is_abstention,
    move_leading_markers,
    parse_citations,
    repair_citations,
)
from tutor.config import MAX_QUESTION_CHARS, Settings
from tutor.errors import BadInputError
from tutor.evidence import Excerpt, select_evidence
from tutor.followup import needs_context
from tutor.hint import guard_hint, parse_options
from tutor.llm.base import LLMBackend, Message, system_and_user
from tutor.path import LearningPath, load_path
from tutor.place import answer_topic, placement, with_missing
from tutor.planted import without_planted
from tutor.premise import (
    PremiseCheck,
    PremiseThreshold,
    check_premise,
    checks_digest,
    correction_lead,
    load_threshold,
    stated_premise,
)
from tutor.quiz import guard_quiz
from tutor.retrieve import Hit, Retriever
from tutor.support import (
    SentenceSupport,
    cite_each_sentence,
    sentence_support,
    withheld_levels,
)

# A second hint draft is two sentences (prompts.HINT_REDRAFT); this bounds its cost.
HINT_REDRAFT_TOKENS = 96


@dataclass
class Turn:
    role: str  # "user" or "assistant"
    content: str


@dataclass
class Citation:
    number: int
    chunk_id: str
    source_id: str
    title: str
    heading_path: list[str]
    url: str | None
    passage: str  # the text the model read: the chosen sentences of the chunk
    inferred: bool  # added by attribution because the model gave no marker
    spans: list[tuple[int, int]] = field(default_factory=list)  # offsets in the chunk's text


@dataclass
class Answer:
    question: str
    query: str  # what was searched: the question, or its standalone rewrite
    text: str
    citations: list[Citation]
    abstained: bool
    abstain_reason: str | None = None
    suggestions: list[str] = field(default_factory=list)
    retrieval: list[dict] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    # What the pipeline did to this answer, counted (not timed): prompt tokens llama.cpp
    # reused from its cache, passage lines screened out, sentences withheld, whether the
    # evidence was widened to whole passages, drafted tokens accepted.
    counts: dict[str, int] = field(default_factory=dict)
    # Prompt tokens by part (system rules, evidence, question), counted with the model's
    # tokenizer where the backend has it: where an answer's time goes on a CPU.
    prompt_tokens: dict[str, int] = field(default_factory=dict)
    # The model's tokens for this answer, the follow-up rewrite included (OpenAI's `usage`).
    usage: dict[str, int] = field(default_factory=dict)
    truncated: bool = False  # the answer stopped at its token limit
    model_id: str | None = None
    mode: str = "explain"
    level: str = "intermediate"
    cached: bool = False  # given again from the answer cache, without a model call
    # The earlier question (normalised) a near-duplicate was answered from; None otherwise.
    cached_from: str | None = None
    # Where the answer's topic sits on the roadmap, and what it builds on (tutor.place).
    placement: dict | None = None
    # P(the passages answer the question) from the calibrated gate (tutor.answerable); in
    # quiz mode, of the quiz question the model wrote. None where no gate ran (no gate
    # fitted for the model, a quiz reply graded, nothing retrieved).
    answerability: float | None = None
    # Each sentence with the citations that back it and how well (tutor.support): what the
    # UI's per-sentence badges show.
    sentences: list[dict] = field(default_factory=list)
    # The premise the question stated and whether the passages back it (tutor.premise), or
    # None where none was checked.
    premise: dict | None = None

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> Answer:
        values = dict(data)
        values["citations"] = [
            Citation(**{**c, "spans": [tuple(x) for x in c.get("spans", [])]})
            for c in data["citations"]
        ]
        return cls(**values)


@dataclass
class Retrieved:
    query: str
    passages: list[Excerpt]  # what the model will read, in prompt order


@dataclass
class StoredPassage:
    """A passage as an answer recorded it (a cached answer has no live Excerpt)."""

    data: dict

    def to_dict(self) -> dict:
        return self.data


@dataclass
class Token:
    text: str


@dataclass
class Done:
    answer: Answer


Event = Retrieved | Token | Done


def validate_question(question: str) -> str:
    question = (question or "").strip()
    if not question:
        raise BadInputError(
            'The question is empty. Type a question, e.g. `tutor ask "What is a GAN?"`.'
        )
    if len(question) > MAX_QUESTION_CHARS:
        raise BadInputError(
            f"The question is {len(question)} characters long; the limit is {MAX_QUESTION_CHARS}. "
            "Shorten it or split it into several questions."
        )
    return question


def validate_mode(mode: str, level: str) -> None:
    if mode not in prompts.MODES:
        raise BadInputError(f"Unknown mode '{mode}'. Use one of: {', '.join(prompts.MODES)}.")
    if level not in prompts.LEVELS:
        raise BadInputError(f"Unknown level '{level}'. Use one of: {', '.join(prompts.LEVELS)}.")


def quiz_question_to_grade(history: Sequence[Turn]) -> str | None:
    """In quiz mode the learner's message answers the tutor's last question, if there is one."""
    if history and history[-1].role == "assistant" and "?" in history[-1].content:
        return history[-1].content
    return None


def topic_label(hit: Hit) -> str:
    chunk = hit.chunk
    parts = []
    if chunk.phase is not None and str(chunk.phase).isdigit():
        parts.append(f"Phase {chunk.phase}")
    if chunk.section:
        parts.append(chunk.section)
    if chunk.topic:
        parts.append(chunk.topic)
    elif chunk.heading_path and not chunk.section:
        parts.append(chunk.heading_path[-1])
    return " > ".join(dict.fromkeys(parts)) + f" ({chunk.source_id})"


def format_passages(excerpts: Sequence[Excerpt], screen: bool = True) -> str:
    """The passages as the model reads them, numbered; with `screen`, without the lines a
    page planted for the AI reading it (tutor.planted)."""
    return screened_passages(excerpts, screen)[0]


def screened_passages(excerpts: Sequence[Excerpt], screen: bool = True) -> tuple[str, int]:
    """`format_passages`, and how many planted lines the screen took out."""
    texts = [without_planted(x.text) if screen else (x.text, 0) for x in excerpts]
    formatted = "\n\n".join(
        # The source is offered to the template, which leaves it out (prompts.PASSAGE).
        prompts.PASSAGE.format(
            number=i, source=x.hit.chunk.source_id, section=x.hit.chunk.location, text=text
        )
        for i, (x, (text, _)) in enumerate(zip(excerpts, texts, strict=True), 1)
    )
    return formatted, sum(dropped for _, dropped in texts)


def whole_passages(hits: Sequence[Hit]) -> list[Excerpt]:
    return [Excerpt(h, [(0, len(h.chunk.text))], h.score) for h in hits]


def gated_hits(candidates: Sequence[Hit], top_k: int, settings: Settings) -> list[Hit]:
    """The top `top_k` candidates that clear the cosine gate: the passages read whole."""
    return [h for h in candidates[:top_k] if h.dense_score >= settings.min_dense_score]


def count_usage(llm: LLMBackend, usage: dict[str, int], messages: list[Message], reply: str) -> int:
    """Add one model call's tokens to `usage`; returns the reply's token count."""
    completion = llm.count_tokens(reply) if reply else 0
    usage["prompt_tokens"] += llm.count_prompt_tokens(messages)
    usage["completion_tokens"] += completion
    return completion


def format_history(history: Sequence[Turn], count_tokens: Callable[[str], int], budget: int) -> str:
    """The conversation for the rewrite prompt within `budget` model tokens. Each turn keeps
    at most a third of the budget, from its start (an answer names its topic first, and a
    long answer must not crowd out the learner's question before it); the newest turns are
    kept first and older ones dropped once the budget is spent. Cuts fall between words, and
    this model's tokens carry their leading space, so no token is ever split.

    >>> words = lambda text: len(text.split())
    >>> turns = [Turn("user", "what is a GAN"), Turn("assistant", "a GAN pits two nets")]
    >>> print(format_history(turns, words, 12))
    Learner: what is a
    Tutor: a GAN pits
    """
    cap = max(1, budget // 3)
    lines: list[str] = []
    used = 0
    for turn in reversed(history):
        who = "Learner:" if turn.role == "user" else "Tutor:"
        words = turn.content.split()
        # The most words from the start of the turn that fit its share (binary search).
        low, high = 0, len(words)
        while low < high:
            keep = (low + high + 1) // 2
            if count_tokens(" ".join([who, *words[:keep]])) <= cap:
                low = keep
            else:
                high = keep - 1
        line = " ".join([who, *words[:low]])
        cost = count_tokens(line) + (1 if lines else 0)  # the newline between lines
        if not low or used + cost > budget:
            break
        lines.append(line)
        used += cost
    return "\n".join(reversed(lines))


_FOR_MODEL = object()  # Tutor(gate=...) default: the gate fitted for the loaded model


class Tutor:
    """Answers questions from the index. The LLM loads on first use, so search stays fast."""

    def __init__(
        self,
        settings: Settings,
        retriever: Retriever,
        llm: LLMBackend | Callable[[], LLMBackend],
        cache: AnswerCache | None = None,
        path: LearningPath | None = None,
        gate: AnswerGate | None | object = _FOR_MODEL,
        premise_threshold: PremiseThreshold | None | object = _FOR_MODEL,
        wide_gate: AnswerGate | None | object = _FOR_MODEL,
    ):
        self.settings = settings
        self.retriever = retriever
        self._llm = llm
        self.cache = cache
        self.path = path  # the learning path, to place answers on the roadmap
        self._llm_lock = threading.Lock()
        self.llm_loads = 0  # how many times this tutor loaded its model: once, at most
        self._gate = gate
        self._wide_gate = wide_gate
        self._fitted_gates: dict[str, AnswerGate | None] = {}
        self._premise_threshold = premise_threshold

    @property
    def gate(self) -> AnswerGate | None:
        """The answerability gate fitted for the loaded model and the evidence the settings
        give it (None: cosine gate only)."""
        if self._gate is not _FOR_MODEL:
            return self._gate  # type: ignore[return-value]
        if not self.settings.answer_gate:
            return None
        return self._fitted_gate(evidence_kind(self.settings.evidence_tokens))

    @property
    def wide_gate(self) -> AnswerGate | None:
        """The whole passages' gate, for a second look when the sentences gate is not sure
        it should answer (None: no second look; the sentences gate's threshold decides)."""
        if self._wide_gate is not _FOR_MODEL:
            return self._wide_gate  # type: ignore[return-value]
        gate = self.gate
        if not self.settings.evidence_widen or gate is None or gate.sure is None:
            return None
        return self._fitted_gate("passages")

    def _fitted_gate(self, evidence: str) -> AnswerGate | None:
        # Looked up per kind of evidence, so settings changed on a live tutor (benchmarks
        # compare both kinds on one loaded model) get the gate fitted for what is read.
        if evidence not in self._fitted_gates:
            self._fitted_gates[evidence] = load_gate(self.llm.model_id, evidence)
        return self._fitted_gates[evidence]

    @property
    def premise_threshold(self) -> PremiseThreshold | None:
        """The premise check's threshold fitted for the loaded model (None: no check)."""
        if self._premise_threshold is _FOR_MODEL:
            fitted = load_threshold(self.llm.model_id) if self.settings.premise_check else None
            self._premise_threshold = fitted
        return self._premise_threshold  # type: ignore[return-value]

    @property
    def llm(self) -> LLMBackend:
        # Locked, so callers arriving while the model loads wait for that load instead of
        # starting a second copy.
        if not isinstance(self._llm, LLMBackend):
            with self._llm_lock:
                if not isinstance(self._llm, LLMBackend):
                    self._llm = self._llm()
                    self.llm_loads += 1
        return self._llm

    def warm_up(self) -> None:
        """Load the model and read the default system prompt once, so the first learner's
        answer reuses it from llama.cpp's cache instead of waiting for both (and count the
        index's word frequencies the answerability gate weighs names by)."""
        system = prompts.system_prompt("explain", "intermediate", self.settings.prompt_canary)
        self.llm.chat([{"role": "system", "content": system}], max_tokens=1, temperature=0.0)
        if self.gate is not None:
            _ = self.retriever.term_frequencies  # counted once, not in a learner's wait

    def rewrite_followup(
        self, question: str, history: Sequence[Turn], usage: dict[str, int] | None = None
    ) -> str:
        """A standalone version of a follow-up question, so retrieval sees its topic. The
        model call's tokens are added to `usage` when given."""
        if not any(t.role == "user" for t in history) or not needs_context(question):
            return question  # nothing to lean on, or it names its own topic: no model call
        messages: list[Message] = [
            {"role": "system", "content": prompts.REWRITE_SYSTEM},
            {
                "role": "user",
                "content": prompts.REWRITE_USER.format(
                    history=format_history(
                        history, self.llm.count_tokens, self.settings.history_tokens
                    ),
                    question=question,
                ),
            },
        ]
        rewritten = self.llm.chat(messages, max_tokens=64, temperature=0.0).strip()
        if usage is not None:
            count_usage(self.llm, usage, messages, rewritten)
        rewritten = rewritten.splitlines()[0].strip().strip('"') if rewritten else ""
        asked = content_words(question)
        kept = len(asked & content_words(rewritten)) / len(asked) if asked else 1.0
        if not rewritten or kept < 0.5 or len(rewritten) > 3 * len(question) + 200:
            # Small models sometimes answer, ramble, or drop what the learner just asked
            # ("...different from a VAE?" -> "What is a GAN?"): then search with the last
            # question and this one together, which keeps both topics.
            last = next(t.content for t in reversed(history) if t.role == "user")
            return f"{last} {question}"
        return rewritten

    def stream(
        self,
        question: str,
        history: Sequence[Turn] = (),
        top_k: int | None = None,
        phase: int | str | None = None,
        mode: str = "explain",
        level: str = "intermediate",
        max_tokens: int | None = None,
        temperature: float | None = None,
        studied: Collection[str] | None = None,
    ) -> Iterator[Event]:
        """Answer `question`. mode: explain (full answer), hint (Socratic nudge) or quiz (ask a
        question on the topic, or grade the learner's reply to the last quiz question).
        `max_tokens` and `temperature` default to the settings'. `studied` (topic or note
        ids) lets the answer's placement name the prerequisites the learner has not studied."""
        started = time.perf_counter()
        max_tokens = max_tokens or self.settings.max_answer_tokens
        temperature = self.settings.temperature if temperature is None else temperature
        usage = {"prompt_tokens": 0, "completion_tokens": 0}
        question = validate_question(question)
        validate_mode(mode, level)
        context = self._cache_context(history, top_k, phase, mode, level, max_tokens, temperature)
        key = context and cache_key(question=normalise(question), context=context)
        question_vector = None
        if key:
            stored, matched = self.cache.get(key), None
            if stored is None and self.settings.cache_min_similarity < 1.0:
                # Worded differently, meaning the same: the nearest earlier question in the
                # same context, above the calibrated similarity.
                question_vector = self.retriever.embedder.embed_query(question)
                near = self.cache.nearest(context, question_vector)
                if near and near[2] >= self.settings.cache_min_similarity:
                    stored, matched = self.cache.get(near[0]), near[1]
            if stored is not None:
                yield from self._replay(stored, started, studied, question, matched)
                return
        timings: dict[str, float] = {}
        counts: dict[str, int] = {}
        grading = quiz_question_to_grade(history) if mode == "quiz" else None
        query = question
        if grading:
            # Grade against what the quiz asked, not against the wording of the reply.
            query = grading
        elif history:
            query = self.rewrite_followup(question, history, usage)
            timings["rewrite_s"] = time.perf_counter() - started
        candidates, passages = self.retrieve_evidence(query, top_k, phase, timings)
        yield Retrieved(query, passages)
        answerability: float | None = None
        premise: PremiseCheck | None = None

        prompt_tokens: dict[str, int] = {}
        truncated = False

        def done(
            text: str,
            citations: list[Citation],
            abstained: bool,
            reason: str | None,
            model_id: str | None,
            sentences: Sequence[SentenceSupport] = (),
        ) -> Done:
            timings["total_s"] = time.perf_counter() - started
            answer = Answer(
                question=question,
                query=query,
                text=text,
                citations=citations,
                abstained=abstained,
                abstain_reason=reason,
                suggestions=self._suggestions(candidates) if abstained else [],
                retrieval=[x.to_dict() for x in passages],
                timings=timings,
                counts=counts,
                prompt_tokens=prompt_tokens,
                usage=usage,
                truncated=truncated,
                model_id=model_id,
                mode=mode,
                level=level,
                placement=None if abstained else self._place(citations, passages),
                answerability=answerability,
                sentences=[x.to_dict() for x in sentences],
                premise=premise.to_dict() if premise else None,
            )
            if key:  # only finished answers: one cut short by a client or an error is not kept
                vector = question_vector
                if vector is None and self.settings.cache_min_similarity < 1.0:
                    vector = self.retriever.embedder.embed_query(question)
                self.cache.put(key, answer.to_dict(), context, normalise(question), vector)
            answer.placement = with_missing(answer.placement, studied)
            return Done(answer)

        if not passages:
            text = self._abstain_text(candidates)
            timings["first_token_s"] = time.perf_counter() - started
            yield Token(text)
            yield done(text, [], True, "no passage is relevant enough", None)
            return

        evidence, planted = screened_passages(passages, self.settings.planted_screen)
        if planted:
            counts["planted_lines_dropped"] = planted
        system = prompts.system_prompt(
            mode, level, self.settings.prompt_canary, grading=grading is not None
        )
        if mode != "quiz" and self.gate is not None and not asserts_premise(question):
            # Quiz questions ask for a question, not an answer, and a stated premise is to be
            # checked, not declined (tutor.answerable): the gate is for the rest.
            t0 = time.perf_counter()
            gate = self.gate
            answerability = self.answerability(system, evidence, question, passages, usage)
            counts["check_prompt_tokens_reused"] = self.llm.last_stats.prompt_reused
            wide = self.wide_gate
            if wide is not None and gate.sure is not None and answerability < gate.sure:
                # Not sure the selected sentences answer it: read the whole passages and
                # let their gate decide (tutor.answerable). The answer, if any, is then
                # written from them, and the learner's client is told what it reads.
                passages = whole_passages(
                    gated_hits(candidates, top_k or self.settings.top_k, self.settings)
                )
                yield Retrieved(query, passages)
                evidence, planted = screened_passages(passages, self.settings.planted_screen)
                if planted:
                    counts["planted_lines_dropped"] = planted
                gate, counts["widened"] = wide, 1
                answerability = self.answerability(
                    system, evidence, question, passages, usage, gate=wide
                )
            timings["answerable_s"] = time.perf_counter() - t0
            if answerability < gate.threshold:
                text = self._abstain_text(candidates)
                timings["first_token_s"] = time.perf_counter() - started
                yield Token(text)
                reason = f"the passages do not seem to answer it ({answerability:.2f})"
                yield done(text, [], True, reason, self.llm.model_id)
                return
        choice: Choice | None = None
        lead = ""  # a sentence decided in code that opens the answer
        if grading:
            user = prompts.QUIZ_GRADE_USER.format(
                passages=evidence, quiz_question=grading, question=question
            )
        elif mode == "quiz":  # asking a quiz question; grading is the branch above
            user = prompts.QUIZ_ASK_USER.format(passages=evidence, question=question)
        elif mode == "explain" and (options := parse_options(question)):
            t0 = time.perf_counter()
            choice = choose_options(self.llm, system, evidence, question, options, usage)
            timings["options_s"] = time.perf_counter() - t0
            chosen = "; ".join(f"{letter}) {options[letter]}" for letter in choice.letters)
            user = prompts.MCQ_EXPLAIN_USER.format(
                passages=evidence, question=question, choice=chosen
            )
        else:
            statement = stated_premise(question) if mode != "quiz" else None
            if statement and (fitted := self.premise_threshold) is not None:
                t0 = time.perf_counter()
                premise = check_premise(
                    self.llm, system, evidence, question, statement, fitted.threshold, usage
                )
                timings["premise_s"] = time.perf_counter() - t0
            if premise is not None and not premise.supported:
                # Decided in code: the learner is told the premise is not backed, and the
                # model is asked for what the passages say instead (tutor.premise).
                lead = correction_lead(premise.statement)
                user = prompts.PREMISE_CORRECT_USER.format(
                    passages=evidence, question=question, premise=premise.statement
                )
            else:
                user = prompts.ANSWER_USER.format(passages=evidence, question=question)
        messages = system_and_user(system, user)
        count = self.llm.count_tokens
        prompt_tokens |= {
            "system": count(system),
            "evidence": count(evidence),
            "question": count(question) + (count(grading) if grading else 0),
        }
        pieces: list[str] = []
        cleaner = StreamingCitationFilter(len(passages))
        # A hint is checked whole before the learner sees any of it (tutor.hint), so it is
        # held back; every other answer streams as the model writes it.
        # So is a quiz question (tutor.quiz): nothing of the draft is shown until its answer
        # key, feedback or solution is taken out.
        quiz_guarded = mode == "quiz" and grading is None and self.settings.quiz_guard
        guarded_mode = (mode == "hint" and self.settings.hint_guard) or quiz_guarded
        held: list[str] | None = [] if guarded_mode else None
        if lead:
            timings["first_token_s"] = time.perf_counter() - started
            yield Token(f"{lead}\n\n")
        for piece in self.llm.stream_chat(messages, max_tokens, temperature):
            if not pieces and held is None:
                timings.setdefault("first_token_s", time.perf_counter() - started)
            pieces.append(piece)
            if cleaned := cleaner.feed(piece):
                if held is None:
                    yield Token(cleaned)
                else:
                    held.append(cleaned)
        if rest := cleaner.flush():
            if held is None:
                yield Token(rest)
            else:
                held.append(rest)
        raw = "".join(pieces).strip()
        completion = count_usage(self.llm, usage, messages, "".join(pieces))
        decided = ""
        if choice is not None and raw and not is_abstention(raw):
            # The option was decided in code (tutor.choice); the model only explained it. The
            # line is added after the citations are read, so no marker is moved onto it.
            decided = choice.line()
            yield Token(f"\n\n{decided}")
        truncated = completion >= max_tokens
        # Prompt tokens the model found in its cache (shared rules, the passages the
        # answerability check read), not read again: where the first token's time is saved.
        counts["prompt_tokens_reused"] = self.llm.last_stats.prompt_reused
        if (stats := self.llm.last_stats).drafted:  # speculative decoding was on
            counts["decode_steps"] = stats.decode_steps
            counts["draft_accepted"] = stats.accepted
        if quiz_guarded and raw and not is_abstention(raw):
            chunk = passages[0].hit.chunk
            quiz = guard_quiz(raw, (chunk.heading_path or [chunk.title])[-1])
            timings.setdefault("first_token_s", time.perf_counter() - started)
            if quiz.dropped or quiz.rebuilt:
                counts["quiz_dropped_sentences"] = quiz.dropped
                counts["quiz_rebuilt"] = int(quiz.rebuilt)
            if not quiz.rebuilt and self.gate is not None:
                # The model writes a question even where the passages hold no answer to it
                # (tutor.quiz): the gate decides, before the learner sees it.
                t0 = time.perf_counter()
                answerability = self.answerability(system, evidence, quiz.question, passages, usage)
                timings["answerable_s"] = time.perf_counter() - t0
                if answerability < self.gate.threshold:
                    text = self._abstain_text(candidates)
                    yield Token(text)
                    reason = (
                        "the passages do not seem to answer the quiz question it wrote "
                        f"({answerability:.2f})"
                    )
                    yield done(text, [], True, reason, self.llm.model_id)
                    return
            raw = quiz.text
            yield Token(parse_citations(raw, len(passages)).text)
        elif held is not None and raw and not is_abstention(raw):

            def redraft() -> str:
                again = system_and_user(system, f"{user}\n\n{prompts.HINT_REDRAFT}")
                t0 = time.perf_counter()
                reply = "".join(self.llm.stream_chat(again, HINT_REDRAFT_TOKENS, temperature))
                timings["hint_redraft_s"] = time.perf_counter() - t0
                count_usage(self.llm, usage, again, reply)
                return reply

            guarded = guard_hint(raw, question, redraft)
            timings.setdefault("first_token_s", time.perf_counter() - started)
            if guarded.withheld:
                counts["hint_withheld_sentences"] = guarded.withheld
                counts["hint_kept_sentences"] = guarded.kept
                raw = guarded.text
                yield Token(parse_citations(raw, len(passages)).text)
            else:
                yield Token("".join(held))
        if not raw or is_abstention(raw):
            text = f"{lead}\n\n{self._abstain_text(candidates)}".lstrip()
            yield done(
                text, [], True, "the model found no answer in the passages", self.llm.model_id
            )
            return
        texts = [x.text for x in passages]
        parsed = parse_citations(raw, len(passages))
        if parsed.numbers:
            parsed = parse_citations(repair_citations(parsed.text, texts), len(passages))
        inferred = False
        if not parsed.numbers:
            parsed = parse_citations(attribute_sentences(parsed.text, texts), len(passages))
            inferred = True
        text = move_leading_markers(parsed.text)
        t0 = time.perf_counter()
        sentences = sentence_support(
            text,
            passages,
            self.retriever.embedder.embed,
            self.settings.support_min_similarity,
            self.settings.support_weak_similarity,
        )
        # Only an explanation loses sentences: a hint is already guarded, a quiz's lines are
        # questions and feedback on the learner's answer.
        withhold = (
            withheld_levels(self.settings.support_withhold, sentences) if mode == "explain" else ()
        )
        text = cite_each_sentence(text, sentences, withhold)
        timings["support_s"] = time.perf_counter() - t0
        if withheld := sum(x.withheld for x in sentences):
            counts["withheld_sentences"] = withheld
        if withheld and not any(x.supported is not None and not x.withheld for x in sentences):
            text = f"{lead}\n\n{self._abstain_text(candidates)}".lstrip()
            reason = "no sentence of the draft answer is backed by the passages"
            yield done(text, [], True, reason, self.llm.model_id, sentences)
            return
        if decided:  # decided in code, not by a passage sentence: no support verdict
            text = f"{text.rstrip()}\n\n{decided}".lstrip()
            sentences.append(SentenceSupport(decided, [], None, None))
        # The passages the shown text cites: a moved citation's too, a withheld sentence's not.
        numbers = parse_citations(text, len(passages)).numbers
        citations = [
            Citation(
                number=n,
                chunk_id=passages[n - 1].hit.chunk.id,
                source_id=passages[n - 1].hit.chunk.source_id,
                title=passages[n - 1].hit.chunk.title,
                heading_path=passages[n - 1].hit.chunk.heading_path,
                url=passages[n - 1].hit.chunk.url,
                passage=passages[n - 1].text,
                inferred=inferred,
                spans=list(passages[n - 1].spans),
            )
            for n in numbers
        ]
        if lead:  # after the support check: it is the pipeline's sentence, not a claim to back
            text = f"{lead}\n\n{text}"
        yield done(text, citations, False, None, self.llm.model_id, sentences)

    def ask(
        self,
        question: str,
        history: Sequence[Turn] = (),
        top_k: int | None = None,
        phase: int | str | None = None,
        mode: str = "explain",
        level: str = "intermediate",
        studied: Collection[str] | None = None,
    ) -> Answer:
        for event in self.stream(question, history, top_k, phase, mode, level, studied=studied):
            if isinstance(event, Done):
                return event.answer
        raise AssertionError("stream ended without an answer")  # pragma: no cover

    def _cache_context(
        self, history, top_k, phase, mode, level, max_tokens, temperature
    ) -> str | None:
        """Everything but the question that decides an answer, as one key; None when this
        answer must not come from the cache."""
        if self.cache is None or mode == "quiz" or temperature > self.settings.temperature:
            return None
        s = self.settings
        system = prompts.system_prompt(mode, level, s.prompt_canary)
        return cache_key(
            history=[(t.role, t.content) for t in history],
            mode=mode,
            level=level,
            top_k=top_k or s.top_k,
            phase=phase,
            max_tokens=max_tokens,
            temperature=temperature,
            index_build=self.retriever.index.path.name,  # a rebuild invalidates everything
            model=(s.llm_backend, s.llm_model),
            retrieval=(s.min_dense_score, s.rrf_k),
            evidence=(s.evidence_tokens, s.evidence_candidates, s.evidence_widen),
            hint_guard=s.hint_guard,
            planted_screen=s.planted_screen,
            support=(s.support_min_similarity, s.support_weak_similarity, s.support_withhold),
            gate=(s.answer_gate, gates_digest()),  # read without loading the model
            premise=(s.premise_check, checks_digest()),
            prompts=(
                __version__,
                system,
                prompts.PASSAGE,
                prompts.ANSWER_USER,
                prompts.MCQ_EXPLAIN_USER,
                prompts.OPTION_CHECK_USER,
                prompts.PREMISE_CHECK_USER,
                prompts.PREMISE_CORRECT_USER,
                prompts.HINT_REDRAFT,
            ),
        )

    def _replay(
        self, stored: dict, started: float, studied, question: str, matched: str | None
    ) -> Iterator[Event]:
        answer = Answer.from_dict(stored)
        answer.question = question  # as asked this time
        answer.cached = True
        answer.cached_from = matched
        answer.placement = with_missing(answer.placement, studied)
        answer.timings = {"first_token_s": time.perf_counter() - started}
        answer.timings["total_s"] = answer.timings["first_token_s"]
        yield Retrieved(answer.query, [StoredPassage(x) for x in answer.retrieval])
        yield Token(answer.text)
        yield Done(answer)

    def retrieve_evidence(
        self,
        query: str,
        top_k: int | None = None,
        phase: int | str | None = None,
        timings: dict[str, float] | None = None,
    ) -> tuple[list[Hit], list[Excerpt]]:
        """The retrieval candidates, and what the model reads from them: nothing when no
        passage clears the cosine gate."""
        timings = {} if timings is None else timings
        t0 = time.perf_counter()
        candidates = self.retriever.search(
            query,
            top_k=max(top_k or self.settings.top_k, self.settings.evidence_candidates),
            phase=phase,
        )
        timings["retrieve_s"] = time.perf_counter() - t0
        top_k = top_k or self.settings.top_k
        passages: list[Excerpt] = []
        if any(h.dense_score >= self.settings.min_dense_score for h in candidates[:top_k]):
            passages = self._evidence(query, candidates, top_k, timings)
        return candidates, passages

    def answerability(
        self,
        system: str,
        evidence: str,
        question: str,
        passages: Sequence[Excerpt],
        usage: dict[str, int] | None = None,
        gate: AnswerGate | None = None,
    ) -> float:
        """P(answerable) from the calibrated gate (`gate`, by default the one for the
        configured evidence): the model's P(yes) that the question can be answered from the
        passages, with the best passage's cosine and the rarity of the rarest name in the
        question that the passages lack. The prompt's tokens are added to `usage` when
        given."""
        gate = gate or self.gate
        assert gate is not None
        messages = check_messages(system, evidence, question)
        p_yes = self.llm.yes_probability(messages)
        if usage is not None:
            usage["prompt_tokens"] += self.llm.count_prompt_tokens(messages)
        features = gate_features(p_yes, passages, question, self.retriever.term_frequencies)
        return gate.probability(features)

    def _evidence(
        self, query: str, candidates: list[Hit], top_k: int, timings: dict[str, float]
    ) -> list[Excerpt]:
        """What the model reads: the top passages whole (evidence_tokens=0), or the best
        sentences of the relevant candidates within the evidence budget."""
        if not self.settings.evidence_tokens:
            return whole_passages(gated_hits(candidates, top_k, self.settings))
        gated = [h for h in candidates if h.dense_score >= self.settings.min_dense_score]
        t0 = time.perf_counter()
        embedder = self.retriever.embedder
        excerpts = select_evidence(
            query,
            gated[: self.settings.evidence_candidates],
            embedder.embed,
            embedder.embed_query(query),
            self.settings.evidence_tokens,
            self.llm.count_tokens,
            max_excerpts=top_k,
        )
        timings["evidence_s"] = time.perf_counter() - t0
        return excerpts

    def _place(self, citations: list[Citation], passages: list[Excerpt]) -> dict | None:
        if self.path is None:
            return None
        chunks = {x.hit.chunk.id: x.hit.chunk for x in passages}
        cited = [chunks[c.chunk_id] for c in citations if c.chunk_id in chunks]
        topic = answer_topic(cited, [x.hit.chunk for x in passages], self.path)
        return placement(topic, self.path) if topic else None

    def _suggestions(self, candidates: list[Hit]) -> list[str]:
        near = [h for h in candidates if h.dense_score >= self.settings.near_topic_score]
        return list(dict.fromkeys(topic_label(h) for h in near))[:3]

    def _abstain_text(self, candidates: list[Hit]) -> str:
        suggestions = self._suggestions(candidates)
        if not suggestions:
            return f"{prompts.ABSTAIN_SENTENCE} It seems to be outside this roadmap."
        return (
            f"{prompts.ABSTAIN_SENTENCE} The closest parts of the roadmap are: "
            + "; ".join(suggestions)
            + "."
        )


def open_tutor(settings: Settings, progress=None) -> Tutor:
    """Load the index and embedder now; the LLM on first use."""
    from tutor.embed import Embedder
    from tutor.index import load_index
    from tutor.llm import make_backend

    index = load_index(settings)
    retriever = Retriever(index, Embedder(settings.embed_model, settings.embed_precision), settings)
    cache = (
        AnswerCache(settings.data_dir / "answer-cache.sqlite") if settings.answer_cache else None
    )
    path = load_path(settings.corpus_dir)
    return Tutor(settings, retriever, lambda: make_backend(settings, progress), cache, path)
