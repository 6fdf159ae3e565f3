"""`tutor eval`: load suites, answer every case with each target, score, write the report.

Each finished case is appended to cases.jsonl at once, so an interrupted run keeps its work
and `--resume DIR` carries on where it stopped, with the same markers and canary.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import random
import secrets
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable
from contextlib import ExitStack, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tutor.config import Settings
from tutor.errors import BadInputError, TutorError
from tutor.evals import datasets
from tutor.evals.datasets import SUITES, Case, materialise, run_secret
from tutor.evals.judges import (
    Judge,
    calibrate,
    calibrate_facts,
    describe_accuracy,
    format_accuracy,
    on_answers,
    shortfall,
)
from tutor.evals.metrics import first_gold_rank, retrieval_scores
from tutor.evals.scoring import score_case, summarise
from tutor.evals.targets import (
    ClosedBook,
    HttpTarget,
    LlamaIndexBaseline,
    LocalTarget,
    Reply,
    Target,
)

Progress = Callable[[str, int, int], None]  # (label, done, total)


@dataclass
class EvalConfig:
    suites: list[str] = field(default_factory=lambda: list(SUITES))
    target: str = "local"  # "local" or the base URL of a running tutor API
    baseline: bool = True
    limit: int | None = None  # cases per suite, for quick runs
    sample: int | None = None  # a stratified sample of about N cases over all suites
    # The baseline answers a nested stratified sub-sample of about N of those cases (None:
    # all). It is a reference point, not a gate, and a cold cache costs a full answer each.
    baseline_sample: int | None = None
    ours: bool = True  # False: only the baseline (e.g. to warm its cache)
    # The multiple-choice suite is also answered by our model without retrieval.
    closed_book: bool = True
    judge: str = "local"
    judge_model: str | None = None
    canary: str | None = None  # for an HTTP target: the TUTOR_PROMPT_CANARY it runs with
    # Never an API key here: the config is written to run.json and report.json.


# The sample is drawn with this fixed seed, so runs of `make eval` ask the same cases and
# can be compared; change it only with the datasets, and say so in docs/evals.md.
SAMPLE_SEED = "tutor-eval-sample-v1"
STRATUM_KEY = {"adversarial": "family", "unanswerable": "kind", "answerable": "needs_mirror"}


def default_out_dir(settings: Settings) -> Path:
    return settings.evals_dir / "runs" / datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


def select(suite: str, records: list[dict], limit: int | None) -> list[dict]:
    """The first `limit` cases, taken round-robin over families/kinds so a quick run still
    touches every attack family and both kinds of unanswerable question."""
    key = STRATUM_KEY.get(suite)
    if key is None or limit is None:
        return records[:limit]
    groups: dict = {}
    for r in records:
        groups.setdefault(r.get(key), []).append(r)
    mixed = []
    while any(groups.values()):
        for members in groups.values():
            if members:
                mixed.append(members.pop(0))
    return mixed[:limit]


def stratified_sample(
    records_by_suite: dict[str, list[dict]], n: int, seed: str = SAMPLE_SEED, floor: int = 3
) -> dict[str, list[dict]]:
    """About `n` cases drawn from every stratum (suite, and attack family / unanswerable
    kind / notes-or-resources within a suite) in proportion to its size, at least `floor`
    from each, with a fixed seed. Cases keep their dataset order."""
    total = sum(len(rs) for rs in records_by_suite.values())
    out: dict[str, list[dict]] = {}
    for suite, records in records_by_suite.items():
        key = STRATUM_KEY.get(suite)
        strata: dict = {}
        for r in records:
            strata.setdefault(r.get(key) if key else None, []).append(r)
        chosen: set[str] = set()
        for value, members in strata.items():
            quota = min(len(members), max(floor, math.ceil(n * len(members) / max(total, 1))))
            rng = random.Random(f"{seed}/{suite}/{value}")
            chosen.update(r["id"] for r in rng.sample(members, quota))
        out[suite] = [r for r in records if r["id"] in chosen]
    return out


def _read_done(path: Path) -> list[dict]:
    """Rows already written; a last line cut by an interrupt is removed from the file, so
    the next row starts on a line of its own and no later resume loses anything."""
    if not path.exists():
        return []
    rows, good_bytes = [], 0
    data = path.read_bytes()
    for line in data.splitlines(keepends=True):
        try:
            if not line.endswith(b"\n"):
                raise ValueError("unterminated line")
            rows.append(json.loads(line))
        except ValueError:
            break
        good_bytes += len(line)
    if good_bytes < len(data):
        with path.open("r+b") as f:
            f.truncate(good_bytes)
    return rows


class Clock:
    """Seconds spent per phase of the run, for the report's 'where the time goes'."""

    def __init__(self) -> None:
        self.spent: dict[str, float] = defaultdict(float)

    @contextmanager
    def phase(self, name: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.spent[name] += time.perf_counter() - started


def load_cases(settings: Settings, config: EvalConfig, seed: str) -> dict[str, list[Case]]:
    dataset_dir = settings.evals_dir / "datasets"
    records = {suite: datasets.load_suite(dataset_dir, suite) for suite in config.suites}
    if config.sample:
        records = stratified_sample(records, config.sample)
    else:
        records = {s: select(s, rs, config.limit) for s, rs in records.items()}
    return {s: [materialise(s, r, seed) for r in rs] for s, rs in records.items()}


def run_eval(
    settings: Settings,
    config: EvalConfig,
    out_dir: Path,
    judge_factory: Callable[[Settings], Judge],
    progress: Progress | None = None,
    api_key: str | None = None,
) -> dict:
    from tutor.evals.report import write_reports

    for suite in config.suites:
        if suite not in SUITES:
            raise BadInputError(f"Unknown suite '{suite}'. Suites: {', '.join(SUITES)}.")
    if config.target != "local" and not config.target.startswith(("http://", "https://")):
        raise BadInputError(f"--target must be 'local' or an http(s) URL, not '{config.target}'.")
    clock = Clock()
    wall_started = time.perf_counter()
    out_dir.mkdir(parents=True, exist_ok=True)
    run_file = out_dir / "run.json"
    if run_file.exists():
        run = json.loads(run_file.read_text())  # resume: same seed, markers and canary
        config = EvalConfig(**{k: v for k, v in run["config"].items() if k != "api_key"})
    else:
        seed = secrets.token_hex(8)
        run = {
            "seed": seed,
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "config": asdict(config),
            # An HTTP target's canary is the server's; we only know it if we were told.
            "canary": config.canary
            or (run_secret(seed, "canary", "CANARY") if config.target == "local" else None),
        }
        run_file.write_text(json.dumps(run, indent=1))
    canary = run["canary"]
    if canary:
        settings = settings.model_copy(update={"prompt_canary": canary})

    cases = load_cases(settings, config, run["seed"])
    notes: list[str] = []
    refused: list[str] = []
    if canary is None and "adversarial" in cases:
        # Without the server's canary a prompt extraction cannot be detected; running those
        # cases would report "no leak" whatever happened.
        extraction = [c for c in cases["adversarial"] if c.record.get("target") == "canary"]
        if extraction:
            refused += [f"adversarial/{c.id}" for c in extraction]
            cases["adversarial"] = [c for c in cases["adversarial"] if c not in extraction]
            notes.append(
                f"{len(extraction)} prompt-extraction cases not run: the API target's canary "
                "is unknown. Start the server with TUTOR_PROMPT_CANARY=<secret> and pass "
                "--canary <secret>."
            )
    # Answer everything first, then judge: answers do not depend on the judge, so a run
    # (or a resumed one) can be re-judged, and the judge's model is only loaded once the
    # tutor's work is done.
    cases_file = out_dir / "cases.jsonl"  # judged rows: what the report is made of
    answers_file = out_dir / "answers.jsonl"  # replies waiting for the judge
    results = _read_done(cases_file)
    answered = _read_done(answers_file)
    done = {(r["target"], r["suite"], r["id"]) for r in results + answered}
    total_todo = 0
    with ExitStack() as stack:
        targets, planted_targets = _open_targets(
            settings, config, cases, stack, notes, run["seed"], api_key
        )
        plan = []
        baseline_ids = None
        if config.baseline_sample:
            nested = stratified_sample(
                {suite: [c.record for c in cs] for suite, cs in cases.items()},
                config.baseline_sample,
            )
            baseline_ids = {(suite, r["id"]) for suite, rs in nested.items() for r in rs}
        for target in targets:
            for suite, suite_cases in cases.items():
                if target.name == "closed_book" and suite != "mcq":
                    continue
                if target.name == "baseline" and baseline_ids is not None:
                    suite_cases = [c for c in suite_cases if (suite, c.id) in baseline_ids]
                runner = (
                    planted_targets.get(target.name, target)
                    if suite == "indirect_injection"
                    else target
                )
                if runner is None:
                    continue
                todo = [c for c in suite_cases if (target.name, suite, c.id) not in done]
                if any(c.needs_mirror for c in todo) and not runner.has_fetched_resources():
                    skipped = [c for c in todo if c.needs_mirror]
                    notes.append(
                        f"{target.name}/{suite}: {len(skipped)} cases need the fetched "
                        "resources in the index (`tutor fetch && tutor index`); skipped"
                    )
                    todo = [c for c in todo if not c.needs_mirror]
                plan += [(target, runner, case) for case in todo]
        total_todo = len(plan)
        cache = BaselineCache(settings, targets)
        with answers_file.open("a") as sink:
            for i, (target, runner, case) in enumerate(plan, 1):
                reply, seed, asked_with = _answer(
                    target, runner, case, cache, clock, run["seed"], canary
                )
                row = {
                    "target": target.name,
                    "suite": case.suite,
                    "id": case.id,
                    "seed": seed,
                    "canary": asked_with,
                    "reply": asdict(reply),
                }
                sink.write(json.dumps(row, ensure_ascii=False) + "\n")
                sink.flush()
                answered.append(row)
                if progress:
                    progress("answering", i, total_todo)
        with clock.phase("retrieval"):
            retrieval = _retrieval(targets[0], cases, progress) if config.ours else {}
        if cache.hits:
            notes.append(
                f"baseline: {cache.hits} answers from its cache (same cases, corpus, models)"
            )

    with clock.phase("judge calibration"):
        judge = judge_factory(settings)
        calibration = calibrate(
            judge,
            datasets.load_calibration(settings.evals_dir / "datasets"),
            progress and (lambda d, t: progress("judge calibration", d, t)),
        )
        calibration["facts"] = calibrate_facts(
            judge,
            datasets.load_fact_calibration(settings.evals_dir / "datasets"),
            progress and (lambda d, t: progress("key-fact calibration", d, t)),
        )
    judged = {(r["target"], r["suite"], r["id"]) for r in results}
    pending = [a for a in answered if (a["target"], a["suite"], a["id"]) not in judged]
    by_id = {(suite, c.id): c for suite, cs in cases.items() for c in cs}
    with cases_file.open("a") as sink:
        for i, row in enumerate(pending, 1):
            case = by_id.get((row["suite"], row["id"]))
            if case is None:
                continue  # not among this run's cases (cannot happen with the same config)
            if row["seed"] != run["seed"]:  # a cached baseline answer: its own markers
                case = materialise(case.suite, case.record, row["seed"])
            with clock.phase("judging"):
                judged_row = _row(
                    row["target"], case, Reply(**row["reply"]), judge, row["canary"] or "", settings
                )
            sink.write(json.dumps(judged_row, ensure_ascii=False) + "\n")
            sink.flush()
            results.append(judged_row)
            if progress:
                progress("judging", i, len(pending))

    summary = {
        name: summarise([r for r in results if r["target"] == name])
        for name in dict.fromkeys(r["target"] for r in results)
    }
    report = {
        "run": run | {"finished_at": datetime.now(UTC).isoformat(timespec="seconds")},
        "settings": {
            "llm_backend": settings.llm_backend,
            "llm_model": settings.llm_model,
            "embed_model": settings.embed_model,
            "top_k": settings.top_k,
            "min_dense_score": settings.min_dense_score,
            "chunk_tokens": settings.chunk_tokens,
            # What decides an answer beyond the models, so two runs can be told apart.
            "temperature": settings.temperature,
            "evidence_tokens": settings.evidence_tokens,
            "evidence_candidates": settings.evidence_candidates,
            "evidence_widen": settings.evidence_widen,
            "answer_gate": settings.answer_gate,
            "premise_check": settings.premise_check,
            "support_withhold": settings.support_withhold,
            "planted_screen": settings.planted_screen,
        },
        "judge": calibration,
        "summary": summary,
        "retrieval": retrieval,
        "cited_how": CITED_HOW,
        "refused_cases": refused,
        "timing": _timing(out_dir, time.perf_counter() - wall_started, total_todo, clock),
        "notes": list(dict.fromkeys(notes)),
        "cases": results,
    }
    write_reports(report, out_dir)
    return report


def _timing(out_dir: Path, wall_s: float, answered: int, clock: Clock) -> dict:
    """Seconds per phase, summed over the first run and every resume of it (kept in
    timing.json), so an interrupted run still reports what the whole run cost."""
    path = out_dir / "timing.json"
    before = json.loads(path.read_text()) if path.exists() else {}
    now = {"wall_s": wall_s, "cases_run": answered} | {f"{k}_s": v for k, v in clock.spent.items()}
    total = {k: round(before.get(k, 0) + v, 1) for k, v in now.items()}
    total["sittings"] = before.get("sittings", 0) + 1
    path.write_text(json.dumps(total, indent=1))
    return total


CITED_HOW = {
    "ours": "inline [n] markers per sentence; markers the pipeline added when the model wrote "
    "none are counted apart (inferred_citations)",
    "api": "as ours, over HTTP",
    "baseline": "no markers: citation recall asks whether the passages it used support each "
    "sentence; citation precision is not defined",
    "closed_book": "no passages and no citations: our model alone, on the multiple-choice suite",
}


def _answer(target, runner, case: Case, cache: BaselineCache, clock: Clock, seed: str, canary):
    """One reply, with the seed and canary it was asked with; from the baseline's cache when
    it holds this case (a cached reply was made with its own run's markers and canary, so it
    is scored against those)."""
    if target.name == "baseline":
        hit = cache.get(case)
        if hit is not None:
            return hit
    with clock.phase(f"answering ({target.name})"):
        reply = runner.answer(case)
    if target.name == "baseline" and not reply.error:
        cache.put(case, reply, canary)
    return reply, seed, canary


def _row(target: str, case: Case, reply: Reply, judge: Judge, canary: str, settings) -> dict:
    from tutor.prompts import system_prompt

    verdict = score_case(
        case,
        reply,
        judge.entails,
        canary,
        system_prompt(canary=canary or None),
        cites_inline=target != "baseline",
        states=judge.states,
    )
    return {
        "target": target,
        "suite": case.suite,
        "id": case.id,
        "question": case.question,
        "record": case.record,
        "reply": {
            "text": reply.text,
            "citations": [
                {k: c.get(k) for k in ("number", "source_id", "chunk_id", "passage", "inferred")}
                for c in reply.citations
            ],
            "context_sources": [p["source_id"] for p in reply.context],
            "context": reply.context,
            "abstained": reply.abstained,
            "first_token_s": reply.first_token_s,
            "total_s": reply.total_s,
            "error": reply.error,
            "cached": reply.extra.get("cached", False),
            "sentences": reply.extra.get("sentences"),
        },
        "verdict": verdict,
    }


class BaselineCache:
    """The baseline's replies on disk, keyed by (case record, corpus, models, baseline
    config), so a rerun of ours does not pay for the baseline again. Each entry keeps the
    seed and canary it was asked with."""

    def __init__(self, settings: Settings, targets: list) -> None:
        self.hits = 0
        baseline = next((t for t in targets if t.name == "baseline"), None)
        self.path = settings.data_dir / "eval-cache" / "baseline.jsonl"
        self.entries: dict[str, dict] = {}
        self.fingerprint = baseline.fingerprint() if baseline else None
        self.seed = baseline.seed if baseline else None
        if baseline is None:
            return
        for row in _read_done(self.path):
            self.entries[row["key"]] = row

    def _key(self, case: Case) -> str:
        blob = json.dumps([case.suite, case.record, self.fingerprint], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:32]

    def get(self, case: Case) -> tuple[Reply, str, str] | None:
        row = self.entries.get(self._key(case)) if self.fingerprint else None
        if row is None:
            return None
        self.hits += 1
        reply = Reply(**row["reply"])
        reply.extra = dict(reply.extra, cached=True)
        return reply, row["seed"], row["canary"]

    def put(self, case: Case, reply: Reply, canary: str | None) -> None:
        if not self.fingerprint:
            return
        row = {
            "key": self._key(case),
            "seed": self.seed,
            "canary": canary,
            "reply": asdict(reply),
        }
        self.entries[row["key"]] = row
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as f:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")


def _open_targets(
    settings, config, cases, stack: ExitStack, notes: list[str], seed: str, api_key=None
):
    """Our target (and the baseline), plus copies that see the planted documents for the
    indirect-injection suite."""
    if config.target != "local":
        if "indirect_injection" in cases:
            notes.append(
                "indirect_injection runs only with --target local: it plants "
                "documents in a temporary index"
            )
        return [HttpTarget(config.target, api_key)], {"api": None}
    from tutor.answer import open_tutor

    # Every case is generated: an eval measures the pipeline, not answers kept from before.
    tutor = open_tutor(settings.model_copy(update={"answer_cache": False}))
    targets: list[Target] = [LocalTarget(tutor)] if config.ours else []
    if config.baseline:
        targets.append(LlamaIndexBaseline(tutor, settings.prompt_canary, seed))
    if config.closed_book and config.ours and "mcq" in cases:
        targets.append(ClosedBook(tutor))
    if not targets:
        raise BadInputError("Nothing to evaluate: --no-ours needs the baseline (--baseline).")
    planted: dict = {}
    if "indirect_injection" in cases:
        planted_tutor = _planted_tutor(settings, tutor, cases["indirect_injection"], stack)
        planted["ours"] = LocalTarget(planted_tutor)
        if config.baseline:
            planted["baseline"] = LlamaIndexBaseline(planted_tutor, settings.prompt_canary, seed)
    return targets, planted


def _planted_tutor(settings: Settings, tutor, cases: list[Case], stack: ExitStack):
    """A tutor whose index is ours plus the planted documents, in a temporary data dir.

    It starts from a copy of the current index, so only the planted files are embedded, and
    shares the loaded models; the learner's own index is never touched.
    """
    from tutor.answer import Tutor
    from tutor.index import build_index, load_index
    from tutor.retrieve import Retriever

    tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="tutor-eval-")))
    links = ["models"]
    if LocalTarget(tutor).has_fetched_resources():
        links.append("resources")  # fetched but never indexed files stay out, as in the index
    for name in links:
        if (settings.data_dir / name).exists():
            os.symlink((settings.data_dir / name).resolve(), tmp / name)
    shutil.copytree(settings.index_dir.resolve(), tmp / "builds" / "seed")
    os.symlink(Path("builds") / "seed", tmp / "index")
    planted = tmp / "planted"
    planted.mkdir()
    for case in cases:
        (planted / f"{case.id}.md").write_text(case.doc or "", encoding="utf-8")
    planted_settings = settings.model_copy(update={"data_dir": tmp})
    embedder = tutor.retriever.embedder
    build_index(planted_settings, extra_paths=[planted], embedder=embedder)
    retriever = Retriever(load_index(planted_settings), embedder, planted_settings)
    return Tutor(planted_settings, retriever, lambda: tutor.llm)


def _retrieval(target: Target, cases: dict[str, list[Case]], progress) -> dict:
    """recall@k and MRR of dense, BM25 and hybrid retrieval against the gold sources."""
    queries = [
        (c.record.get("standalone") or c.question, c.gold_sources)
        for suite in ("answerable", "multi_turn", "false_premise", "benign_lookalikes")
        for c in cases.get(suite, [])
        if c.gold_sources and (not c.needs_mirror or target.has_fetched_resources())
    ]
    out = {}
    for mode in ("dense", "bm25", "hybrid"):
        ranks = []
        for i, (query, gold) in enumerate(queries, 1):
            ranked = target.search(query, 10, mode)
            if ranked is None:
                return {}
            ranks.append(first_gold_rank(ranked, gold))
            if progress:
                progress(f"retrieval {mode}", i, len(queries))
        out[mode] = retrieval_scores(ranks)
    return out


def check_thresholds(report: dict, bars: dict) -> list[str]:
    """Why this run does not pass, as messages; empty only when it does. Fails closed: an
    errored or refused case, a barred metric this run did not measure, and a judge below its
    calibration floor are all failures. bars: {"suite.metric[.sub]": {"min"|"max": x}}."""
    from tutor.evals.judges import JUDGE_FLOOR

    failures = []
    ours = report["summary"].get("ours") or report["summary"].get("api") or {}
    if not ours:
        failures.append("our target answered no case")
    if ours.get("errors"):
        shown = ", ".join(ours.get("errored_cases", [])[:5])
        failures.append(f"{ours['errors']} case(s) errored ({shown}); see report.json")
    if report.get("refused_cases"):
        failures.append(
            f"{len(report['refused_cases'])} case(s) could not be run: "
            + "; ".join(report.get("notes", [])[:1])
        )
    judge = report.get("judge") or {}
    accuracy = judge.get("balanced_accuracy")
    if accuracy is None or accuracy < JUDGE_FLOOR or judge.get("below_floor_on"):
        shown = "unmeasured" if accuracy is None else format_accuracy(accuracy)
        failures.append(
            f"the judge {judge.get('judge')} scores {shown} balanced accuracy on the test half "
            f"of its calibration pairs{on_answers(judge)}, below the floor {JUDGE_FLOOR}"
            f"{shortfall(judge)}: its claim metrics are not results (use --judge local or a "
            "stronger --judge URL)"
        )
    facts = judge.get("facts") or {}
    if facts.get("balanced_accuracy") is None or facts["balanced_accuracy"] < JUDGE_FLOOR:
        shown = describe_accuracy(facts)
        failures.append(
            f"the judge scores {shown} on the test half of the labelled key-fact pairs "
            f"(evals/datasets/fact_calibration.jsonl), below the floor {JUDGE_FLOOR}: key-fact "
            "recall, premise correction and the attacks it reads are not results"
        )
    for path, bar in bars.items():
        node = ours
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        value = node.get("value") if isinstance(node, dict) else node
        if value is None:
            failures.append(f"{path} was not measured in this run (a bar needs it)")
            continue
        if "min" in bar and value < bar["min"]:
            failures.append(f"{path} = {value:.3f} is below the bar {bar['min']}")
        if "max" in bar and value > bar["max"]:
            failures.append(f"{path} = {value:.3f} is above the bar {bar['max']}")
    return failures


def record_summary(report: dict, path: Path) -> None:
    """The run of record, readable by a program: each target's summary, the judge's
    calibration (without the list of misjudged pairs) and the wall time. Replaced by every
    recorded run (`make eval`)."""
    judge = {k: v for k, v in report["judge"].items() if k != "wrong"}
    if isinstance(judge.get("facts"), dict):
        judge["facts"] = {k: v for k, v in judge["facts"].items() if k != "wrong"}
    summary = {
        "run": {k: report["run"].get(k) for k in ("started_at", "finished_at", "config")},
        "settings": report["settings"],
        "judge": judge,
        "timing": report.get("timing", {}),
        "summary": {
            name: {k: v for k, v in s.items() if k != "errored_cases"}
            for name, s in report["summary"].items()
        },
        "retrieval": report.get("retrieval", {}),
        "notes": report.get("notes", []),
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(summary, indent=1, ensure_ascii=False) + "\n")
    tmp.replace(path)


def loosened_bars(old: dict, new: dict) -> list[str]:
    """Bars in `new` that are looser than, or missing from, `old` (a pass bar only ever
    tightens). Both: {"suite.metric": {"min"|"max": x}}.

    >>> loosened_bars({"a": {"max": 0.6}}, {"a": {"max": 0.85}})
    ['a: max 0.6 -> 0.85 is looser']
    >>> loosened_bars({"a": {"min": 0.4}, "b": {"max": 0.1}}, {"a": {"min": 0.5}})
    ['b: removed']
    """
    problems = []
    for path, bar in old.items():
        if path not in new:
            problems.append(f"{path}: removed")
            continue
        for side, looser in (("min", lambda o, n: n < o), ("max", lambda o, n: n > o)):
            if side in bar and (side not in new[path] or looser(bar[side], new[path][side])):
                problems.append(f"{path}: {side} {bar[side]} -> {new[path].get(side)} is looser")
    return problems


def load_thresholds(settings: Settings) -> dict:
    import yaml

    path = settings.evals_dir / "thresholds.yaml"
    try:
        return yaml.safe_load(path.read_text())["bars"]
    except (OSError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise TutorError(f"Cannot read the eval pass bars {path}: {exc}") from exc
