"""The OpenAI-compatible backend against a real server: llama.cpp's own, on loopback,
serving the packaged 0.5B model (the same HTTP API vLLM serves on a GPU)."""

import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tutor.answer import Done, Token, Tutor
from tutor.llm import make_backend
from tutor.llm.openai_compat import OpenAICompatBackend


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def llama_server(small_model_path, tmp_path_factory):
    port = _free_port()
    log = tmp_path_factory.mktemp("server") / "server.log"
    with log.open("w") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "llama_cpp.server",
                "--model",
                str(small_model_path),
                "--model_alias",
                "tutor-small",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--n_ctx",
                "4096",
                "--n_threads",
                "2",
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}/v1"
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{base}/models", timeout=2).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise RuntimeError(f"llama_cpp.server did not start:\n{log.read_text()}") from None
            time.sleep(0.5)
    yield base
    proc.terminate()
    proc.wait(timeout=30)


def test_streams_a_chat_completion_from_the_server(llama_server):
    backend = OpenAICompatBackend(llama_server, "tutor-small", "not-needed", 60)
    pieces = list(
        backend.stream_chat(
            [{"role": "user", "content": "Count from one to five in English words."}], 32, 0.0
        )
    )
    assert len(pieces) > 1  # really streamed, piece by piece
    assert "three" in "".join(pieces).lower()


def test_the_tutor_answers_with_citations_through_the_http_backend(
    llama_server, course_settings, course_tutor
):
    settings = course_settings.model_copy(
        update={"llm_backend": "openai", "llm_base_url": llama_server, "llm_model": "tutor-small"}
    )
    tutor = Tutor(settings, course_tutor.retriever, make_backend(settings))
    events = list(tutor.stream("What is mode collapse in a GAN?"))
    answer = events[-1].answer
    assert isinstance(events[-1], Done) and not answer.abstained
    assert sum(isinstance(e, Token) for e in events) > 3
    assert answer.citations and answer.model_id == "tutor-small"
    assert all(c.chunk_id in {h["chunk_id"] for h in answer.retrieval} for c in answer.citations)
