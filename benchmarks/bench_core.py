"""Core benchmarks: index build, retrieval latency, and answer latency against raw llama.cpp.

Every number is measured in this run, on this machine; ratios compare against a baseline
measured in the same run (raw llama.cpp speed for the same model and token counts).

    python benchmarks/bench_core.py [--model qwen2.5-coder-1.5b] [--questions 6]
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TQDM_DISABLE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from tutor.config import Settings  # noqa: E402

QUERIES = [
    "How does backpropagation work?",
    "What is the chain rule?",
    "Explain self-attention",
    "What is a variational autoencoder?",
    "How do diffusion models generate images?",
    "What is mode collapse in GANs?",
    "How do I avoid overfitting?",
    "What is LoRA?",
    "What does quantization do to a model?",
    "How does RLHF train a reward model?",
    "What is prompt injection?",
    "What is tokenization?",
    "How do LSTMs fix vanishing gradients?",
    "What is the difference between BERT and GPT?",
    "How do I serve a model with FastAPI?",
    "What is top-p sampling?",
    "What is a convolution?",
    "How is a train-test split made?",
    "What does a Streamlit app look like?",
    "What is text-to-speech?",
]
ASK_QUESTIONS = [
    "How does backpropagation work?",
    "What is mode collapse in GANs?",
    "How do diffusion models generate images?",
    "What is the difference between BERT and GPT?",
    "What does quantization do to a model?",
    "What is prompt injection?",
]


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="qwen2.5-coder-1.5b")
    parser.add_argument("--questions", type=int, default=len(ASK_QUESTIONS))
    args = parser.parse_args()

    from tutor.answer import Tutor
    from tutor.embed import Embedder
    from tutor.index import build_index, load_index
    from tutor.llm import make_backend
    from tutor.retrieve import Retriever

    print(
        f"# machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"python {platform.python_version()}, {time.strftime('%Y-%m-%d')}"
    )
    data_dir = Path(tempfile.mkdtemp(prefix="tutor-bench-"))
    settings = Settings(data_dir=data_dir, llm_model=args.model)

    t0 = time.perf_counter()
    embedder = Embedder(settings.embed_model, settings.embed_precision)
    load_s = time.perf_counter() - t0
    report = build_index(settings, embedder=embedder)
    print(
        f"index build (cold): {report.sources} sources, {report.chunks} chunks in "
        f"{report.seconds:.1f} s = {report.chunks / report.seconds:.1f} chunks/s "
        f"(+ {load_s:.1f} s to load the embedder)"
    )
    noop = build_index(settings, embedder=embedder)
    print(
        f"index rebuild, nothing changed: {noop.seconds:.2f} s "
        f"({report.seconds / noop.seconds:.0f}x faster than cold)"
    )
    note = settings.corpus_dir / "notes" / "phase-2" / "backpropagation.md"
    original = note.read_text()
    try:
        note.write_text(original + "\n\nA benchmark edit.\n")
        one = build_index(settings, embedder=embedder)
    finally:
        note.write_text(original)
    print(
        f"index rebuild, one file edited: {one.seconds:.2f} s, {one.chunks_embedded} chunks "
        f"re-embedded of {one.chunks}"
    )

    retriever = Retriever(load_index(settings), embedder, settings)
    for mode in ("dense", "bm25", "hybrid"):
        retriever.search(QUERIES[0], mode=mode)  # warm-up
        times = []
        for _ in range(3):
            for query in QUERIES:
                t = time.perf_counter()
                retriever.search(query, mode=mode)
                times.append((time.perf_counter() - t) * 1000)
        print(
            f"retrieval {mode:>6}: p50 {pct(times, 0.5):.1f} ms, p95 {pct(times, 0.95):.1f} ms "
            f"({len(times)} queries, query embedding included)"
        )

    llm = make_backend(settings)
    raw = llm.llm  # the underlying llama_cpp.Llama
    prompt = "Explain gradient descent to a beginner. " * 60
    raw.reset()
    t = time.perf_counter()
    out = raw.create_completion(prompt, max_tokens=1, temperature=0.0)
    prompt_tokens = out["usage"]["prompt_tokens"]
    prompt_tps = prompt_tokens / (time.perf_counter() - t)
    raw.reset()
    t = time.perf_counter()
    out = raw.create_completion(
        "Write a long story about a robot:", max_tokens=128, temperature=0.0
    )
    decode_tps = out["usage"]["completion_tokens"] / (time.perf_counter() - t)
    print(
        f"raw llama.cpp ({llm.model_id}): prompt {prompt_tps:.0f} tok/s, "
        f"decode {decode_tps:.1f} tok/s"
    )

    tutor = Tutor(settings, retriever, llm)
    ttft, total, expected = [], [], []
    from tutor import prompts
    from tutor.answer import format_passages

    for question in ASK_QUESTIONS[: args.questions]:
        answer = tutor.ask(question)
        if answer.abstained and answer.model_id is None:
            continue
        hits = retriever.search(question)
        hits = [h for h in hits if h.dense_score >= settings.min_dense_score]
        prompt_text = prompts.ANSWER_SYSTEM + prompts.ANSWER_USER.format(
            passages=format_passages(hits), question=question
        )
        n_prompt = llm.count_tokens(prompt_text)
        n_out = llm.last_stats.completion_tokens or 1
        ttft.append(answer.timings["first_token_s"])
        total.append(answer.timings["total_s"])
        expected.append(n_prompt / prompt_tps + n_out / decode_tps)
        print(
            f"  ask: {question!r}: {n_prompt} prompt + {n_out} answer tokens, first token "
            f"{answer.timings['first_token_s']:.1f} s, total {answer.timings['total_s']:.1f} s"
        )
    print(
        f"tutor ask ({llm.model_id}): time to first token p50 {statistics.median(ttft):.1f} s, "
        f"total p50 {statistics.median(total):.1f} s; raw llama.cpp for the same tokens "
        f"{statistics.median(expected):.1f} s; overhead ratio "
        f"{statistics.median(t / e for t, e in zip(total, expected, strict=True)):.2f}x"
    )


if __name__ == "__main__":
    main()
