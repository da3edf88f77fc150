"""Kill -9 the real server while it delivers: after a restart the event arrives, with the
same event id (at least once; nothing committed is lost)."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import httpx

from tests.api.process import free_port, new_key, start_server


def test_an_event_in_flight_at_kill_9_is_delivered_after_restart(
    tiny_gpkg: Path, tmp_path: Path, receiver_factory
):
    env = {
        **os.environ,
        "WANGGE_BOUNDARIES": str(tiny_gpkg),
        "WANGGE_DATA_DIR": str(tmp_path / "data"),
        "WANGGE_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1",
        "WANGGE_WEBHOOK_READ_TIMEOUT_S": "120",  # the server is still waiting when killed
        "WANGGE_WEBHOOK_LEASE_S": "2",
        "WANGGE_WEBHOOK_POLL_S": "0.2",
    }
    admin = {"Authorization": f"Bearer {new_key(env, 'admin')}"}
    receiver = receiver_factory("--hang", "1")  # the first request is never answered
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = start_server(env, port)
    try:
        made = httpx.post(f"{base}/keys", json={"role": "reporter"}, headers=admin).json()
        reporter = {"Authorization": f"Bearer {made['key']}"}
        sub = httpx.post(
            f"{base}/webhooks",
            json={"url": receiver.url, "events": ["report.created"]},
            headers=admin,
        ).json()
        receiver.use_secret(sub["secret"])
        report = httpx.post(
            f"{base}/reports",
            json={"lon": 117.2025, "lat": 39.1025, "crs": "wgs84", "category": "rubbish"},
            headers=reporter,
        )
        assert report.status_code == 201, report.text
        [first] = receiver.wait_for(lambda r: len(r) == 1)
        assert first["status"] == 0 and first["valid"]  # received, never answered
        os.kill(server.pid, signal.SIGKILL)
        server.wait(timeout=10)
        server = start_server(env, port)
        got = receiver.wait_for(lambda r: any(x["status"] == 200 for x in r), timeout=20)
        done = [x for x in got if x["status"] == 200]
        assert [x["event_id"] for x in done] == [first["event_id"]]
        assert done[0]["valid"] and done[0]["body"]["data"]["id"] == report.json()["id"]
        deadline = time.monotonic() + 10
        while True:
            [delivery] = httpx.get(f"{base}/webhooks/{sub['id']}/deliveries", headers=admin).json()
            if delivery["state"] == "delivered":
                break
            assert time.monotonic() < deadline, delivery
            time.sleep(0.1)
        assert delivery["event_id"] == first["event_id"]
    finally:
        server.kill()
        server.wait(timeout=10)
