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
from fastapi.testclient import TestClient

from api.settings import Settings
from api.webhooks.schemas import DeliveryOut, SubscriptionOut
from tests.api.conftest import auth, make_client
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


M1 = (117.2025, 39.1025)  # micro-grid M1, in grid G1
M5 = (117.2125, 39.1025)  # micro-grid M5, in grid G2


@pytest.fixture(scope="module")
def hooked(
    tiny_gpkg: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[TestClient, dict[str, str]]]:
    settings = Settings(
        boundaries=str(tiny_gpkg),
        data_dir=tmp_path_factory.mktemp("hooks"),
        rate_limit_per_minute=100_000,
        webhook_allowed_hosts="127.0.0.1",
        webhook_retry_base_s=0.3,
        webhook_read_timeout_s=1.0,
        webhook_connect_timeout_s=1.0,
        webhook_poll_s=0.2,
        webhook_lease_s=5.0,
        webhook_workers=4,
        webhook_per_subscription=2,
    )
    client, keys = make_client(settings)
    try:
        yield client, keys
    finally:
        client.__exit__(None, None, None)


@pytest.fixture
def subscribe(hooked) -> Iterator[Callable[..., SubscriptionOut]]:
    client, keys = hooked
    made: list[int] = []

    def make(receiver: Receiver, **fields: Any) -> SubscriptionOut:
        body = {"url": receiver.url, "events": ["report.created"], **fields}
        answer = client.post("/webhooks", json=body, headers=auth(keys["admin"]))
        assert answer.status_code == 201, answer.text
        sub = SubscriptionOut.model_validate(answer.json())
        assert sub.secret
        receiver.use_secret(sub.secret)
        made.append(sub.id)
        return sub

    yield make
    for sub_id in made:
        client.delete(f"/webhooks/{sub_id}", headers=auth(keys["admin"]))


def post_report(hooked, where=M1, **fields: Any) -> dict[str, Any]:
    client, keys = hooked
    body = {"lon": where[0], "lat": where[1], "crs": "wgs84", "category": "rubbish"} | fields
    answer = client.post("/reports", json=body, headers=auth(keys["reporter"]))
    assert answer.status_code == 201, answer.text
    return answer.json()


def of_report(requests: list[dict[str, Any]], report_id: int) -> list[dict[str, Any]]:
    return [r for r in requests if r["body"] and r["body"]["data"].get("id") == report_id]


def deliveries(hooked, sub_id: int) -> list[DeliveryOut]:
    client, keys = hooked
    answer = client.get(f"/webhooks/{sub_id}/deliveries", headers=auth(keys["admin"]))
    assert answer.status_code == 200, answer.text
    return [DeliveryOut.model_validate(d) for d in answer.json()]
