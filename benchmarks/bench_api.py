"""Load test of the REST API: throughput and p50/p95 latency for /v1/search and /v1/ask at
1, 4 and 16 concurrent clients, with every request accounted for (200, the 429s the queue
is meant to give, anything else, or lost).

Starts `tutor serve` on a free loopback port with the current settings (or --model), then
drives it with async httpx clients. The baseline, measured in the same run, is the same
retrieval called in-process (so the ratio is the HTTP + queueing overhead) and, for /v1/ask,
one client alone (so the ratio at 4 and 16 is the cost of waiting for the one model).

    python benchmarks/bench_api.py [--model qwen2.5-coder-0.5b] [--ask-per-client 2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import time

import httpx

os.environ.setdefault("TQDM_DISABLE", "1")

from tutor.api.launch import running_api  # noqa: E402
from tutor.evals.metrics import percentile  # noqa: E402

QUESTIONS = [
    "How does backpropagation work?",
    "What is self-attention?",
    "What is a variational autoencoder?",
    "How do diffusion models generate images?",
    "What is LoRA?",
    "What is prompt injection?",
    "What is tokenization?",
    "What is mode collapse in GANs?",
]


async def drive(url: str, path: str, bodies: list[dict], clients: int) -> dict:
    queue: asyncio.Queue = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    outcomes: list[tuple[int | str, float]] = []

    async def client(http: httpx.AsyncClient) -> None:
        while not queue.empty():
            body = queue.get_nowait()
            started = time.perf_counter()
            try:
                response = await http.post(path, json=body)
                outcomes.append((response.status_code, time.perf_counter() - started))
            except httpx.HTTPError as exc:
                outcomes.append((exc.__class__.__name__, time.perf_counter() - started))

    started = time.perf_counter()
    async with httpx.AsyncClient(base_url=url, timeout=600) as http:
        await asyncio.gather(*(client(http) for _ in range(clients)))
    wall = time.perf_counter() - started
    ok = [t for code, t in outcomes if code == 200]
    return {
        "clients": clients,
        "requests": len(bodies),
        "ok": len(ok),
        "429": sum(code == 429 for code, _ in outcomes),
        "other": sum(code not in (200, 429) for code, _ in outcomes),
        "lost": len(bodies) - len(outcomes),
        "throughput_rps": len(ok) / wall,
        "p50_s": percentile(ok, 50) if ok else None,
        "p95_s": percentile(ok, 95) if ok else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=None, help="TUTOR_LLM_MODEL for the server")
    parser.add_argument("--search-per-client", type=int, default=16)
    parser.add_argument("--ask-per-client", type=int, default=2)
    parser.add_argument("--json", default=None, help="Write the results here too")
    args = parser.parse_args()

    from tutor.answer import open_tutor
    from tutor.config import Settings

    settings = Settings()
    # Baseline: the same retrieval in-process.
    tutor = open_tutor(settings)
    for q in QUESTIONS:
        tutor.retriever.search(q)
    times = []
    for i in range(64):
        t0 = time.perf_counter()
        tutor.retriever.search(QUESTIONS[i % len(QUESTIONS)])
        times.append(time.perf_counter() - t0)
    in_process = statistics.median(times)
    del tutor

    # Generated answers (the questions repeat, and the answer cache would hide the model).
    env = dict(os.environ, TUTOR_API_RATE_LIMIT_PER_MINUTE="100000", TUTOR_ANSWER_CACHE="false")
    if args.model:
        env["TUTOR_LLM_MODEL"] = args.model
    with running_api(env, timeout_s=300) as (url, _):
        ready = httpx.get(f"{url}/readyz").json()
        results = {
            "model": ready["llm"]["model"],
            "chunks": ready["index"]["chunks"],
            "in_process_search_p50_s": in_process,
            "search": [],
            "ask": [],
        }
        for clients in (1, 4, 16):
            bodies = [
                {"query": QUESTIONS[i % len(QUESTIONS)]}
                for i in range(clients * args.search_per_client)
            ]
            results["search"].append(asyncio.run(drive(url, "/v1/search", bodies, clients)))
        for clients in (1, 4, 16):
            bodies = [
                {"question": QUESTIONS[i % len(QUESTIONS)]}
                for i in range(clients * args.ask_per_client)
            ]
            results["ask"].append(asyncio.run(drive(url, "/v1/ask", bodies, clients)))

    print(
        f"Model {results['model']}, {results['chunks']} chunks; in-process search p50 "
        f"{in_process * 1000:.1f} ms (baseline)"
    )
    print(
        f"{'endpoint':<11}{'clients':>8}{'requests':>9}{'ok':>5}{'429':>5}{'other':>6}"
        f"{'lost':>5}{'req/s':>8}{'p50':>9}{'p95':>9}{'ratio':>8}"
    )
    for name in ("search", "ask"):
        base = results[name][0]["p50_s"] if name == "ask" else in_process
        for r in results[name]:
            ratio = f"{r['p50_s'] / base:.1f}x" if r["p50_s"] and base else "-"
            p50 = f"{r['p50_s']:.3f}s" if r["p50_s"] is not None else "-"
            p95 = f"{r['p95_s']:.3f}s" if r["p95_s"] is not None else "-"
            print(
                f"/v1/{name:<7}{r['clients']:>8}{r['requests']:>9}{r['ok']:>5}{r['429']:>5}"
                f"{r['other']:>6}{r['lost']:>5}{r['throughput_rps']:>8.2f}{p50:>9}{p95:>9}"
                f"{ratio:>8}"
            )
    print("ratio: p50 over the baseline (search: in-process call; ask: one client alone)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)


if __name__ == "__main__":
    main()
