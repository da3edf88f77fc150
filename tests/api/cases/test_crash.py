"""Kill -9 the real server (one worker, or two on one port) while clients post reports:
nothing acknowledged is lost or doubled."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.process import free_port, kill_server, new_key, start_server

CLIENTS = 6


@pytest.fixture
def env(tiny_gpkg: Path, tmp_path: Path) -> Iterator[dict[str, str]]:
    yield {
        **os.environ,
        "WANGGE_BOUNDARIES": str(tiny_gpkg),
        "WANGGE_DATA_DIR": str(tmp_path),
        "WANGGE_RATE_LIMIT_PER_MINUTE": "1000000",
    }


def _body(client: int, n: int) -> dict[str, object]:
    return {
        "lon": 117.2025 + client * 1e-4,
        "lat": 39.1025 + n * 1e-6,
        "crs": "wgs84",
        "category": "rubbish",
        "description": f"client {client} report {n}",
        "phone": f"100-0000-{client:02d}{n:02d}"[:50],
    }


@pytest.mark.parametrize("workers", [1, 2])
def test_acknowledged_reports_survive_kill_9(env, workers):
    headers = {"Authorization": f"Bearer {new_key(env, 'reporter')}"}
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(env, port, workers=workers)

    acked: dict[str, tuple[dict[str, object], dict[str, object]]] = {}
    unsure: dict[str, dict[str, object]] = {}
    lock = threading.Lock()
    stop = threading.Event()

    def client(c: int) -> None:
        with httpx.Client(base_url=base, headers=headers, timeout=5) as http:
            for n in range(10_000):
                if stop.is_set():
                    return
                key = f"c{c}-n{n}"
                body = _body(c, n)
                try:
                    response = http.post("/reports", json=body, headers={"Idempotency-Key": key})
                except httpx.TransportError:
                    with lock:
                        unsure[key] = body
                    return  # the server is gone
                with lock:
                    if response.status_code == 201:
                        acked[key] = (body, response.json())
                    else:
                        unsure[key] = body

    threads = [threading.Thread(target=client, args=(c,)) for c in range(CLIENTS)]
    for t in threads:
        t.start()
    # kill once enough reports are acknowledged (a state, not a time: a busy machine is slower)
    deadline = time.monotonic() + 120
    while len(acked) <= 50 and time.monotonic() < deadline:
        time.sleep(0.05)
    kill_server(server)  # every process at once, mid-stream, no chance to flush anything
    stop.set()
    for t in threads:
        t.join()
    assert len(acked) > 20, "too few reports before the kill to prove anything"
    print(f"{len(acked)} acknowledged, {len(unsure)} unanswered when the server died")

    server = start_server(env, port, workers=workers)
    try:
        with httpx.Client(base_url=base, headers=headers, timeout=10) as http:
            # every acknowledged report is there, intact
            for key, (body, answer) in acked.items():
                got = http.get(f"/reports/{answer['id']}")
                assert got.status_code == 200, key
                report = got.json()
                assert report["description"] == body["description"]
                assert report["input"]["lon"] == body["lon"]
                assert report["status"] == "assigned"
                assert report["assignment"]["units"][-1]["code"] == "M1"
            # the clients retry everything with the same keys
            for key, (body, answer) in acked.items():
                again = http.post("/reports", json=body, headers={"Idempotency-Key": key})
                assert again.status_code == 201 and again.json()["id"] == answer["id"]
            for key, body in unsure.items():
                again = http.post("/reports", json=body, headers={"Idempotency-Key": key})
                assert again.status_code == 201
            # and no request made two reports
            page = http.get("/reports", params={"limit": 500, "category": "rubbish"}).json()
            total = page["total"]
            descriptions = []
            offset = 0
            while offset < total:
                chunk = http.get("/reports", params={"limit": 500, "offset": offset}).json()
                descriptions += [r["description"] for r in chunk["items"]]
                offset += 500
            assert len(descriptions) == len(set(descriptions)) == len(acked) + len(unsure)
    finally:
        server.terminate()
        server.wait(timeout=10)
