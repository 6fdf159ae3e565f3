"""Judges decide whether a passage supports a claim. One small interface, two kinds:

- LLMJudge (the default, `--judge local` or `--judge URL`): a chat model reads the one to
  three passage sentences that best match the claim (chosen by embedding similarity, so a
  small model is not distracted by the rest of the passage) and answers yes or no under
  the measured prompts (`DEFAULT_PROMPTS`, chosen on the tuning half; with several, their
  log-odds are averaged); we read the probability of "yes" from its token log-probabilities,
  veto claims whose numbers the evidence does not contain, and pick the decision threshold
  on the tuning half of the labelled pairs. Verdicts are cached on disk across runs.
- LexicalJudge (`--judge lexical`): content-word coverage. Fast and deterministic, for smoke
  runs only: it scores near chance on the calibration pairs, so its claim metrics are never
  headline results.

Nothing here shares code with the pipeline's own citation heuristics (`tutor.cite`): a judge
that reused them would grade the pipeline by its own rules.

`calibrate` scores every labelled pair, fits the threshold on the `tune` half and reports
balanced accuracy on the `test` half; below JUDGE_FLOOR, on the whole test half or on the
tutor's own answer sentences in it, a judge's claim metrics are marked and `--check` fails.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from tutor.errors import BadInputError
from tutor.evals.metrics import balanced_accuracy
from tutor.llm.base import LLMBackend

# The local judge's model. Chosen by balanced accuracy on the tuning half (docs/evals.md).
DEFAULT_JUDGE_MODEL = "qwen2.5-coder-1.5b"
JUDGE_FLOOR = 0.75  # below this, claim metrics are not results
JUDGE_GOAL = 0.85
# Bump when a judge prompt's text changes: cached verdicts are keyed by it (and by the exact
# evidence text shown, so a change in how evidence is chosen needs no bump).
JUDGE_VERSION = "support-v3"


class Judge(Protocol):
    name: str
    threshold: float  # for "does the passage back this sentence?"
    fact_threshold: float  # for "does this answer state this key fact?"

    def support(self, premise: str, claim: str) -> float:
        """How strongly the premise supports the claim, in [0, 1]."""

    def entails(self, premise: str, claim: str) -> bool: ...

    def states(self, answer: str, fact: str) -> bool: ...


_CITATION = re.compile(r"\s*\[\d+\]")


def states(judge: Judge, answer: str, fact: str) -> bool:
    """Does the answer state the fact? The same support score as `entails`, read against
    its own threshold (calibrated on labelled key-fact pairs), with the answer's citation
    markers taken out, as the labellers saw it. Only its statements are read: a question
    asserts nothing, and the small judge reads "Why does the KL penalty prevent reward
    hacking?" as stating that it does (measured on quiz questions, evals/results/quiz_guard.json).

    >>> class Echo:
    ...     fact_threshold = 0.5
    ...     def support(self, premise, claim): return float(bool(premise))
    >>> states(Echo(), "What does the forget gate do? [2]", "It decides what to drop.")
    False
    >>> states(Echo(), "Which tokens does top-p keep [1]? The smallest set above p [1].", "x")
    True
    """
    statements = [s for s in sentences(_CITATION.sub("", answer)) if not s.endswith("?")]
    return bool(statements) and judge.support(" ".join(statements), fact) >= judge.fact_threshold


# --- text pieces (our own, deliberately not the pipeline's) ----------------------------

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'-]+")
_STOP = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "been",
        "being",
        "but",
        "by",
        "can",
        "could",
        "did",
        "do",
        "does",
        "for",
        "from",
        "had",
        "has",
        "have",
        "how",
        "i",
        "if",
        "in",
        "into",
        "is",
        "it",
        "its",
        "it's",
        "may",
        "might",
        "more",
        "most",
        "must",
        "of",
        "on",
        "or",
        "our",
        "so",
        "such",
        "than",
        "that",
        "the",
        "their",
        "them",
        "then",
        "there",
        "these",
        "they",
        "this",
        "those",
        "to",
        "too",
        "was",
        "we",
        "were",
        "what",
        "when",
        "where",
        "which",
        "while",
        "who",
        "why",
        "will",
        "with",
        "would",
        "you",
        "your",
        "also",
        "each",
        "other",
        "some",
        "any",
        "very",
        "just",
        "only",
    ]
)
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*(?:\.\d+)?")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(\[`*-])|\n\s*\n|\n(?=\s*[-*#\d|])")


def _stem(word: str) -> str:
    for suffix in ("ies", "ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def terms(text: str) -> set[str]:
    return {_stem(w.lower()) for w in _WORD.findall(text) if w.lower() not in _STOP}


def numbers(text: str) -> set[str]:
    """Numbers with thousands separators removed: '4,000' and '4000' are the same number."""
    return {n.replace(",", "") for n in _NUMBER.findall(text)}


def sentences(text: str) -> list[str]:
    parts = [" ".join(p.split()) for p in _SENTENCE_END.split(text)]
    return [p for p in parts if len(p) > 2]


# A "common misconception" item: a quoted false belief, then its correction, as our notes
# write them ('- **"Backprop is the learning algorithm."** It only computes gradients.').
# Inline items (a passage with its line breaks collapsed) start with ' - "'.
_INLINE_ITEM = re.compile(r"\s+-\s+(?=\**[\"“])")
_MISCONCEPTION = re.compile(
    r"^\**\s*[\"“](?P<belief>[^\"”]{3,300}?)[\"”]\**[.:]?\s+(?P<fact>\S.*)$", re.S
)


def evidence_units(text: str) -> list[str]:
    """The premise as units the judge can be shown one by one: its sentences, except that a
    misconception item stays whole and says what it is. Split into sentences, the quoted
    false belief reads like a statement of fact, and the small judge then backs a claim that
    repeats it (its most common error on our notes before this, 2026-12-06)."""
    units: list[str] = []
    plain: list[str] = []
    for line in text.splitlines():
        for piece in _INLINE_ITEM.split(line):
            item = _MISCONCEPTION.match(re.sub(r"^\s*[-*+]\s+", "", piece).strip())
            if item is None:
                plain.append(piece)
                continue
            units.extend(sentences("\n".join(plain)))
            plain = []
            fact = " ".join(item["fact"].split())
            units.append(f'Misconception (false): "{item["belief"].strip()}" Correction: {fact}')
    units.extend(sentences("\n".join(plain)))
    return units


# --- the lexical smoke judge -----------------------------------------------------------


class LexicalJudge:
    """Supported when most of the claim's content words and all its numbers occur in the
    premise. Near chance on paraphrases and near misses: a smoke option, never a result."""

    name = "lexical"

    def __init__(self, min_coverage: float = 0.6):
        self.min_coverage = min_coverage
        self.threshold = self.fact_threshold = 0.5

    def support(self, premise: str, claim: str) -> float:
        claim_terms = terms(claim)
        if not claim_terms or not numbers(claim) <= numbers(premise):
            return 0.0
        coverage = len(claim_terms & terms(premise)) / len(claim_terms)
        return 1.0 if coverage >= self.min_coverage else 0.0

    def entails(self, premise: str, claim: str) -> bool:
        return self.support(premise, claim) >= self.threshold

    def states(self, answer: str, fact: str) -> bool:
        return states(self, answer, fact)


# --- the LLM judge ---------------------------------------------------------------------


@dataclass(frozen=True)
class JudgePrompt:
    """One way of asking the judge model; P(yes) is the claim's support."""

    name: str
    system: str
    user: str

    def messages(self, evidence: str, claim: str) -> list[dict]:
        return [
            {"role": "system", "content": self.system},
            {"role": "user", "content": self.user.format(evidence=evidence, claim=claim)},
        ]


# The first judge prompt (support-v2): a bare instruction.
PLAIN = JudgePrompt(
    "plain",
    system=(
        "You are a strict fact checker. You get evidence and a claim. Answer yes only if the "
        "evidence states or directly implies everything in the claim: the same numbers, names, "
        "and direction (not, only, always, more, less). Answer no if any part of the claim is "
        "missing from the evidence, contradicts it, or adds detail it does not give. Reply with "
        "one word: yes or no."
    ),
    user="Evidence:\n{evidence}\n\nClaim: {claim}\n\nDoes the evidence support the claim?",
)

# A rubric of the errors we see (changed figures, a property moved to a neighbouring thing,
# flipped negations, added facts) and five worked examples of our own. It sits in the system
# prompt, so llama.cpp keeps it in the KV cache and it costs nothing per claim.
RUBRIC = JudgePrompt(
    "rubric",
    system=(
        "You check whether a claim is backed by evidence. Compare them piece by piece:\n"
        "- Numbers, names, model or method names must match the evidence exactly.\n"
        "- Each property the claim gives must be stated for the same thing in the evidence, "
        "not for something else mentioned nearby.\n"
        "- Negations and words like only, always, never, more, less must agree.\n"
        "- Saying the same thing in other words is fine; adding facts the evidence lacks is "
        "not.\n"
        "Reply with one word: yes if the evidence backs every part of the claim, otherwise no."
        "\n\nExamples:\n"
        "Evidence: Dropout randomly zeroes activations during training and is turned off at "
        "test time.\nClaim: At inference time dropout is disabled.\nAnswer: yes\n\n"
        "Evidence: The base model was trained for 100,000 steps on 8 GPUs.\n"
        "Claim: The base model was trained for 300,000 steps.\nAnswer: no\n\n"
        "Evidence: Layer normalization normalizes over the features of each example; batch "
        "normalization normalizes each feature over the batch.\n"
        "Claim: Layer normalization computes its statistics across the batch.\nAnswer: no\n\n"
        "Evidence: LoRA freezes the pretrained weights and trains two small low-rank "
        "matrices.\nClaim: LoRA trains low-rank matrices and also cuts inference latency by "
        "half.\nAnswer: no\n\n"
        "Evidence: A VAE's encoder outputs a mean and a variance for each latent dimension.\n"
        "Claim: For every latent dimension, the encoder of a variational autoencoder predicts "
        "a mean and a variance.\nAnswer: yes"
    ),
    user="Evidence: {evidence}\nClaim: {claim}\nAnswer:",
)

# Chosen on the tuning half alone by the rule in evals/tools/compare_judge_prompts.py
# (docs/evals.md#judges). On the 408 labelled pairs of 2026-12-07 the three variants tie
# there (plain 0.775, rubric 0.776, both averaged 0.778), and the plain prompt is best on
# the tutor's own sentences (0.836 against 0.826 and 0.795), the claims the eval judges.
# One model call per claim.
DEFAULT_PROMPTS = (PLAIN,)


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def _sigmoid(x: float) -> float:
    return 1 / (1 + math.exp(-x))


class VerdictCache:
    """(judge, evidence, claim) -> score on disk, one JSON line each, shared across runs so a
    rerun judges only what it has not judged before."""

    def __init__(self, path: Path | None):
        self.path = path
        self.scores: dict[str, float] = {}
        if path and path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    row = json.loads(line)
                    self.scores[row["k"]] = float(row["p"])
                except (ValueError, KeyError, TypeError):
                    continue  # a line cut by an interrupt

    @staticmethod
    def key(*parts: str) -> str:
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]

    def get(self, key: str) -> float | None:
        return self.scores.get(key)

    def put(self, key: str, score: float) -> None:
        self.scores[key] = score
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(json.dumps({"k": key, "p": round(score, 6)}) + "\n")


class LLMJudge:
    """A chat model's probability that the claim is backed by its best-matching evidence."""

    def __init__(
        self,
        llm: LLMBackend,
        embed: Callable[[list[str]], object] | None = None,
        cache: VerdictCache | None = None,
        evidence_sentences: int = 3,
        number_veto: bool = True,
        prompts: tuple[JudgePrompt, ...] | None = None,
    ):
        self.llm = llm
        self.embed = embed  # texts -> normalised embeddings (rows); None = whole premise
        self.cache = cache or VerdictCache(None)
        self.evidence_sentences = evidence_sentences
        self.number_veto = number_veto
        # Several prompts are asked in turn and their log-odds averaged (DEFAULT_PROMPTS).
        self.prompts = prompts or DEFAULT_PROMPTS
        self.name = f"llm:{llm.model_id}:" + "+".join(q.name for q in self.prompts)
        self.threshold = self.fact_threshold = 0.5
        self._vectors: dict[str, object] = {}

    def vectors(self, texts: list[str]) -> list:
        """The texts' embeddings, each text embedded once per judge: every claim of an answer
        is judged against the same passages, whose units would otherwise be embedded again
        for each claim."""
        if len(self._vectors) > 100_000:  # a bound on memory over a long run
            self._vectors.clear()
        missing = [t for t in dict.fromkeys(texts) if t not in self._vectors]
        if missing:
            self._vectors.update(zip(missing, self.embed(missing), strict=True))
        return [self._vectors[t] for t in texts]

    def evidence(self, premise: str, claim: str) -> str:
        """The premise's sentences (or misconception items) most similar to the claim (at
        most `evidence_sentences`), in their original order."""
        parts = evidence_units(premise)
        if self.embed is None or len(parts) <= self.evidence_sentences:
            return "\n".join(parts) or premise
        claim_vec, *part_vecs = self.vectors([claim, *parts])
        similarity = [float(v @ claim_vec) for v in part_vecs]
        best = sorted(range(len(parts)), key=lambda i: -similarity[i])[: self.evidence_sentences]
        return " ".join(parts[i] for i in sorted(best))

    def asked(self, prompt: JudgePrompt, evidence: str, claim: str) -> float:
        """P(yes) under one prompt, cached by that prompt alone, so a combination of
        prompts reuses the verdicts each was given on its own."""
        name = f"llm:{self.llm.model_id}:{prompt.name}"
        key = VerdictCache.key(JUDGE_VERSION, name, evidence, claim)
        cached = self.cache.get(key)
        if cached is not None:
            return cached
        p = self.llm.yes_probability(prompt.messages(evidence, claim))
        self.cache.put(key, p)
        return p

    def yes_probability(self, evidence: str, claim: str) -> float:
        odds = [_logit(self.asked(prompt, evidence, claim)) for prompt in self.prompts]
        return _sigmoid(sum(odds) / len(odds))

    def support(self, premise: str, claim: str) -> float:
        evidence = self.evidence(premise, claim)
        p = self.yes_probability(evidence, claim)
        # A number the evidence never mentions is an invented detail, whatever the model
        # says; small judges overlook changed figures more than anything else.
        if self.number_veto and not numbers(claim) <= numbers(premise):
            p *= 0.1
        return p

    def entails(self, premise: str, claim: str) -> bool:
        return self.support(premise, claim) >= self.threshold

    def states(self, answer: str, fact: str) -> bool:
        return states(self, answer, fact)


def check_judge_choice(judge: str, judge_model: str | None) -> None:
    """Refuse a judge that cannot be made, before anything slow is loaded.

    >>> check_judge_choice("nope", None)
    Traceback (most recent call last):
    ...
    tutor.errors.BadInputError: Unknown judge 'nope'. Use local, a server URL or lexical.
    """
    if judge.startswith(("http://", "https://")) and not judge_model:
        raise BadInputError("--judge URL needs --judge-model NAME.")
    if judge not in ("lexical", "local") and not judge.startswith(("http://", "https://")):
        raise BadInputError(f"Unknown judge '{judge}'. Use local, a server URL or lexical.")


def make_judge(settings, judge: str = "local", judge_model: str | None = None) -> Judge:
    """The judge named on the command line: 'local' (the calibrated llama.cpp judge), an
    OpenAI-compatible server's URL (with `judge_model`), or 'lexical'. LLM verdicts are cached
    in the data directory, one file per judge model."""
    from tutor.embed import Embedder
    from tutor.llm import make_backend

    check_judge_choice(judge, judge_model)
    if judge == "lexical":
        return LexicalJudge()
    if judge == "local":
        chosen = settings.model_copy(
            update={
                "llm_backend": "llamacpp",
                "llm_model": judge_model or DEFAULT_JUDGE_MODEL,
                # The judge reads short prompts; a small context saves memory.
                "llm_context_tokens": 2048,
            }
        )
    else:  # a server's URL
        chosen = settings.model_copy(
            update={"llm_backend": "openai", "llm_base_url": judge, "llm_model": judge_model}
        )
    llm = make_backend(chosen)
    cache_name = "".join(c if c.isalnum() else "-" for c in llm.model_id)[:80]
    cache = VerdictCache(settings.data_dir / "eval-cache" / f"judge-{cache_name}.jsonl")
    return LLMJudge(llm, Embedder(settings.embed_model, settings.embed_precision).embed, cache)


# --- calibration -----------------------------------------------------------------------


def best_threshold(scored: list[tuple[float, bool]]) -> float:
    """The threshold with the highest balanced accuracy on (score, label) pairs; ties go to
    the middle of the best run, so the choice does not hug one pair's score."""
    values = sorted({s for s, _ in scored})
    candidates = [0.5] + [(a + b) / 2 for a, b in zip(values, values[1:], strict=False)]
    labels = [lab for _, lab in scored]

    def ba(t: float) -> float:
        return balanced_accuracy(labels, [s >= t for s, _ in scored]) or 0.0

    best = max(ba(t) for t in candidates)
    winners = sorted(t for t in candidates if ba(t) == best)
    return winners[len(winners) // 2]


def _ba(rows: list[tuple[float, bool]], threshold: float) -> float | None:
    if not rows:
        return None
    return balanced_accuracy([lab for _, lab in rows], [s >= threshold for s, _ in rows])


def bootstrap_interval(
    rows: list[tuple[float, bool]], threshold: float, resamples: int = 2000, seed: int = 0
) -> list[float] | None:
    """A 95% percentile-bootstrap interval for balanced accuracy on (score, label) rows
    (fixed seed, so a report is reproducible): 159 pairs pin it down to about +-0.07."""
    if not rows:
        return None
    rng = random.Random(seed)
    values = []
    for _ in range(resamples):
        sample = rng.choices(rows, k=len(rows))
        ba = _ba(sample, threshold)
        if ba is not None:
            values.append(ba)
    values.sort()
    return [
        round(values[int(0.025 * len(values))], 4),
        round(values[int(0.975 * len(values)) - 1], 4),
    ]


def format_accuracy(value: float) -> str:
    """Three decimals, or four when three would round it onto the floor from below (0.74991
    is not 0.750 when the floor is 0.75).

    >>> format_accuracy(0.74), format_accuracy(0.74991), format_accuracy(0.7512)
    ('0.740', '0.7499', '0.751')
    """
    shown = f"{value:.3f}"
    return f"{value:.4f}" if value < JUDGE_FLOOR <= float(shown) else shown


def describe_accuracy(result: dict) -> str:
    """'0.740 (95% CI 0.67-0.81)', or 'unmeasured': one wording for the CLI and reports."""
    accuracy = result.get("balanced_accuracy")
    if accuracy is None:
        return "unmeasured"
    interval = result.get("ci95")
    return format_accuracy(accuracy) + (
        f" (95% CI {interval[0]:.2f}-{interval[1]:.2f})" if interval else ""
    )


def on_answers(result: dict) -> str:
    """'; 0.798 on the tutor's own sentences' when the calibration had such pairs."""
    answers = result.get("test_by_origin", {}).get("answer", {}).get("balanced_accuracy")
    return "" if answers is None else f"; {format_accuracy(answers)} on the tutor's own sentences"


def shortfall(result: dict) -> str:
    """' on the test half and on ...': where a judge fell below its floor ('' for older
    results that did not record it)."""
    below = result.get("below_floor_on") or []
    return f" on {' and on '.join(below)}" if below else ""


def calibrate(judge: Judge, pairs: list[dict], progress=None) -> dict:
    """Score every labelled pair, fit the judge's threshold on the tune half, and report its
    balanced accuracy on the test half (the figure that decides whether it may be used)."""
    scored: list[tuple[dict, float]] = []
    for i, pair in enumerate(pairs, 1):
        scored.append((pair, judge.support(pair["passage"], pair["claim"])))
        if progress:
            progress(i, len(pairs))
    tune = [(s, bool(p["supported"])) for p, s in scored if p.get("split") == "tune"]
    test = [(s, bool(p["supported"])) for p, s in scored if p.get("split") != "tune"]
    judge.threshold = best_threshold(tune) if tune else judge.threshold
    test_ba = _ba(test, judge.threshold)
    by_origin = {}
    for origin in sorted({p.get("origin", "written") for p, _ in scored}):
        rows = [
            (s, bool(p["supported"]))
            for p, s in scored
            if p.get("split") != "tune" and p.get("origin", "written") == origin
        ]
        by_origin[origin] = {"pairs": len(rows), "balanced_accuracy": _ba(rows, judge.threshold)}
    wrong = [p["id"] for p, s in scored if (s >= judge.threshold) != bool(p["supported"])]
    # The floor holds on the whole test half and on the tutor's own sentences in it: those
    # are the claims the eval's metrics judge, and a judge can clear the floor on the half
    # by the written pairs while missing unbacked answer sentences (2026-12-07, docs/evals.md).
    floors = {"the test half": test_ba}
    if "answer" in by_origin:
        floors["the tutor's own sentences"] = by_origin["answer"]["balanced_accuracy"]
    below = [name for name, ba in floors.items() if ba is None or ba < JUDGE_FLOOR]
    return {
        "judge": judge.name,
        "version": JUDGE_VERSION,
        "pairs": len(pairs),
        "tune_pairs": len(tune),
        "test_pairs": len(test),
        "threshold": round(judge.threshold, 4),
        "balanced_accuracy": test_ba,  # on the test half
        "ci95": bootstrap_interval(test, judge.threshold),
        "tune_balanced_accuracy": _ba(tune, judge.threshold),
        "test_by_origin": by_origin,
        "floor": JUDGE_FLOOR,
        "below_floor_on": below,
        "low_confidence": bool(below),
        "wrong": wrong,
    }


def calibrate_facts(judge: Judge, pairs: list[dict], progress=None) -> dict:
    """The same fit for the judge's other question, "does this answer state this key fact?"
    (key-fact recall, premise correction, quiz answer leaks): its own threshold from the
    tune half of the labelled pairs, its balanced accuracy on the test half. A terse fact
    checked against a whole answer is not a sentence checked against a passage, and the
    claim threshold read it too strictly (2026-12-07, docs/evals.md)."""
    scored: list[tuple[dict, float]] = []
    for i, pair in enumerate(pairs, 1):
        scored.append((pair, judge.support(_CITATION.sub("", pair["answer"]), pair["fact"])))
        if progress:
            progress(i, len(pairs))
    tune = [(s, bool(p["stated"])) for p, s in scored if p.get("split") == "tune"]
    test = [(s, bool(p["stated"])) for p, s in scored if p.get("split") != "tune"]
    judge.fact_threshold = best_threshold(tune) if tune else judge.threshold
    test_ba = _ba(test, judge.fact_threshold)
    return {
        "pairs": len(pairs),
        "tune_pairs": len(tune),
        "test_pairs": len(test),
        "threshold": round(judge.fact_threshold, 4),
        "balanced_accuracy": test_ba,
        "ci95": bootstrap_interval(test, judge.fact_threshold),
        "tune_balanced_accuracy": _ba(tune, judge.fact_threshold),
        # Read with the claim threshold, as every run before this calibration did.
        "balanced_accuracy_at_claim_threshold": _ba(test, judge.threshold),
        "floor": JUDGE_FLOOR,
        "low_confidence": test_ba is None or test_ba < JUDGE_FLOOR,
        "wrong": [p["id"] for p, s in scored if (s >= judge.fact_threshold) != bool(p["stated"])],
    }
