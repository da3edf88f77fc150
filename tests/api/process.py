"""Run the real service as its own process for end-to-end tests."""

from __future__ import annotations

import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

WANGGE = [sys.executable, "-m", "api.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """`wangge serve` on 127.0.0.1:port, returned once /health answers (120 s at most)."""
    # the log goes to a file: a pipe nobody reads would fill up and stall the server
    log = tempfile.NamedTemporaryFile(prefix="wangge-serve-", suffix=".log", delete=False)
    proc = subprocess.Popen(
        [*WANGGE, "serve", "--port", str(port)], env=env, stdout=log, stderr=subprocess.STDOUT
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {Path(log.name).read_text()[-2000:]}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                return proc
        except httpx.TransportError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("server did not start within 120 s")


@contextmanager
def running_server(env: dict[str, str]) -> Iterator[str]:
    """The service on a free port; yields its base URL and stops it afterwards."""
    port = free_port()
    proc = start_server(env, port)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def new_key(env: dict[str, str], role: str) -> str:
    """A key made with the real CLI (alone on its last line)."""
    done = subprocess.run(
        [*WANGGE, "keys", "create", "--role", role],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    key = done.stdout.strip().splitlines()[-1]
    assert key.startswith("wg_") and " " not in key
    return key
