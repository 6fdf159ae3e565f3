"""How fast the installed llama.cpp build reads a prompt and writes tokens, against another
build of the same version (for example one compiled for AVX2 only), measured in one run.

Each measurement loads the model in a fresh process (`PYTHONPATH` picks the build) and times
reading a 600-token prompt from an empty cache, writing one token, and checking a batch of
8 tokens (the cost of a speculative draft check). The builds alternate, round by round.

    # the baseline: the same llama-cpp-python compiled another way, installed aside
    CMAKE_ARGS="-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON" \\
        pip install --no-deps --no-cache-dir --target /tmp/llama-avx2 llama-cpp-python==0.3.36
    python benchmarks/bench_prefill.py --baseline /tmp/llama-avx2 [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

from common import write_results

PROMPT_TOKENS = 600


def measure() -> dict:
    """In the child process: time the build that `import llama_cpp` finds."""
    import llama_cpp

    from tutor.config import Settings
    from tutor.models import resolve_llm_model

    settings = Settings()
    path = resolve_llm_model(settings.llm_model, settings.models_dir)
    llm = llama_cpp.Llama(
        model_path=str(path),
        n_ctx=2048,
        n_threads=settings.llm_threads,
        verbose=False,
    )
    text = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    tokens = llm.tokenize(text.encode())[:PROMPT_TOKENS]

    def timed(batch: list[int]) -> float:
        started = time.perf_counter()
        llm.eval(batch)
        return time.perf_counter() - started

    prefill = []
    for _ in range(3):
        llm.reset()
        prefill.append(timed(tokens))
    one = [timed([tokens[i]]) for i in range(32)]
    eight = [timed(tokens[i * 8 : (i + 1) * 8]) for i in range(6)]
    return {
        "build": llama_cpp.llama_print_system_info().decode().strip(),
        "prefill_tokens_per_s": PROMPT_TOKENS / statistics.median(prefill),
        "one_token_ms": 1000 * statistics.median(one),
        "batch_of_8_ms": 1000 * statistics.median(eight),
    }


def run_child(site: str | None) -> dict:
    env = dict(os.environ)
    if site:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [site, env.get("PYTHONPATH")]))
    out = subprocess.run(
        [sys.executable, __file__, "--child"], env=env, capture_output=True, text=True
    )
    if out.returncode != 0:
        raise SystemExit(f"the measurement failed (exit {out.returncode}):\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--baseline", help="folder holding another llama_cpp build")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/prefill.json"))
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure()))
        return

    builds = {"installed": None} | ({"baseline": args.baseline} if args.baseline else {})
    runs: dict[str, list[dict]] = {name: [] for name in builds}
    for i in range(args.rounds):
        for name in builds if i % 2 == 0 else list(builds)[::-1]:
            runs[name].append(run_child(builds[name]))
        print(f"  round {i + 1}/{args.rounds} done", flush=True)

    print(
        f"# machine: {platform.machine()}, {os.cpu_count()} cores, {time.strftime('%Y-%m-%d')}; "
        f"{PROMPT_TOKENS}-token prompt, medians over {args.rounds} rounds"
    )
    summary = {}
    for name, rows in runs.items():
        summary[name] = {
            "build": rows[0]["build"],
            **{
                key: round(statistics.median(r[key] for r in rows), 1)
                for key in ("prefill_tokens_per_s", "one_token_ms", "batch_of_8_ms")
            },
        }
        s = summary[name]
        print(f"{name}: {s['build']}")
        print(
            f"  prompt {s['prefill_tokens_per_s']:.0f} tok/s, one token {s['one_token_ms']:.0f} "
            f"ms, a batch of 8 {s['batch_of_8_ms']:.0f} ms"
        )
    ratios = None
    if "baseline" in summary:
        ours, base = summary["installed"], summary["baseline"]
        ratios = {
            "prefill_speed": round(ours["prefill_tokens_per_s"] / base["prefill_tokens_per_s"], 3),
            "one_token_time": round(ours["one_token_ms"] / base["one_token_ms"], 3),
            "batch_of_8_time": round(ours["batch_of_8_ms"] / base["batch_of_8_ms"], 3),
        }
        print("installed / baseline: " + ", ".join(f"{k} {v:.2f}x" for k, v in ratios.items()))
    write_results(
        args.out,
        {
            "prompt_tokens": PROMPT_TOKENS,
            "rounds": args.rounds,
            "summary": summary,
            "ratios": ratios,
        },
    )


if __name__ == "__main__":
    main()
