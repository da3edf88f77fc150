"""A real receiver process on 127.0.0.1, and helpers to wait for what it received."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.api.process import free_port


@dataclass
class Receiver:
    url: str
    secret_file: Path
    log: Path
    process: subprocess.Popen[bytes]

    def use_secret(self, secret: str) -> None:
        self.secret_file.write_text(secret)

    def requests(self) -> list[dict[str, Any]]:
        if not self.log.exists():
            return []
        return [json.loads(line) for line in self.log.read_text().splitlines() if line]

    def wait_for(
        self, done: Callable[[list[dict[str, Any]]], bool], timeout: float = 10.0
    ) -> list[dict[str, Any]]:
        """Poll the log until ``done`` holds for it (fail after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        while True:
            got = self.requests()
            if done(got):
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"receiver did not get what was awaited: {got}")
            time.sleep(0.02)


def start_receiver(directory: Path, *options: str) -> Receiver:
    port = free_port()
    directory.mkdir(parents=True, exist_ok=True)
    secret, log = directory / "secret", directory / "log.jsonl"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.api.webhooks.receiver", str(port), str(secret), str(log)]
        + list(options)
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            if time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("receiver did not start") from None
            time.sleep(0.02)
    return Receiver(f"http://127.0.0.1:{port}/hook", secret, log, process)


@pytest.fixture
def receiver_factory(tmp_path: Path) -> Iterator[Callable[..., Receiver]]:
    started: list[Receiver] = []

    def make(*options: str) -> Receiver:
        receiver = start_receiver(tmp_path / f"receiver{len(started)}", *options)
        started.append(receiver)
        return receiver

    yield make
    for receiver in started:
        receiver.process.kill()
        receiver.process.wait(timeout=10)
