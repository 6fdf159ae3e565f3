"""garak against the live tutor: starts `tutor serve` on a free loopback port, points
garak's REST generator at its /v1/chat/completions (evals/garak/tutor.yaml), runs a bounded
set of probe families that matter for a tutor, and writes the per-probe pass rates to
evals/results/garak.json (and a Markdown table on stdout, for docs/evals.md).

garak lives in a virtual environment of its own (its dependencies are not the tutor's):

    python3.11 -m venv .venv-garak
    .venv-garak/bin/pip install torch==2.13.0 garak==0.17.1
    .venv/bin/python evals/garak/run_garak.py --garak .venv-garak/bin/garak
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx

from tutor.api.launch import running_api

HERE = Path(__file__).resolve().parent
# One or a few probes per family; each is capped at `soft_probe_prompt_cap` prompts.
PROBES = [
    "promptinject.HijackHateHumans",
    "promptinject.HijackKillHumans",
    "promptinject.HijackLongPrompt",
    "dan.Dan_11_0",
    "dan.DanInTheWild",
    "dan.AutoDANCached",
    "encoding.InjectBase64",
    "encoding.InjectHex",
    "encoding.InjectROT13",
    "latentinjection.LatentInjectionReport",
    "latentinjection.LatentInjectionResume",
    "latentinjection.LatentJailbreak",
    "latentinjection.LatentInjectionFactSnippetEiffel",
    "leakreplay.GuardianCloze",
    "leakreplay.LiteratureComplete",
    "malwaregen.TopLevel",
    "malwaregen.SubFunctions",
    "malwaregen.Evasion",
    "malwaregen.Payload",
]


def summarise(report: Path) -> dict:
    """Per probe: prompts that passed every detector / prompts scored (garak's `eval`
    entries count attempts per detector; the lowest rate of a probe's detectors is its)."""
    probes: dict[str, dict] = collections.defaultdict(dict)
    for line in report.read_text().splitlines():
        entry = json.loads(line)
        if entry.get("entry_type") == "eval":
            total = entry.get("total_evaluated", entry.get("total"))
            probes[entry["probe"]][entry["detector"]] = {"passed": entry["passed"], "total": total}
    summary = {}
    for probe, detectors in sorted(probes.items()):
        worst = min(detectors.values(), key=lambda d: d["passed"] / max(1, d["total"]))
        summary[probe] = {
            "pass_rate": round(worst["passed"] / max(1, worst["total"]), 3),
            "passed": worst["passed"],
            "total": worst["total"],
            "detectors": detectors,
        }
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--garak", default=".venv-garak/bin/garak", help="garak's executable")
    parser.add_argument("--model", default=None, help="TUTOR_LLM_MODEL for the server")
    parser.add_argument("--probes", default=",".join(PROBES))
    parser.add_argument("--out", type=Path, default=Path("evals/results/garak.json"))
    parser.add_argument(
        "--keep",
        type=Path,
        default=Path("evals/runs/garak"),
        help="garak's own reports (every prompt and reply) are copied here (not committed)",
    )
    args = parser.parse_args()
    if not Path(args.garak).exists():
        raise SystemExit(f"No garak at {args.garak}; see this script's docstring to install it.")

    env = dict(os.environ, TUTOR_API_RATE_LIMIT_PER_MINUTE="100000")  # one busy client
    if args.model:
        env["TUTOR_LLM_MODEL"] = args.model
    started = time.monotonic()
    with running_api(env) as (url, _), tempfile.TemporaryDirectory() as work:
        model = httpx.get(f"{url}/readyz").json()["llm"]["model"]
        config = Path(work) / "tutor.yaml"
        port = url.rsplit(":", 1)[1]
        config.write_text((HERE / "tutor.yaml").read_text().replace("PORT", port))
        command = [args.garak, "--config", str(config), "--probes", args.probes]
        command += ["--report_prefix", "tutor"]
        # garak writes its reports under its data dir: a temporary one, read back below.
        subprocess.run(command, cwd=work, check=True, env=dict(os.environ, XDG_DATA_HOME=work))
        reports = sorted(Path(work).rglob("tutor*.report.jsonl"))
        if not reports:
            raise SystemExit("garak wrote no report; see its output above.")
        summary = summarise(reports[-1])
        args.keep.mkdir(parents=True, exist_ok=True)
        for report in Path(reports[-1]).parent.glob("tutor*"):
            shutil.copy(report, args.keep / report.name)
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} CPU cores",
        "model": model,
        "command": f"garak --config evals/garak/tutor.yaml --probes {args.probes} "
        "--report_prefix tutor (the uri's port filled in)",
        "probes": summary,
        "minutes": round((time.monotonic() - started) / 60, 1),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"garak {result['date']}, model {model}, {result['minutes']} min\n")
    print("| probe | passed | pass rate |\n| --- | --- | --- |")
    for probe, row in summary.items():
        print(f"| {probe} | {row['passed']}/{row['total']} | {row['pass_rate']:.0%} |")


if __name__ == "__main__":
    main()
