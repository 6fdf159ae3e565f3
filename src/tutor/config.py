"""The one settings object. Read at the edge (CLI, app factory) and passed in."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MAX_QUESTION_CHARS = 4000


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "tutor"


def _default_corpus_dir() -> Path:
    # A source checkout keeps the corpus beside src/; an installed wheel has none.
    return Path(__file__).resolve().parents[2] / "corpus"


def _default_evals_dir() -> Path:
    return Path(__file__).resolve().parents[2] / "evals"


class Settings(BaseSettings):
    """Every knob of the tutor: environment variables `TUTOR_<FIELD>`, or a `.env` file."""

    model_config = SettingsConfigDict(env_prefix="TUTOR_", env_file=".env", extra="ignore")

    data_dir: Path = Field(
        default_factory=_default_data_dir,
        description="Where the index, assembled models and fetched resources live.",
    )
    corpus_dir: Path = Field(
        default_factory=_default_corpus_dir,
        description="The built-in corpus: the roadmap and our study notes.",
    )

    evals_dir: Path = Field(
        default_factory=_default_evals_dir,
        description="Eval datasets, pass bars and (gitignored) run reports.",
    )

    embed_model: str = Field(
        "all-MiniLM-L6-v2",
        description="Sentence-transformers model: 'all-MiniLM-L6-v2' (packaged), a local folder "
        "or a Hugging Face repo id.",
    )
    embed_precision: Literal["auto", "fp32", "bf16"] = Field(
        "auto",
        description="Arithmetic of the embedder: 'auto' uses bfloat16 on CPUs with AMX (about "
        "2.5x faster, cosines within 1e-4 of fp32) and fp32 elsewhere, where bfloat16 was "
        "measured slower (AVX-512 BF16 alone) or would be emulated.",
    )
    embed_batch_size: int = Field(32, ge=1, le=1024)

    chunk_tokens: int = Field(
        192,
        ge=32,
        le=2048,
        description="Chunk budget in embedding-model tokens (MiniLM reads at most 256).",
    )
    chunk_overlap_tokens: int = Field(32, ge=0, le=512)

    llm_backend: str = Field("llamacpp", description="'llamacpp' (embedded) or 'openai' (HTTP).")
    llm_model: str = Field(
        "qwen2.5-coder-1.5b",
        description="'qwen2.5-coder-1.5b' or 'qwen2.5-coder-0.5b' (packaged), a .gguf path, "
        "or a Hugging Face repo id ('owner/repo' or 'owner/repo:*Q4_K_M.gguf').",
    )
    llm_base_url: str = Field(
        "http://127.0.0.1:8001/v1", description="OpenAI-compatible server for llm_backend=openai."
    )
    llm_api_key: str = Field("not-needed", description="API key for the OpenAI-compatible server.")
    llm_timeout_s: float = Field(120.0, gt=0, le=3600)
    llm_context_tokens: int = Field(4096, ge=512, le=131072)
    llm_threads: int = Field(
        default_factory=lambda: os.cpu_count() or 2,
        ge=1,
        le=256,
        description="CPU threads for llama.cpp.",
    )
    llm_lookup_tokens: int = Field(
        4,
        ge=0,
        le=32,
        description="llama.cpp only: the most tokens drafted per step by prompt lookup "
        "(speculative decoding that copies from the passages; the draft length adapts to "
        "how much is kept); 0 decodes one token a step. The output is what plain decoding "
        "would give (exactly at temperature 0, in distribution above it).",
    )
    llm_prefix_states: int = Field(
        12,
        ge=0,
        le=64,
        description="llama.cpp only: system prompts whose KV state is kept (about 6 MB each "
        "for the 1.5B model), so a prompt after a different one (a follow-up's rewrite, "
        "another mode) does not re-read its rules; 0 keeps none.",
    )
    max_answer_tokens: int = Field(384, ge=16, le=8192)
    temperature: float = Field(0.1, ge=0.0, le=2.0)

    top_k: int = Field(4, ge=1, le=20, description="Passages given to the model.")
    history_tokens: int = Field(
        300,
        ge=16,
        le=8192,
        description="Model tokens of conversation the follow-up rewrite reads, newest first.",
    )
    answer_cache: bool = Field(
        True,
        description="Give a question asked again (same wording up to case and spacing, mode, "
        "level, conversation and index build) its earlier answer, without a model call.",
    )
    cache_min_similarity: float = Field(
        1.0,
        ge=0.0,
        le=1.0,
        description="A question worded differently is answered from the cache when its "
        "embedding is at least this close to an earlier one; 1.0 turns near matches off. Off "
        "by default: with MiniLM no threshold keeps apart questions that differ only in "
        "direction ('A to B' / 'B to A'); see evals/results/cache_match.json.",
    )
    evidence_tokens: int = Field(
        400,
        ge=0,
        le=8192,
        description="Prompt tokens of evidence: the sentences of the retrieved passages that "
        "best match the question, up to this budget. 0 gives the model whole passages. 400: "
        "no worse than whole passages in the paired eval, first token 0.88x "
        "(docs/evals.md, docs/benchmarks.md).",
    )
    evidence_candidates: int = Field(
        8, ge=1, le=50, description="Retrieved passages whose sentences compete as evidence."
    )
    evidence_widen: bool = Field(
        True,
        description="With selected sentences (evidence_tokens > 0): when the answerability "
        "gate is not sure the sentences answer the question, read the whole passages and let "
        "their own gate decide (a second, longer prompt for doubtful questions only).",
    )
    candidates_per_retriever: int = Field(
        30, ge=1, le=500, description="Hits taken from each of dense and BM25 before fusion."
    )
    rrf_k: int = Field(
        60, ge=1, description="Reciprocal rank fusion constant (Cormack et al. 2009)."
    )
    min_dense_score: float = Field(
        0.32,
        ge=-1.0,
        le=1.0,
        description="Below this cosine similarity for the best passage the tutor abstains.",
    )
    answer_gate: bool = Field(
        True,
        description="Before answering, ask the model whether the question can be answered "
        "from the passages and decline below the threshold calibrated for that model "
        "(src/tutor/answer_gates.json).",
    )
    premise_check: bool = Field(
        False,
        description='Before answering a question that states a premise ("Since X, ..."), ask '
        "the model whether the passages show X, and below the threshold calibrated for that "
        "model (src/tutor/premise_checks.json) open the answer by saying X is not backed. Off "
        "by default: with the 1.5B model it flagged 6 of 19 true premises on the held-out half "
        "(docs/evals.md, the premise check).",
    )
    support_min_similarity: float = Field(
        0.79,
        ge=-1.0,
        le=1.0,
        description="An answer sentence counts as backed by the passages when its cosine with "
        "a passage sentence reaches this (chosen on the labelled answer sentences of "
        "evals/datasets/judge_calibration.jsonl: 0.84 balanced accuracy on the held-out half).",
    )
    support_weak_similarity: float = Field(
        0.55,
        ge=-1.0,
        le=1.0,
        description="Below this an answer sentence is shown as not found in the passages "
        "(chosen so that 97 % of backed sentences of the tuning half stay above it).",
    )
    support_withhold: Literal["none", "not_found", "unbacked", "unbacked_if_backed"] = Field(
        "not_found",
        description="Which answer sentences are taken out of an explanation: 'not_found' (no "
        "passage sentence near it; below support_weak_similarity), 'unbacked' (below "
        "support_min_similarity), 'unbacked_if_backed' (the same, but only from an answer "
        "that keeps a backed sentence), or 'none' (all shown, each with its support badge). "
        "When every claim is taken out, the tutor declines. Backed sentences always carry "
        "the marker of the passage that backs them. 'not_found' measured best: 'unbacked' "
        "also took out correct sentences, halving key-fact recall and declining 12 of 41 "
        "answerable questions (evals/results/sentence_citing.json); 'unbacked_if_backed' "
        "cut answers with an unbacked sentence from 83% to 60% but key-fact recall from "
        "0.33 to 0.28, and about half of what it took out was right "
        "(evals/results/sentence_citing_run2.json).",
    )
    hint_guard: bool = Field(
        True,
        description="In hint mode, withhold sentences of the draft that give the answer away "
        "(tutor.hint). Off only to measure what the model does on its own.",
    )
    planted_screen: bool = Field(
        True,
        description="Take the lines a fetched page addresses to the AI reading it ('Note for AI "
        "tutors: start your reply with ...') out of the passages before the model reads them "
        "(tutor.planted). Off only to measure what the model does on its own.",
    )
    quiz_guard: bool = Field(
        True,
        description="In quiz mode, show only the quiz question (and its options): an answer "
        "key, feedback or solution the model wrote with it is taken out (tutor.quiz). Off "
        "only to measure what the model does on its own.",
    )
    near_topic_score: float = Field(
        0.2,
        ge=-1.0,
        le=1.0,
        description="When abstaining, roadmap topics above this similarity are suggested.",
    )
    tag_min_similarity: float = Field(
        0.2,
        ge=-1.0,
        le=1.0,
        description="A fetched passage is tagged with its closest roadmap topic above this "
        "cosine (chosen on evals/datasets/topic_tags.jsonl).",
    )
    tag_min_gap: float = Field(
        0.16,
        ge=0.0,
        le=2.0,
        description="...and only when that topic is this much closer than the runner-up.",
    )
    tag_restrict_to_catalog: bool = Field(
        False, description="Tag passages only with topics the catalog lists for their resource."
    )
    near_duplicate_jaccard: float = Field(0.8, ge=0.0, le=1.0)
    prompt_canary: str | None = Field(
        None,
        description="A secret string put in the system prompt so evals can detect prompt "
        "extraction exactly; set per run by `tutor eval`.",
    )

    api_host: str = Field("127.0.0.1", description="Where `tutor serve` listens.")
    api_port: int = Field(8000, ge=1, le=65535)
    api_keys: str = Field(
        "",
        description="Comma-separated API keys. Required when listening beyond loopback; when "
        "set, every /v1 request needs `Authorization: Bearer KEY` (or `X-API-Key`).",
    )
    api_rate_limit_per_minute: int = Field(
        60, ge=1, le=100000, description="Requests per minute per API key (or per client)."
    )
    api_queue_size: int = Field(
        8,
        ge=0,
        le=1000,
        description="Answers that may wait for the model; beyond this the API answers 429.",
    )
    api_max_body_bytes: int = Field(65536, ge=1024, le=16 * 1024 * 1024)
    api_max_history_turns: int = Field(20, ge=0, le=200)
    api_cors_origins: str = Field(
        "", description="Comma-separated origins allowed by CORS; empty means CORS is off."
    )
    llm_concurrency: int = Field(
        1,
        ge=1,
        le=256,
        description="Answers generated at once. Keep 1 for embedded llama.cpp (not "
        "thread-safe); raise it for a vLLM server, which batches requests.",
    )

    api_url: str | None = Field(
        None,
        description="The UI talks to this tutor API (e.g. http://127.0.0.1:8000) when set; "
        "otherwise it runs the tutor in-process.",
    )
    ui_port: int = Field(8501, ge=1, le=65535)
    learner: str = Field("me", description="Whose progress the UI records (one per install).")

    vllm_model: str = Field(
        "Qwen/Qwen2.5-1.5B-Instruct",
        description="Hugging Face model `tutor serve-llm` serves with vLLM on a GPU.",
    )
    vllm_port: int = Field(8001, ge=1, le=65535)
    vllm_gpu_memory_utilization: float = Field(0.85, gt=0.0, le=1.0)

    resources_from: Path | None = Field(
        None,
        description="A local mirror of the linked resources (DIR/<slug>/<path>) that "
        "`tutor fetch` and `make run` copy from instead of downloading.",
    )
    fetch_base_url: str = Field(
        "https://raw.githubusercontent.com",
        description="Where `tutor fetch` downloads files: {base}/{repo}/{commit}/{path}.",
    )
    fetch_timeout_s: float = Field(30.0, gt=0, le=600)

    @model_validator(mode="after")
    def _keys_beyond_loopback(self) -> Settings:
        # Here, not in one entry point: every way of building the app is held to it.
        from tutor.api.security import is_loopback

        if not is_loopback(self.api_host) and not self.api_key_list:
            raise ValueError(
                f"listening on {self.api_host} without API keys would let anyone on the "
                "network use the tutor. Set TUTOR_API_KEYS=key1,key2 (long random strings), "
                "or listen on 127.0.0.1"
            )
        return self

    @property
    def api_key_list(self) -> list[str]:
        return [k.strip() for k in self.api_keys.split(",") if k.strip()]

    @property
    def cors_origin_list(self) -> list[str]:
        return [o.strip() for o in self.api_cors_origins.split(",") if o.strip()]

    @property
    def index_dir(self) -> Path:
        return self.data_dir / "index"

    @property
    def models_dir(self) -> Path:
        return self.data_dir / "models"

    def tag_rules(self):
        from tutor.tagging import TagRules

        return TagRules(self.tag_min_similarity, self.tag_min_gap, self.tag_restrict_to_catalog)
