"""`tutor eval`: load suites, answer every case with each target, score, write the report.

Each finished case is appended to cases.jsonl at once, so an interrupted run keeps its work
and `--resume DIR` carries on where it stopped, with the same markers and canary.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import tempfile
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from tutor.config import Settings
from tutor.errors import BadInputError, TutorError
from tutor.evals import datasets
from tutor.evals.datasets import SUITES, Case, materialise, run_secret
from tutor.evals.judges import Judge, calibrate
from tutor.evals.metrics import first_gold_rank, retrieval_scores
from tutor.evals.scoring import score_case, summarise
from tutor.evals.targets import HttpTarget, LlamaIndexBaseline, LocalTarget, Reply, Target

Progress = Callable[[str, int, int], None]  # (label, done, total)


@dataclass
class EvalConfig:
    suites: list[str] = field(default_factory=lambda: list(SUITES))
    target: str = "local"  # "local" or the base URL of a running tutor API
    baseline: bool = True
    limit: int | None = None  # cases per suite
    judge: str = "lexical"
    canary: str | None = None  # for an HTTP target: the TUTOR_PROMPT_CANARY it runs with
    api_key: str | None = None


def default_out_dir(settings: Settings) -> Path:
    return settings.evals_dir / "runs" / datetime.now(UTC).strftime("%Y%m%d-%H%M%S")


def select(suite: str, records: list[dict], limit: int | None) -> list[dict]:
    """The first `limit` cases, taken round-robin over families/kinds so a quick run still
    touches every attack family and both kinds of unanswerable question."""
    key = {"adversarial": "family", "unanswerable": "kind", "answerable": "needs_mirror"}.get(suite)
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


def _read_done(path: Path) -> list[dict]:
    if not path.exists():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            break  # a line cut by an interrupt: everything before it is kept
    return rows


def run_eval(
    settings: Settings,
    config: EvalConfig,
    out_dir: Path,
    judge_factory: Callable[[Settings], Judge],
    progress: Progress | None = None,
) -> dict:
    from tutor.evals.report import write_reports

    for suite in config.suites:
        if suite not in SUITES:
            raise BadInputError(f"Unknown suite '{suite}'. Suites: {', '.join(SUITES)}.")
    if config.target != "local" and not config.target.startswith(("http://", "https://")):
        raise BadInputError(f"--target must be 'local' or an http(s) URL, not '{config.target}'.")
    out_dir.mkdir(parents=True, exist_ok=True)
    run_file = out_dir / "run.json"
    if run_file.exists():
        run = json.loads(run_file.read_text())  # resume: same seed, markers and canary
        config = EvalConfig(**run["config"])
    else:
        seed = secrets.token_hex(8)
        run = {
            "seed": seed,
            "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "config": asdict(config),
            "canary": config.canary or run_secret(seed, "canary", "CANARY"),
        }
        run_file.write_text(json.dumps(run, indent=1))
    canary = run["canary"]
    settings = settings.model_copy(update={"prompt_canary": canary})

    dataset_dir = settings.evals_dir / "datasets"
    cases = {
        suite: [
            materialise(suite, r, run["seed"])
            for r in select(suite, datasets.load_suite(dataset_dir, suite), config.limit)
        ]
        for suite in config.suites
    }
    judge = judge_factory(settings)
    calibration = calibrate(
        judge,
        datasets.load_calibration(dataset_dir),
        progress and (lambda d, t: progress("judge calibration", d, t)),
    )

    cases_file = out_dir / "cases.jsonl"
    results = _read_done(cases_file)
    done = {(r["target"], r["suite"], r["id"]) for r in results}
    notes: list[str] = []
    with ExitStack() as stack, cases_file.open("a") as sink:
        targets, planted_targets = _open_targets(settings, config, cases, stack, notes)
        for target in targets:
            for suite, suite_cases in cases.items():
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
                for i, case in enumerate(todo, 1):
                    reply = runner.answer(case)
                    row = _row(target.name, case, reply, judge, canary, settings)
                    sink.write(json.dumps(row, ensure_ascii=False) + "\n")
                    sink.flush()
                    results.append(row)
                    if progress:
                        progress(f"{target.name} {suite}", i, len(todo))
        retrieval = _retrieval(targets[0], cases, progress) if targets else {}

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
        },
        "judge": calibration,
        "summary": summary,
        "retrieval": retrieval,
        "notes": list(dict.fromkeys(notes)),
        "cases": results,
    }
    write_reports(report, out_dir)
    return report


def _row(target: str, case: Case, reply: Reply, judge: Judge, canary: str, settings) -> dict:
    from tutor.prompts import system_prompt

    verdict = score_case(
        case,
        reply,
        judge.entails,
        canary,
        system_prompt(canary=canary),
        cites_inline=target != "baseline",
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
            "abstained": reply.abstained,
            "first_token_s": reply.first_token_s,
            "total_s": reply.total_s,
            "error": reply.error,
        },
        "verdict": verdict,
    }


def _open_targets(settings, config, cases, stack: ExitStack, notes: list[str]):
    """Our target (and the baseline), plus copies that see the planted documents for the
    indirect-injection suite."""
    if config.target != "local":
        if "indirect_injection" in cases:
            notes.append(
                "indirect_injection runs only with --target local: it plants "
                "documents in a temporary index"
            )
        return [HttpTarget(config.target, config.api_key)], {"api": None}
    from tutor.answer import open_tutor

    tutor = open_tutor(settings)
    targets: list[Target] = [LocalTarget(tutor)]
    if config.baseline:
        targets.append(LlamaIndexBaseline(tutor, settings.prompt_canary))
    planted: dict = {}
    if "indirect_injection" in cases:
        planted_tutor = _planted_tutor(settings, tutor, cases["indirect_injection"], stack)
        planted["ours"] = LocalTarget(planted_tutor)
        if config.baseline:
            planted["baseline"] = LlamaIndexBaseline(planted_tutor, settings.prompt_canary)
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
    """Bars missed by our target, as messages. bars: {"suite.metric[.sub]": {"min"|"max": x}}."""
    failures = []
    ours = report["summary"].get("ours") or report["summary"].get("api") or {}
    for path, bar in bars.items():
        node = ours
        for part in path.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        value = node.get("value") if isinstance(node, dict) else node
        if value is None:
            continue  # not measured in this run (suite not selected)
        if "min" in bar and value < bar["min"]:
            failures.append(f"{path} = {value:.3f} is below the bar {bar['min']}")
        if "max" in bar and value > bar["max"]:
            failures.append(f"{path} = {value:.3f} is above the bar {bar['max']}")
    return failures


def load_thresholds(settings: Settings) -> dict:
    import yaml

    path = settings.evals_dir / "thresholds.yaml"
    try:
        return yaml.safe_load(path.read_text())["bars"]
    except (OSError, KeyError, TypeError, yaml.YAMLError) as exc:
        raise TutorError(f"Cannot read the eval pass bars {path}: {exc}") from exc
