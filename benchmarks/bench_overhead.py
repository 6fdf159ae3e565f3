"""The tutor against raw llama.cpp for the same prompt and the same number of answer tokens.

For each question the tutor answers as a learner would see it (retrieval, the answerability
check, prompt building, generation, citations and support), and the exact chat messages of
its answer call are recorded. Then a bare `llama_cpp.Llama` (its own copy of the same model,
same threads and context) gets those messages through llama-cpp-python's own chat
completion and writes exactly as many tokens (end-of-turn tokens are barred until then).
Both copies start each answer with only the shared rules in their KV cache. The ratio
tutor / raw is our overhead: everything the tutor does that a bare model call does not.

Two tutor configurations are timed in the same run, the order rotated per question: the
default (prompt-lookup drafts on), and plain decoding, which isolates the pipeline's own cost
from the decoding speed-up; each is paired with its own raw call.

Uses the index in the data directory (`tutor fetch && tutor index` first, for the linked
resources) and a fixed-seed sample of the eval's questions with key facts.

    python benchmarks/bench_overhead.py [--cases 12] [--out FILE]
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from bench_evidence import load_cases  # noqa: E402
from common import latency, pct, timed, write_results  # noqa: E402

from tutor.answer import open_tutor  # noqa: E402
from tutor.config import Settings  # noqa: E402
from tutor.llm.llamacpp import common_prefix  # noqa: E402
from tutor.models import resolve_llm_model  # noqa: E402


def record_answer_call(tutor) -> dict:
    """Wrap the tutor's streaming call so the last answer's messages and settings are kept."""
    seen: dict = {}
    stream_chat = tutor.llm.stream_chat

    def recorded(messages, max_tokens, temperature):
        seen.update(messages=messages, max_tokens=max_tokens, temperature=temperature)
        yield from stream_chat(messages, max_tokens, temperature)

    tutor.llm.stream_chat = recorded
    return seen


def tutor_once(tutor, seen: dict, question: str) -> dict:
    seen.clear()
    run = timed(tutor.stream(question))
    return {
        "first_token_s": run.first_token_s,
        "total_s": run.total_s,
        # Tokens the model generated (not the re-tokenised text), for the raw call to match.
        "completion_tokens": tutor.llm.last_stats.completion_tokens,
        "abstained": bool(run.answer and run.answer.abstained),
        "messages": seen.get("messages"),
        "temperature": seen.get("temperature", 0.0),
    }


def llama_build() -> str:
    """The instruction sets this llama.cpp build uses (AVX2 only, AVX-512, ...)."""
    import llama_cpp

    return llama_cpp.llama_print_system_info().decode().strip()


def end_tokens(llm) -> list[int]:
    import llama_cpp

    return [t for t in range(llm.n_vocab()) if llama_cpp.llama_vocab_is_eog(llm._model.vocab, t)]


def keep_only_rules(llm, tutor, messages: list[dict]) -> None:
    """Forget the raw model's cache past the system prompt: the tutor starts each answer with
    only the shared rules cached, and so must raw llama.cpp (the two tutor configurations ask
    the same question, so the second raw call would otherwise find its whole prompt cached)."""
    full = llm.tokenize(tutor.llm._chat_prompt(messages).encode(), special=True)
    rules = llm.tokenize(
        tutor.llm._chat_prompt([messages[0], {"role": "user", "content": ""}]).encode(),
        special=True,
    )
    llm.n_tokens = min(llm.n_tokens, common_prefix(full, rules))


def raw_once(llm, messages: list[dict], tokens: int, temperature: float, eog: list[int]) -> dict:
    # Bar every end-of-generation token so the raw call writes exactly `tokens` tokens.
    started = time.perf_counter()
    first = None
    written = 0
    for event in llm.create_chat_completion(
        messages=messages,
        max_tokens=max(tokens, 1),
        temperature=temperature,
        stream=True,
        logit_bias={t: -1e9 for t in eog},
    ):
        if event["choices"][0]["delta"].get("content"):
            written += 1
            first = time.perf_counter() - started if first is None else first
    total = time.perf_counter() - started
    return {"first_token_s": first or total, "total_s": total, "completion_tokens": written}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--cases", type=int, default=12)
    parser.add_argument("--seed", type=int, default=13)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/overhead.json"))
    args = parser.parse_args()

    from llama_cpp import Llama

    base = Settings(answer_cache=False)  # generated answers, not cache hits
    tutors = {
        "tutor": open_tutor(base),
        "tutor, plain decoding": open_tutor(base.model_copy(update={"llm_lookup_tokens": 0})),
    }
    seen = {name: record_answer_call(t) for name, t in tutors.items()}
    model_path = resolve_llm_model(base.llm_model, base.models_dir)
    raw = Llama(
        model_path=str(model_path),
        n_ctx=base.llm_context_tokens,
        n_threads=base.llm_threads,
        verbose=False,
    )
    cases = load_cases(base, args.cases, args.seed)
    print(
        f"# machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}, {time.strftime('%Y-%m-%d')}; "
        f"model {base.llm_model} ({model_path.name}), {base.llm_threads} threads, "
        f"temperature {base.temperature}; {len(cases)} questions\n# llama.cpp: {llama_build()}"
    )
    # Load every copy and fill each one's KV cache with the shared rules.
    for name, tutor in tutors.items():
        tutor_once(tutor, seen[name], "What is a GAN?")
    warm = tutor_once(tutors["tutor"], seen["tutor"], "What is a GAN?")
    eog = end_tokens(raw)
    raw_once(raw, warm["messages"], 1, 0.0, eog)

    rows: list[dict] = []
    for i, case in enumerate(cases, 1):
        names = list(tutors)
        names = names if i % 2 else names[::-1]
        row: dict = {"id": case["id"]}
        for name in names:
            ours = row[name] = tutor_once(tutors[name], seen[name], case["question"])
            # Raw llama.cpp gets the same messages and writes as many tokens.
            messages = ours.pop("messages")
            row[f"raw for {name}"] = None  # declined before any model call
            if messages is not None:
                keep_only_rules(raw, tutors[name], messages)
                row[f"raw for {name}"] = raw_once(
                    raw, messages, ours["completion_tokens"], ours["temperature"], eog
                )
        rows.append(row)
        print(
            f"  {i}/{len(cases)} "
            + ", ".join(
                f"{name} {row[name]['total_s']:.1f} s "
                f"(raw {row[f'raw for {name}']['total_s']:.1f} s)"
                for name in tutors
                if row[f"raw for {name}"]
            ),
            flush=True,
        )

    summary = {}
    ratios = {}
    for name in tutors:
        paired = [r for r in rows if r[f"raw for {name}"]]
        for key in (name, f"raw for {name}"):
            runs = [r[key] for r in paired]
            summary[key] = latency(runs) | {
                "total_s": round(sum(x["total_s"] for x in runs), 2),
                "cases": len(runs),
            }
        ours, theirs = summary[name], summary[f"raw for {name}"]
        ratios[name] = {
            # Summed time over the same questions: long answers weigh as much as they cost.
            "total": round(ours["total_s"] / theirs["total_s"], 3),
            "total_p50_of_pairs": round(
                pct([r[name]["total_s"] / r[f"raw for {name}"]["total_s"] for r in paired], 0.5),
                3,
            ),
            "first_token_p50": round(ours["first_token_p50_s"] / theirs["first_token_p50_s"], 3),
        }
    print(f"{'':>30} {'first p50':>9} {'first p95':>9} {'total p50':>9} {'total p95':>9}")
    for name, s in summary.items():
        print(
            f"{name:>30} {s['first_token_p50_s']:>8.1f}s {s['first_token_p95_s']:>8.1f}s "
            f"{s['total_p50_s']:>8.1f}s {s['total_p95_s']:>8.1f}s"
        )
    for name, r in ratios.items():
        print(f"{name} / raw llama.cpp: " + ", ".join(f"{k} {v:.2f}x" for k, v in r.items()))
    write_results(
        args.out,
        {
            "model": base.llm_model,
            "threads": base.llm_threads,
            "temperature": base.temperature,
            "cases": len(cases),
            "llama_cpp_build": llama_build(),
            "summary": summary,
            "ratios": ratios,
            "overhead_vs_raw": ratios["tutor"]["total"],
            "answers": rows,
        },
    )


if __name__ == "__main__":
    main()
