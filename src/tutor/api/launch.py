"""`tutor serve` in a process of its own on a free loopback port, for the scripts that drive
a live server (benchmarks/bench_api.py, benchmarks/soak_api.py, evals/garak/run_garak.py)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import httpx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def running_api(
    env: dict[str, str] | None = None, timeout_s: float = 600
) -> Iterator[tuple[str, subprocess.Popen]]:
    """Start the API on loopback with `env` (default: this process's), yield its URL and
    process once /readyz says ready, and stop it afterwards."""
    env = dict(os.environ if env is None else env)
    env.pop("TUTOR_API_HOST", None)  # loopback only
    env.setdefault("TQDM_DISABLE", "1")
    port = free_port()
    command = [sys.executable, "-m", "tutor.cli", "serve", "--host", "127.0.0.1"]
    server = subprocess.Popen([*command, "--port", str(port)], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout_s
        while True:
            with contextlib.suppress(httpx.TransportError):
                if httpx.get(f"{url}/readyz", timeout=10).status_code == 200:
                    break
            if time.monotonic() > deadline or server.poll() is not None:
                raise SystemExit("The tutor API did not become ready; see its output above.")
            time.sleep(1)
        yield url, server
    finally:
        server.terminate()
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
