"""Gather the speed figures of the latest benchmark runs into benchmarks/results/latest.json,
for programs: each key says where it was measured and when, and a figure no recorded run
measured is null, never a guess.

    python benchmarks/collect_latest.py
"""

from __future__ import annotations

import json
from pathlib import Path

from tutor.config import Settings

RESULTS = Path(__file__).resolve().parent / "results"


def read(name: str) -> dict | None:
    path = RESULTS / name
    return json.loads(path.read_text()) if path.exists() else None


def main() -> None:
    decode, index, cache = read("decode.json"), read("index.json"), read("cache.json")
    overhead, prefill = read("overhead.json"), read("prefill.json")
    followup, evidence = read("followup.json"), read("evidence.json")
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
    if overhead:
        # The newest answer timings, with the llama.cpp build installed now, supersede
        # bench_decode's (which stay there for the decode speed-up).
        now = overhead["summary"]["tutor"]
        latest |= {k: now[k] for k in ("first_token_p50_s", "first_token_p95_s")}
        latest |= {k: now[k] for k in ("total_p50_s", "total_p95_s")}
        latest["overhead_vs_raw"] = overhead["overhead_vs_raw"]
        latest["overhead_vs_raw_plain_decoding"] = overhead["ratios"]["tutor, plain decoding"][
            "total"
        ]
        latest["sources"]["overhead"] = {
            k: overhead[k] for k in ("date", "machine", "model", "cases", "llama_cpp_build")
        }
    if evidence:
        # The newest answer timings, of the default (selected sentences), measured beside
        # whole passages in one run: they supersede bench_overhead's.
        budget = Settings.model_fields["evidence_tokens"].default
        now = evidence["summary"].get(f"evidence {budget}")
        if now:
            timings = ("first_token_p50_s", "first_token_p95_s", "total_p50_s", "total_p95_s")
            latest |= {k: now[k] for k in timings}
            latest["first_token_vs_whole_passages"] = round(
                evidence["ratios"]["first_token_p50"], 3
            )
            latest["sources"]["evidence"] = {
                k: evidence[k] for k in ("date", "machine", "model", "cases")
            } | {"evidence_tokens": budget}
    if prefill and prefill.get("ratios"):
        latest["prefill_tokens_per_s"] = prefill["summary"]["installed"]["prefill_tokens_per_s"]
        latest["prefill_speedup_vs_baseline_build"] = prefill["ratios"]["prefill_speed"]
        latest["sources"]["prefill"] = {
            "date": prefill["date"],
            "machine": prefill["machine"],
            "installed": prefill["summary"]["installed"]["build"],
            "baseline": prefill["summary"]["baseline"]["build"],
        }
    if followup:
        saved = followup["summary"]["saved system prompts"]
        latest["followup_first_token_p50_s"] = saved["first_token_p50_s"]
        latest["followup_first_token_vs_no_saved_prompts"] = followup["ratios"]["first_token_p50"]
        latest["sources"]["followup"] = {k: followup[k] for k in ("date", "machine", "cases")}
    latest.setdefault("overhead_vs_raw", None)
    (RESULTS / "latest.json").write_text(json.dumps(latest, indent=1) + "\n")
    print(json.dumps(latest, indent=1))


if __name__ == "__main__":
    main()
