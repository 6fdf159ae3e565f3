"""Request and response bodies: the API's contract, and the limits it enforces (422)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from tutor.config import MAX_QUESTION_CHARS

Mode = Literal["explain", "hint", "quiz"]
Level = Literal["beginner", "intermediate", "advanced"]
SearchMode = Literal["hybrid", "dense", "bm25"]


def _check_phase(value):
    if value is None:
        return None
    text = str(value).strip().lower()
    if text == "other" or (text.isdigit() and 1 <= int(text) <= 6):
        return text
    raise ValueError("phase must be 1-6 or 'other'")


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("the text is empty (only spaces)")
    return value


# Shared field types: one definition of what a question and a phase filter accept.
QuestionText = Annotated[
    str, Field(min_length=1, max_length=MAX_QUESTION_CHARS), AfterValidator(_not_blank)
]
PhaseFilter = Annotated[int | str | None, AfterValidator(_check_phase)]


class TurnIn(BaseModel):
    role: Literal["user", "assistant"]
    content: str = Field(max_length=MAX_QUESTION_CHARS * 2)


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: QuestionText = Field(
        description="The learner's question.",
        examples=["How does backpropagation work?"],
    )
    history: list[TurnIn] = Field(default_factory=list, max_length=200)
    top_k: int | None = Field(None, ge=1, le=20, description="Passages given to the model.")
    phase: PhaseFilter = Field(None, description="Only passages from roadmap phase 1-6.")
    mode: Mode = "explain"
    level: Level = "intermediate"
    stream: bool = Field(False, description="Server-Sent Events: token events, then `done`.")
    studied: list[Annotated[str, Field(max_length=300)]] | None = Field(
        None,
        max_length=500,
        description="Topics the learner has studied (topic ids such as `gans`, or note ids "
        "such as `notes/phase-3/gans.md`), so the answer's placement names the prerequisites "
        "not studied yet.",
    )


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: QuestionText
    top_k: int | None = Field(None, ge=1, le=50)
    phase: PhaseFilter = None
    mode: SearchMode = "hybrid"


class CitationOut(BaseModel):
    number: int
    chunk_id: str
    source_id: str
    title: str
    heading_path: list[str]
    url: str | None
    passage: str
    inferred: bool


class SentenceOut(BaseModel):
    text: str = Field(description="The sentence as the answer shows it, markers included.")
    citations: list[int] = Field(description="Passage numbers that back it.")
    support: float | None = Field(
        description="Cosine with the passage sentence that backs it best; null: not a claim."
    )
    supported: bool | None = Field(
        description="support reaches the calibrated threshold; false: shown as unsupported."
    )
    level: str | None = Field(
        None, description="'backed', 'loose' or 'not_found' (calibrated); null: not a claim."
    )
    quote: str | None = Field(None, description="The passage sentence that backs it.")
    passage: int | None = Field(None, description="That sentence's passage number.")
    span: list[int] | None = Field(None, description="Its [start, end) offsets in the chunk.")
    moved: bool = Field(False, description="The model cited another passage; corrected.")
    withheld: bool = Field(
        False, description="Taken out of the answer: no passage sentence backs it."
    )


class PrerequisiteOut(BaseModel):
    topic_id: str
    title: str
    source_id: str


class PremiseOut(BaseModel):
    statement: str = Field(description="What the question takes as given, as a sentence.")
    p_true: float = Field(description="The model's P(the passages show it is true).")
    supported: bool = Field(
        description="p_true reached the calibrated threshold; false: the answer was asked to "
        "say first that the premise is not backed."
    )


class PlacementOut(BaseModel):
    topic_id: str = Field(description="The roadmap topic the answer is about.")
    title: str
    source_id: str = Field(description="The topic's study note.")
    phase: int | str | None
    section: str | None
    step: int | None = Field(description="Its step in the suggested learning order.")
    where: str = Field(description='In words: "Phase 3, ... (step 4 of 8: ...)".')
    prerequisites: list[PrerequisiteOut]
    missing_prerequisites: list[PrerequisiteOut] = Field(
        description="Prerequisites not in the request's `studied` (empty without it)."
    )


class AnswerOut(BaseModel):
    question: str
    query: str
    text: str
    citations: list[CitationOut]
    abstained: bool
    abstain_reason: str | None = None
    suggestions: list[str] = []
    retrieval: list[dict] = []
    timings: dict[str, float] = {}
    counts: dict[str, int] = Field(
        {},
        description="What the pipeline did to the answer, counted: prompt tokens reused, "
        "sentences withheld, evidence widened.",
    )
    prompt_tokens: dict[str, int] = {}
    usage: dict[str, int] = {}
    truncated: bool = False
    cached: bool = False
    cached_from: str | None = Field(
        None, description="The earlier question a near-duplicate was answered from."
    )
    model_id: str | None = None
    mode: str = "explain"
    level: str = "intermediate"
    placement: PlacementOut | None = None
    answerability: float | None = Field(
        None, description="P(the passages answer it) from the calibrated gate; null: no gate."
    )
    sentences: list[SentenceOut] = []
    premise: PremiseOut | None = Field(
        None, description="The premise the question stated, checked; null: none was checked."
    )


class HitOut(BaseModel):
    chunk_id: str
    source_id: str
    title: str
    heading_path: list[str]
    url: str | None
    phase: int | str | None
    section: str | None
    topic: str | None
    topics: list[str] = Field([], description="Roadmap topic ids a fetched passage serves.")
    start_char: int
    end_char: int
    score: float
    dense_score: float
    bm25_score: float | None
    text: str


class SearchOut(BaseModel):
    query: str
    hits: list[HitOut]


class ChatMessageIn(BaseModel):
    role: Literal["system", "user", "assistant", "developer", "tool"]
    content: str | list[dict] | None = None


class ChatCompletionRequest(BaseModel):
    """OpenAI's chat completion request; fields the tutor has no use for are accepted and
    ignored, so existing clients work unchanged."""

    model_config = ConfigDict(extra="allow")

    model: str = "genai-tutor"
    messages: list[ChatMessageIn] = Field(min_length=1, max_length=201)
    stream: bool = False
    max_tokens: int | None = Field(None, ge=1, le=8192)
    temperature: float | None = Field(None, ge=0.0, le=2.0)
    top_k: int | None = Field(None, ge=1, le=20)
    mode: Mode = "explain"
    level: Level = "intermediate"


class FieldError(BaseModel):
    field: str
    message: str


class ErrorOut(BaseModel):
    """Every error body: a readable `detail`; validation errors add one entry per field."""

    detail: str
    errors: list[FieldError] = []


ERROR_RESPONSES = {
    status: {"model": ErrorOut, "description": description}
    for status, description in (
        (401, "A valid API key is required"),
        (413, "The request body is too large"),
        (422, "A field is invalid"),
        (429, "Busy or rate-limited: retry after the Retry-After header's seconds"),
        (503, "The index or the model is not available"),
    )
}
