"""Gather the speed figures of the latest benchmark runs into benchmarks/results/latest.json,
for programs: each key says where it was measured and when, and a figure no recorded run
measured is null, never a guess.

    python benchmarks/collect_latest.py
"""

from __future__ import annotations

import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def read(name: str) -> dict | None:
    path = RESULTS / name
    return json.loads(path.read_text()) if path.exists() else None


def main() -> None:
    decode, index, cache = read("decode.json"), read("index.json"), read("cache.json")
    latest: dict = {"sources": {}}
    if decode:
        now = decode["summary"].get("lookup 4") or decode["summary"]["plain"]
        plain = decode["summary"]["plain"]
        latest |= {
            "first_token_p50_s": now["first_token_p50_s"],
            "first_token_p95_s": now["first_token_p95_s"],
            "total_p50_s": now["total_p50_s"],
            "total_p95_s": now["total_p95_s"],
            "decode_tokens_per_s": now["decode_tokens_per_s"],
            "decode_tokens_per_s_plain": plain["decode_tokens_per_s"],
            "decode_speedup": round(now["decode_tokens_per_s"] / plain["decode_tokens_per_s"], 3),
            "tokens_per_forward_pass": now["tokens_per_forward_pass"],
        }
        latest["sources"]["decode"] = {k: decode[k] for k in ("date", "machine", "model", "cases")}
    if index:
        latest["index_speedup"] = index["index_speedup"]
        latest["index_seconds"] = {k: v["seconds"] for k, v in index["results"].items()}
        latest["retrieval_recall@5"] = {
            k: v["retrieval"]["hybrid"]["recall@5"] for k, v in index["results"].items()
        }
        latest["retrieval_mrr"] = {
            k: v["retrieval"]["hybrid"]["mrr"] for k, v in index["results"].items()
        }
        latest["sources"]["index"] = {k: index[k] for k in ("date", "machine", "embed_model")}
    if cache:
        latest["cached_answer_s"] = cache["cached_answer_s"]
        latest["sources"]["cache"] = {k: cache[k] for k in ("date", "machine", "model")}
    # Not measured by a recorded run since the speed work began: bench_core.py measures it.
    latest.setdefault("overhead_vs_raw", None)
    (RESULTS / "latest.json").write_text(json.dumps(latest, indent=1) + "\n")
    print(json.dumps(latest, indent=1))


if __name__ == "__main__":
    main()
