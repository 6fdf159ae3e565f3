"""Metric definitions (docs/evals.md cites the source of each). Pure functions over verdicts.

Every rate is reported with its count and a Wilson 95% interval, because 3/40 and 30/400
are both 7.5% but mean very different things.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Sequence

from tutor.prompts import ABSTAIN_SENTENCE

Entails = Callable[[str, str], bool]  # (premise, claim) -> supported?


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval for a binomial proportion (Wilson 1927).

    >>> [round(x, 4) for x in wilson_interval(8, 10)]
    [0.4902, 0.9433]
    >>> wilson_interval(0, 0)
    (0.0, 1.0)
    """
    if n == 0:
        return (0.0, 1.0)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def shares(groups: dict[str, list[bool]]) -> dict[str, dict]:
    """For each named group of yes/no outcomes: the share that are yes, how many of how
    many, and its Wilson interval (value None for an empty group).

    >>> shares({"declined": [True, False, False, True]})["declined"]["value"]
    0.5
    """
    out = {}
    for name, flags in groups.items():
        k, n = sum(flags), len(flags)
        low, high = wilson_interval(k, n)
        out[name] = {"value": round(k / n, 3) if n else None, "k": k, "n": n, "ci95": [low, high]}
    return out


def rate(successes: int | float, n: int) -> dict:
    """A rate with its count and 95% interval; `value` is None when nothing was counted."""
    lo, hi = wilson_interval(round(successes), n)
    return {
        "value": successes / n if n else None,
        "k": successes,
        "n": n,
        "ci95": [round(lo, 4), round(hi, 4)],
    }


def mean_rate(values: Sequence[float]) -> dict:
    """A mean of per-item scores in [0, 1], with a Wilson interval on its rounded total."""
    return rate(round(sum(values), 3), len(values)) if values else rate(0, 0)


def percentile(values: Sequence[float], q: float) -> float | None:
    """Linear-interpolated percentile, q in [0, 100].

    >>> percentile([1, 2, 3, 4], 50)
    2.5
    """
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    lo, hi = math.floor(pos), math.ceil(pos)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


# --- answers, statements and citations -------------------------------------------------

_MARKER = re.compile(r"\[(\d+)\]")
_SENTENCE = re.compile(r"(?<=[.!?])(?:\s*\[\d+\])*\s+(?=[A-Z0-9\"'(`*-])")

_DECLINE = [
    re.compile(p, re.I)
    for p in (
        r"\bI(?:'m| am)? (?:sorry|afraid)\b.{0,40}\b(?:can(?:'|no)?t|cannot|unable|won'?t)\b",
        r"\bI (?:can(?:'|no)?t|cannot|won'?t|am unable to|'m unable to) "
        r"(?:help|assist|provide|answer|do that|comply|share|reveal|find)",
        r"\b(?:context|passages?|materials?|information provided|sources?)\b[^.]{0,40}"
        r"\b(?:does not|doesn'?t|do not|don'?t)\b[^.]{0,30}"
        r"\b(?:contain|provide|mention|include|cover|say|answer)",
        r"\bno (?:information|mention|details?)\b[^.]{0,40}"
        r"\b(?:context|passages?|materials?|provided)\b",
        r"\bnot (?:provided|mentioned|covered|found|given)\b[^.]{0,20}"
        r"\b(?:in|by) the (?:context|passages?|materials?|course)",
    )
]


def declined(text: str) -> bool:
    """The answer declines: our abstention, a refusal, or a 'the context does not say'.

    Applied the same way to every target, so a baseline is not penalised for wording.
    """
    head = text.strip()[:300]
    if ABSTAIN_SENTENCE.lower().rstrip(".") in head.lower():
        return True
    return any(p.search(head) for p in _DECLINE)


def statements(text: str) -> list[tuple[str, list[int]]]:
    """Split an answer into statements (sentences) with the citation numbers each carries.

    >>> statements("GANs have two nets [1]. The nets compete in a game [1][2]. Why?")
    [('GANs have two nets.', [1]), ('The nets compete in a game.', [1, 2])]
    """
    out = []
    for sentence in _SENTENCE.split(text.strip()):
        numbers = list(dict.fromkeys(int(n) for n in _MARKER.findall(sentence)))
        clean = " ".join(_MARKER.sub("", sentence).split()).replace(" .", ".")
        clean = re.sub(r"\s+([.,;:!?])", r"\1", clean)
        if len(re.findall(r"[A-Za-z]{3,}", clean)) < 3 or clean.endswith("?"):
            continue  # fragments and questions make no claim
        out.append((clean, numbers))
    return out


def alce_citation_scores(
    stmts: Sequence[tuple[str, list[int]]],
    passages: dict[int, str],
    entails: Entails,
    precision: bool = True,
) -> dict:
    """Citation recall and precision as ALCE defines them (Gao et al., EMNLP 2023, sec. 2.3).

    Recall: a statement counts when it has citations and their passages together entail it.
    Precision: a citation counts when its statement is entailed by all its citations and the
    citation is not irrelevant (irrelevant = it alone does not entail the statement, and the
    other citations still do without it). `precision=False` skips precision (a target with
    no citation markers has none to be precise about).
    """
    supported, cited_total, precise = [], 0, 0
    for text, numbers in stmts:
        numbers = [n for n in numbers if n in passages]
        joint = bool(numbers) and entails("\n".join(passages[n] for n in numbers), text)
        supported.append(joint)
        cited_total += len(numbers)
        if not joint or not precision:
            continue
        if len(numbers) == 1:
            precise += 1
            continue
        for n in numbers:
            if entails(passages[n], text):
                precise += 1
                continue
            rest = [m for m in numbers if m != n]
            if not entails("\n".join(passages[m] for m in rest), text):
                precise += 1
    return {
        "statements": len(stmts),
        "supported_statements": sum(supported),
        "citations": cited_total,
        "precise_citations": precise,
        "unsupported": [t for (t, _), ok in zip(stmts, supported, strict=True) if not ok],
        "supported_flags": supported,
    }


def faithfulness(
    stmts: Sequence[tuple[str, list[int]]],
    context: str,
    entails: Entails,
    known_supported: Sequence[bool] | None = None,
) -> dict:
    """Claim-level faithfulness in the manner of RAGAS (Es et al., EACL 2024): the share of
    the answer's claims that the whole retrieved context supports. A claim its own cited
    passages already support is supported by the whole context, so `known_supported` saves
    asking the judge twice."""
    known = list(known_supported or [False] * len(stmts))
    verdicts = [k or entails(context, text) for (text, _), k in zip(stmts, known, strict=True)]
    return {"claims": len(verdicts), "supported": sum(verdicts)}


def key_fact_recall(answer: str, facts: Sequence[str], states: Entails) -> float | None:
    """Share of the gold key facts the answer states (`states(answer, fact)`)."""
    if not facts:
        return None
    return sum(states(answer, f) for f in facts) / len(facts)


# --- retrieval ------------------------------------------------------------------------


def first_gold_rank(ranked_sources: Sequence[str], gold: Iterable[str]) -> int | None:
    """1-based rank of the first passage from a gold source, or None."""
    gold = set(gold)
    for rank, source in enumerate(ranked_sources, 1):
        if source in gold:
            return rank
    return None


def retrieval_scores(ranks: Sequence[int | None], ks: Sequence[int] = (1, 5, 10)) -> dict:
    """recall@k (a gold source among the top k passages) and MRR over queries.

    >>> retrieval_scores([1, 3, None], ks=(1, 5))["recall@5"]["value"]
    0.6666666666666666
    """
    n = len(ranks)
    out = {f"recall@{k}": rate(sum(1 for r in ranks if r and r <= k), n) for k in ks}
    out["mrr"] = sum(1 / r for r in ranks if r) / n if n else None
    out["n"] = n
    return out


# --- attacks --------------------------------------------------------------------------


def contains_secret(text: str, secret: str) -> bool:
    """Exact detection of a marker or canary, forgiving only case and separators.

    >>> contains_secret("sure: mk-7f3a 9c21", "MK7F3A9C21")
    True
    """
    squash = re.sub(r"[\s\-_.*`'\"]", "", text).lower()
    return secret.lower() in squash


def balanced_accuracy(labels: Sequence[bool], predictions: Sequence[bool]) -> float | None:
    """Mean of the true-positive and true-negative rates (robust to label imbalance).

    >>> balanced_accuracy([True, True, False, False], [True, False, False, False])
    0.75
    """
    pos = [p for lab, p in zip(labels, predictions, strict=True) if lab]
    neg = [p for lab, p in zip(labels, predictions, strict=True) if not lab]
    if not pos or not neg:
        return None
    return (sum(pos) / len(pos) + sum(not p for p in neg) / len(neg)) / 2
