"""Soak test of the REST API: mixed traffic from many clients for a bounded time, every
request's outcome recorded, and the service's promises checked at the end.

Starts `tutor serve` on a free loopback port (never anything else) with the current index,
one API key per client (so each has its own rate-limit budget, as separate users would),
and drives it with threads: asks (whole and streamed), OpenAI chat completions, searches,
source pages, clients that hang up part-way or while queued, and bad requests (empty or
oversized questions, broken JSON, wrong keys, unknown routes).

The bars (issue #15): no 5xx other than the documented 503s; no lost request (every
request ends 200, 4xx, or 429 with Retry-After; hang-ups we made ourselves are counted
apart); the model gate back to zero at the end; the server's memory grows under 10 %
from the first tenth of the run to its end.

    python benchmarks/soak_api.py [--minutes 30] [--clients 16] [--model qwen2.5-coder-0.5b]

Writes benchmarks/results/soak.json and prints a Markdown table for docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import secrets
import sys
import threading
import time
from pathlib import Path

import httpx
from bench_api import QUESTIONS as API_QUESTIONS

from tutor.api.launch import running_api

QUESTIONS = [*API_QUESTIONS, "Who won the 1998 football World Cup?"]  # one off-corpus
# (kind, weight): what a mixed day of traffic looks like, bad requests included.
KINDS = [
    ("ask", 10),
    ("ask_stream", 12),
    ("ask_stream_hangup", 6),
    ("chat", 6),
    ("chat_stream", 6),
    ("search", 25),
    ("source", 10),
    ("bad_empty", 4),
    ("bad_huge", 3),
    ("bad_json", 3),
    ("bad_key", 4),
    ("bad_route", 2),
]
ANSWER_TIMEOUT_S = 900  # an answer may wait behind a full queue of others on 2 cores


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def gauges(url: str, key: str) -> dict[str, float]:
    text = httpx.get(f"{url}/metrics", headers={"X-API-Key": key}, timeout=30).text
    wanted = ("tutor_generations_running", "tutor_queue_depth")
    return {
        line.split()[0]: float(line.split()[1])
        for line in text.splitlines()
        if line.split(" ")[0] in wanted
    }


class Client(threading.Thread):
    def __init__(self, url: str, key: str, deadline: float, seed: int, sources: list[str]):
        super().__init__(daemon=True)
        self.url, self.key, self.deadline = url, key, deadline
        self.random = random.Random(seed)
        self.sources = sources
        self.outcomes: list[dict] = []

    def run(self) -> None:
        kinds, weights = zip(*KINDS, strict=True)
        with httpx.Client(
            base_url=self.url, headers={"X-API-Key": self.key}, timeout=ANSWER_TIMEOUT_S
        ) as http:
            while time.monotonic() < self.deadline:
                kind = self.random.choices(kinds, weights)[0]
                started = time.perf_counter()
                outcome = {"kind": kind}
                try:
                    outcome |= getattr(self, kind)(http)
                except httpx.HTTPError as exc:
                    outcome |= {"status": None, "transport_error": exc.__class__.__name__}
                outcome["seconds"] = round(time.perf_counter() - started, 3)
                self.outcomes.append(outcome)
                time.sleep(self.random.uniform(0.0, 1.0))

    def _question(self) -> str:
        return self.random.choice(QUESTIONS)

    @staticmethod
    def _status(response: httpx.Response) -> dict:
        return {"status": response.status_code, "retry_after": response.headers.get("retry-after")}

    def ask(self, http) -> dict:
        return self._status(http.post("/v1/ask", json={"question": self._question()}))

    def _stream(self, http, path: str, body: dict, hang_up_after: float | None) -> dict:
        started = time.monotonic()
        with http.stream("POST", path, json=body) as response:
            result = self._status(response)
            if response.status_code != 200:
                response.read()
                return result
            events = 0
            for line in response.iter_lines():
                events += line.startswith(("event:", "data:"))
                if line.startswith("event: error") or '"error"' in line[:20]:
                    result["stream_error"] = True
                if hang_up_after is not None and time.monotonic() - started > hang_up_after:
                    return result | {"hung_up": True}  # leaving closes the connection
            return result | {"events": events}

    def ask_stream(self, http) -> dict:
        return self._stream(http, "/v1/ask", {"question": self._question(), "stream": True}, None)

    def ask_stream_hangup(self, http) -> dict:
        body = {"question": self._question(), "stream": True}
        return self._stream(http, "/v1/ask", body, self.random.uniform(0.2, 6.0))

    def _chat_body(self, stream: bool) -> dict:
        return {
            "model": "genai-tutor",
            "messages": [{"role": "user", "content": self._question()}],
            "stream": stream,
            "max_tokens": self.random.choice([16, 64, 256]),
        }

    def chat(self, http) -> dict:
        return self._status(http.post("/v1/chat/completions", json=self._chat_body(False)))

    def chat_stream(self, http) -> dict:
        return self._stream(http, "/v1/chat/completions", self._chat_body(True), None)

    def search(self, http) -> dict:
        body = {"query": self._question(), "top_k": self.random.randint(1, 20)}
        if self.random.random() < 0.3:
            body["phase"] = self.random.randint(1, 6)
        return self._status(http.post("/v1/search", json=body))

    def source(self, http) -> dict:
        from urllib.parse import quote

        item = self.random.choice(self.sources + ["no/such/source.md"])
        return self._status(http.get(f"/v1/sources/{quote(item, safe='')}"))

    def bad_empty(self, http) -> dict:
        return self._status(http.post("/v1/ask", json={"question": "   "}))

    def bad_huge(self, http) -> dict:
        return self._status(http.post("/v1/ask", json={"question": "x" * 200_000}))

    def bad_json(self, http) -> dict:
        headers = {"Content-Type": "application/json"}
        return self._status(http.post("/v1/search", content=b'{"query": ', headers=headers))

    def bad_key(self, http) -> dict:
        wrong = {"X-API-Key": "wrong-" + secrets.token_hex(4)}
        return self._status(http.post("/v1/search", json={"query": "GAN"}, headers=wrong))

    def bad_route(self, http) -> dict:
        return self._status(http.get("/v1/nothing-here"))


def verdict(outcome: dict) -> str:
    """ok | client-hangup | documented-503 | 429-with-retry | 4xx | 429-without-retry |
    5xx | lost."""
    status = outcome.get("status")
    if outcome.get("hung_up"):
        return "client-hangup"
    if status is None:
        return "lost"
    if status == 200:
        return "stream-error" if outcome.get("stream_error") else "ok"
    if status == 429:
        return "429-with-retry" if outcome.get("retry_after") else "429-without-retry"
    if status == 503:
        return "documented-503"
    if 400 <= status < 500:
        return "4xx"
    return "5xx"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--model", default=None, help="TUTOR_LLM_MODEL for the server")
    parser.add_argument("--seed", type=int, default=15)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/soak.json"))
    args = parser.parse_args()
    if not 0 < args.minutes <= 240 or not 1 <= args.clients <= 64:
        parser.error("--minutes must be in (0, 240] and --clients in [1, 64]")

    keys = [secrets.token_urlsafe(24) for _ in range(args.clients + 1)]
    env = dict(os.environ, TUTOR_API_KEYS=",".join(keys))
    if args.model:
        env["TUTOR_LLM_MODEL"] = args.model
    with running_api(env) as (url, server):
        ready = httpx.get(f"{url}/readyz").json()
        admin = {"X-API-Key": keys[-1]}
        tree = httpx.get(f"{url}/v1/roadmap", headers=admin, timeout=60).json()
        sources = sorted({n["source_id"] for phase in tree for n in _notes(phase)})[:50]

        started = time.monotonic()
        end = started + args.minutes * 60
        clients = [Client(url, keys[i], end, args.seed + i, sources) for i in range(args.clients)]
        for client in clients:
            client.start()
        memory = []
        next_sample = started
        while any(c.is_alive() for c in clients):
            if time.monotonic() >= next_sample:
                memory.append((round(time.monotonic() - started), rss_mb(server.pid)))
                done = sum(len(c.outcomes) for c in clients)
                elapsed = (time.monotonic() - started) / 60
                print(f"  {elapsed:5.1f} / {args.minutes:g} min: {done} requests", flush=True)
                next_sample += 60
            time.sleep(1)
        wall_s = time.monotonic() - started
        time.sleep(5)  # hang-ups and the last answers settle
        final_gauges = gauges(url, keys[-1])
        memory.append((round(time.monotonic() - started), rss_mb(server.pid)))

    outcomes = [o for c in clients for o in c.outcomes]
    verdicts = collections.Counter(verdict(o) for o in outcomes)
    by_kind: dict[str, collections.Counter] = collections.defaultdict(collections.Counter)
    for o in outcomes:
        by_kind[o["kind"]][verdict(o)] += 1
    # Memory from the end of the first tenth (model loaded, caches warm) to the end.
    warm = next((mb for t, mb in memory if t >= wall_s / 10), memory[0][1])
    growth = memory[-1][1] / warm - 1
    bars = {
        "no 5xx other than documented 503s": verdicts["5xx"] == 0,
        "no lost request": verdicts["lost"] == 0 and verdicts["429-without-retry"] == 0,
        "no failed stream": verdicts["stream-error"] == 0,
        "gate back to zero": all(v == 0 for v in final_gauges.values()) and final_gauges != {},
        "memory growth under 10 %": growth < 0.10,
    }
    result = {
        "date": time.strftime("%Y-%m-%d"),
        "machine": f"{os.cpu_count()} CPU cores",
        "model": ready["llm"]["model"],
        "index_chunks": ready["index"]["chunks"],
        "clients": args.clients,
        "minutes": round(wall_s / 60, 1),
        "requests": len(outcomes),
        "verdicts": dict(verdicts),
        "by_kind": {k: dict(v) for k, v in sorted(by_kind.items())},
        "final_gauges": final_gauges,
        "rss_mb": memory,
        "memory_growth": round(growth, 4),
        "bars": bars,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(markdown(result))
    sys.exit(0 if all(bars.values()) else 1)


def _notes(node: dict):
    yield from node.get("notes", [])
    for child in node.get("sections", []):
        yield from _notes(child)


def markdown(result: dict) -> str:
    columns = [
        "ok",
        "client-hangup",
        "4xx",
        "429-with-retry",
        "documented-503",
        "5xx",
        "lost",
        "stream-error",
    ]
    lines = [
        f"Soak {result['date']}: {result['clients']} clients, {result['minutes']} min, "
        f"{result['requests']} requests, model {result['model']}, "
        f"{result['index_chunks']} chunks, {result['machine']}.",
        "",
        "| kind | " + " | ".join(columns) + " |",
        "| --- |" + " --- |" * len(columns),
    ]
    for kind, counts in result["by_kind"].items():
        lines.append(f"| {kind} | " + " | ".join(str(counts.get(c, 0)) for c in columns) + " |")
    totals = result["verdicts"]
    lines.append("| **all** | " + " | ".join(str(totals.get(c, 0)) for c in columns) + " |")
    lines += [
        "",
        f"Memory growth {result['memory_growth']:.1%}; gauges at the end {result['final_gauges']}.",
        "",
    ]
    lines += [f"- {'met' if ok else 'NOT met'}: {bar}" for bar, ok in result["bars"].items()]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
