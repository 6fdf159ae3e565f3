"""Compare the local judge's prompts, alone and together, on the labelled calibration pairs.

Each variant (the plain instruction, the rubric with worked examples, and both with their
log-odds averaged) scores every pair of evals/datasets/judge_calibration.jsonl, its
threshold fitted on the tuning half by `calibrate`. The rule, fixed before the figures are
read: the default is the variant with the highest balanced accuracy on the tuning half;
within 0.005 of each other, the one better on the tuning half's answer pairs (the tutor's
own sentences, the claims the eval's metrics judge), then the one with fewer model calls.
The test half is reported as it falls and chooses nothing. Verdicts go to the eval's
verdict cache, so a variant adopted here costs a later `make eval` nothing to recalibrate.
Writes evals/results/judge_prompts.json. About 2 s a pair and prompt on 2 cores.

    python evals/tools/compare_judge_prompts.py
"""

from __future__ import annotations

import json
from pathlib import Path

from tutor.config import Settings
from tutor.evals.answer_gate import progress_printer
from tutor.evals.datasets import load_calibration
from tutor.evals.judges import PLAIN, RUBRIC, LLMJudge, _ba, calibrate, make_judge

ROOT = Path(__file__).resolve().parents[2]
OUT = ROOT / "evals" / "results" / "judge_prompts.json"
VARIANTS = {"plain": (PLAIN,), "rubric": (RUBRIC,), "plain+rubric": (PLAIN, RUBRIC)}


def main() -> int:
    settings = Settings()
    base = make_judge(settings, "local")
    pairs = load_calibration(ROOT / "evals" / "datasets")
    results = {}
    for name, prompts in VARIANTS.items():
        judge = LLMJudge(base.llm, base.embed, base.cache, prompts=prompts)
        print(f"{name}: scoring {len(pairs)} pairs")
        result = calibrate(judge, pairs, progress_printer())
        scores = {p["id"]: judge.support(p["passage"], p["claim"]) for p in pairs}  # cached
        result["tune_by_origin"] = {
            origin: _ba(
                [
                    (scores[p["id"]], bool(p["supported"]))
                    for p in pairs
                    if p.get("split") == "tune" and p.get("origin", "written") == origin
                ],
                judge.threshold,
            )
            for origin in ("answer", "written")
        }
        result.pop("wrong")
        results[name] = result
        print(json.dumps({k: result[k] for k in ("tune_balanced_accuracy", "balanced_accuracy")}))

    top = max(r["tune_balanced_accuracy"] for r in results.values())
    near = [n for n in VARIANTS if results[n]["tune_balanced_accuracy"] >= top - 0.005]
    best = max(near, key=lambda n: (results[n]["tune_by_origin"]["answer"], -len(VARIANTS[n])))
    out = {"model_id": base.llm.model_id, "chosen_on_tune": best, "variants": results}
    print(json.dumps({"chosen_on_tune": best}, indent=1))
    OUT.write_text(json.dumps(out, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
