"""Real servers for tests: `tutor serve` / `tutor ui` in their own processes on free ports."""

import contextlib
import subprocess
import sys
import time
from pathlib import Path

import httpx

from tutor.api.launch import free_port


def wait_for(condition, timeout_s: float = 120, every_s: float = 0.2) -> None:
    """Poll `condition()` until it holds; the timeout only bounds a hang (an event that
    never comes), it is not a speed check."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout_s} s")
        time.sleep(every_s)


@contextlib.contextmanager
def _process(args: list[str], env: dict, is_up, timeout_s: float = 180):
    """Run `tutor ARGS --port P`; yield the base URL once `is_up(url)` holds."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "tutor.cli", *args, "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            if process.poll() is not None:
                raise AssertionError(f"`tutor {args[0]}` exited: {process.stdout.read()[-3000:]}")
            with contextlib.suppress(httpx.TransportError):
                if is_up(url):
                    break
            if time.monotonic() > deadline:
                raise AssertionError(f"`tutor {args[0]}` did not come up in {timeout_s} s")
            time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()


def running_server(env: dict, host: str = "127.0.0.1", ready: bool = True):
    """`tutor serve`: up once /healthz answers (and, with `ready`, /readyz says ready)."""

    def is_up(url: str) -> bool:
        if httpx.get(f"{url}/healthz", timeout=2).status_code != 200:
            return False
        return not ready or httpx.get(f"{url}/readyz", timeout=10).status_code == 200

    return _process(["serve", "--host", host], env, is_up)


def running_ui(env: dict):
    """`tutor ui` (Streamlit): up once its health endpoint answers."""
    return _process(
        ["ui"], env, lambda url: httpx.get(f"{url}/_stcore/health", timeout=2).status_code == 200
    )


@contextlib.contextmanager
def running_llama_server(model_path, log_path, port: int | None = None, timeout_s: float = 120):
    """llama.cpp's own OpenAI-compatible server (the HTTP API vLLM serves on a GPU) with
    `model_path` as `tutor-small`; yields its base URL (.../v1) and the process."""
    port = port or free_port()
    with open(log_path, "a") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "llama_cpp.server", "--model", str(model_path)]
            + ["--model_alias", "tutor-small", "--host", "127.0.0.1", "--port", str(port)]
            + ["--n_ctx", "4096", "--n_threads", "2"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{base}/models", timeout=2).status_code == 200:
                    break
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                log = Path(log_path).read_text()
                raise AssertionError(f"llama_cpp.server did not start: {log}")
            time.sleep(0.5)
        yield base, process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
