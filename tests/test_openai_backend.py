"""The OpenAI-compatible backend against a real server: llama.cpp's own, on loopback,
serving the packaged 0.5B model (the same HTTP API vLLM serves on a GPU)."""

import pytest
from servers import running_llama_server

from tutor.answer import Done, Token, Tutor
from tutor.llm import make_backend
from tutor.llm.openai_compat import OpenAICompatBackend


@pytest.fixture(scope="module")
def llama_server(small_model_path, tmp_path_factory):
    log = tmp_path_factory.mktemp("server") / "server.log"
    with running_llama_server(small_model_path, log) as (base, _):
        yield base


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
