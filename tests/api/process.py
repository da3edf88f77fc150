"""Run the real service as its own process for end-to-end tests."""

from __future__ import annotations

import os
import random
import signal
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
    """A port free now, from this test process's own range: with the suite in N processes
    (pytest-xdist), process k draws from the k-th of N slices of 10000-31999 (below the
    kernel's ephemeral ports), so two servers started side by side never get the same port in
    the seconds before they bind it."""
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "1"))
    share = int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0) % count
    span = 22_000 // count
    low = 10_000 + share * span
    while True:
        port = random.randrange(low, low + span)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:  # taken: draw again
                continue
        return port


def start_server(env: dict[str, str], port: int, workers: int = 1) -> subprocess.Popen[bytes]:
    """`wangge serve` on 127.0.0.1:port, returned once /health answers (120 s at most).

    The server is the leader of its own process group (with its workers): ``kill_server``.
    It writes reports as deployed, in a child process per worker (the suite's own apps use a
    thread: tests/conftest.py).
    """
    env = {**env, "WANGGE_WRITER": "process"}
    # the log goes to a file: a pipe nobody reads would fill up and stall the server
    log = tempfile.NamedTemporaryFile(prefix="wangge-serve-", suffix=".log", delete=False)
    proc = subprocess.Popen(
        [*WANGGE, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
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


def kill_server(proc: subprocess.Popen[bytes]) -> None:
    """SIGKILL the server and every worker at once (its process group): nothing flushed."""
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()


def worker_pids(proc: subprocess.Popen[bytes], count: int, timeout_s: float = 60) -> list[int]:
    """The pids of the server's ``count`` workers (its children but multiprocessing's
    resource tracker), once all are running."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        children = Path(f"/proc/{proc.pid}/task/{proc.pid}/children").read_text().split()
        workers = [
            int(c) for c in children if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()
        ]
        if len(workers) >= count:
            return workers
        time.sleep(0.05)
    raise RuntimeError(f"the server did not start {count} workers")


def serving_worker(server_port: int, client_port: int, pids: list[int]) -> int | None:
    """Which of ``pids`` holds the server's end of the TCP connection from ``client_port``
    (read from /proc/net/tcp and each worker's file descriptors), None if none does."""
    inode = None
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = fields[1], fields[2]
        if int(local.split(":")[1], 16) == server_port and int(remote.split(":")[1], 16) == (
            client_port
        ):
            inode = fields[9]
    if inode is None:
        return None
    for pid in pids:
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            try:
                if os.readlink(fd) == f"socket:[{inode}]":
                    return pid
            except OSError:
                continue
    return None


def connections_to_each_worker(
    base: str, pids: list[int], headers: dict[str, str] | None = None, tries: int = 200
) -> dict[int, httpx.Client]:
    """A keep-alive client per worker: new connections are opened (and the extra ones closed)
    until every worker holds one. Close the clients afterwards."""
    port = int(base.rsplit(":", 1)[1])
    found: dict[int, httpx.Client] = {}
    for _ in range(tries):
        client = httpx.Client(base_url=base, headers=headers or {}, timeout=30)
        response = client.get("/health")
        stream = response.extensions["network_stream"]
        client_port = stream.get_extra_info("client_addr")[1]
        pid = serving_worker(port, client_port, pids)
        if pid is None or pid in found:
            client.close()
        else:
            found[pid] = client
        if len(found) == len(pids):
            return found
    for client in found.values():
        client.close()
    raise RuntimeError(f"no connection reached every worker in {tries} tries")


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
