"""Shared fixtures: real embedder, real FAISS/BM25 indexes, the real 0.5B llama.cpp model.

The 0.5B model is assembled once into the default models directory (as `make test`
already does) and loaded once per run; indexes live in temporary data directories.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from tutor.config import Settings  # noqa: E402
from tutor.models import PACKAGED_MODELS, assemble_packaged_model  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TEST_CORPUS = REPO / "tests" / "data" / "corpus"
SMALL_MODEL = "qwen2.5-coder-0.5b"


@pytest.fixture(scope="session")
def small_model_path() -> Path:
    return assemble_packaged_model(PACKAGED_MODELS[SMALL_MODEL], Settings().models_dir)


def make_settings(data_dir: Path, corpus_dir: Path, model_path: Path | None = None, **extra):
    values = dict(data_dir=data_dir, corpus_dir=corpus_dir, llm_threads=2)
    if model_path is not None:
        values["llm_model"] = str(model_path)
    values.update(extra)
    return Settings(**values)


@pytest.fixture
def corpus_copy(tmp_path) -> Path:
    """An editable copy of the small test corpus."""
    target = tmp_path / "corpus"
    shutil.copytree(TEST_CORPUS, target)
    return target


@pytest.fixture
def settings(tmp_path, corpus_copy, small_model_path) -> Settings:
    return make_settings(tmp_path / "data", corpus_copy, small_model_path)


@pytest.fixture(scope="session")
def embedder():
    from tutor.embed import Embedder

    return Embedder("all-MiniLM-L6-v2")


@pytest.fixture(scope="session")
def small_llm(small_model_path):
    from tutor.llm.llamacpp import LlamaCppBackend

    return LlamaCppBackend(small_model_path, 4096, 2, small_model_path.parent)


@pytest.fixture(scope="session")
def course_settings(tmp_path_factory, small_model_path) -> Settings:
    """The real course corpus (roadmap and study notes), indexed once per run."""
    from tutor.index import build_index

    settings = make_settings(tmp_path_factory.mktemp("course"), REPO / "corpus", small_model_path)
    build_index(settings)
    return settings


@pytest.fixture(scope="session")
def course_tutor(course_settings, embedder, small_llm):
    from tutor.answer import Tutor
    from tutor.index import load_index
    from tutor.retrieve import Retriever

    retriever = Retriever(load_index(course_settings), embedder, course_settings)
    return Tutor(course_settings, retriever, small_llm)


def course_env(settings: Settings, **extra: str) -> dict:
    """Environment for a `tutor` subprocess on the course index with the 0.5B model; the
    caller's own TUTOR_* variables are left out so they cannot change what is tested."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TUTOR_")}
    env.update(
        TUTOR_DATA_DIR=str(settings.data_dir),
        TUTOR_CORPUS_DIR=str(settings.corpus_dir),
        TUTOR_LLM_MODEL=settings.llm_model,
        TUTOR_LLM_THREADS="2",
        # Tests that ask a question twice want two generations; the cache has its own tests.
        TUTOR_ANSWER_CACHE="false",
        COLUMNS="200",
    )
    env.update(extra)
    return env


@pytest.fixture(scope="session")
def base_env(course_settings) -> dict:
    """A `tutor serve` environment: course index, 0.5B model, short answers, no rate limit."""
    return course_env(
        course_settings, TUTOR_MAX_ANSWER_TOKENS="64", TUTOR_API_RATE_LIMIT_PER_MINUTE="100000"
    )


@pytest.fixture(scope="session")
def api(base_env):
    """One running API for the tests that need no settings of their own."""
    from servers import running_server

    with running_server(base_env) as url:
        yield url
