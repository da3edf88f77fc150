"""The live stream through real `wangge serve` processes: a case posted to one server arrives
on another's stream (the feed reads the database), a reconnect with Last-Event-ID resumes
without a gap, and the stream ends within seconds of signing out or revoking the key."""

from __future__ import annotations

import json
import os
import queue
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from api.access.sessions import SESSION_COOKIE
from api.live.schemas import Change, ChangePage
from tests.api.process import new_key, running_server

STREAM = {"Accept": "text/event-stream"}
IN_M1 = {"lon": 117.202, "lat": 39.102, "crs": "wgs84", "category": "noise"}
WAIT_S = 20.0


@pytest.fixture(scope="module")
def env(tiny_gpkg: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {
        **os.environ,
        "WANGGE_BOUNDARIES": str(tiny_gpkg),
        "WANGGE_DATA_DIR": str(tmp_path_factory.mktemp("data")),
        "WANGGE_SESSION_SECRET": "stream tests",
    }


@pytest.fixture(scope="module")
def servers(env: dict[str, str]) -> Iterator[tuple[str, str, str]]:
    """Two servers on one database, as two workers, and an admin's key (from the CLI)."""
    admin = new_key(env, "admin")
    with running_server(env) as first, running_server(env) as second:
        yield first, second, admin


@pytest.fixture(scope="module")
def keys(servers: tuple[str, str, str]) -> dict[str, str]:
    first, _, admin = servers
    made = {"admin": admin}
    for role in ("dispatcher", "reporter"):
        response = httpx.post(f"{first}/keys", json={"role": role}, headers=bearer(admin))
        assert response.status_code == 201, response.text
        made[role] = response.json()["key"]
    return made


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


class Listener:
    """Reads one stream in a thread; its events (dicts of the SSE fields) arrive in ``events``
    and ``ended`` is set once the server closed the stream."""

    def __init__(self, url: str, headers: dict[str, str], cookies: dict[str, str] | None = None):
        self.events: queue.Queue[dict[str, str]] = queue.Queue()
        self.ended = threading.Event()
        self.status = 0
        self._client = httpx.Client(timeout=httpx.Timeout(5, read=60), cookies=cookies)
        self._thread = threading.Thread(target=self._run, args=(url, headers), daemon=True)
        self._thread.start()

    def _run(self, url: str, headers: dict[str, str]) -> None:
        try:
            with self._client.stream("GET", url, headers={**STREAM, **headers}) as response:
                self.status = response.status_code
                event: dict[str, str] = {}
                for line in response.iter_lines():
                    if not line:
                        if event:
                            self.events.put(event)
                        event = {}
                    elif not line.startswith(":"):
                        field, _, value = line.partition(":")
                        event[field] = value.lstrip(" ")
        except httpx.HTTPError:
            pass
        finally:
            self.ended.set()

    def next(self, kind: str = "change") -> dict[str, str]:
        """The next event of this kind (others skipped), within WAIT_S."""
        deadline = time.monotonic() + WAIT_S
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"no {kind} event within {WAIT_S} s"
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if event.get("event") == kind:
                return event

    def close(self) -> None:
        self._client.close()


def post(base: str, key: str) -> int:
    response = httpx.post(f"{base}/reports", json=IN_M1, headers=bearer(key))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def head(base: str, key: str) -> int:
    cursor = 0
    while True:
        page = ChangePage.model_validate(
            httpx.get(
                f"{base}/maps/density/changes",
                params={"since_event": cursor, "limit": 500},
                headers=bearer(key),
            ).json()
        )
        cursor = page.next_event
        if not page.more:
            return cursor


def test_a_case_posted_to_one_worker_streams_from_another(servers, keys):
    first, second, _ = servers
    cursor = head(first, keys["dispatcher"])
    listener = Listener(
        f"{second}/maps/density/events?since_event={cursor}", bearer(keys["dispatcher"])
    )
    try:
        report = post(first, keys["reporter"])
        seen: list[Change] = []
        while not any(c.report_id == report and c.to_status == "assigned" for c in seen):
            event = listener.next()
            change = Change.model_validate(json.loads(event["data"]))
            assert event["id"] == str(change.event_id)  # Last-Event-ID resumes from here
            seen.append(change)
        assert listener.status == 200
        assert [c.report_id for c in seen] == [report, report]
    finally:
        listener.close()


def test_a_reconnect_resumes_after_its_last_event(servers, keys):
    first, _, _ = servers
    cursor = head(first, keys["dispatcher"])
    made = [post(first, keys["reporter"]) for _ in range(3)]
    # every case writes two events (submitted, assigned): resume after the first case's
    events = ChangePage.model_validate(
        httpx.get(
            f"{first}/maps/density/changes",
            params={"since_event": cursor},
            headers=bearer(keys["dispatcher"]),
        ).json()
    ).items
    last_seen = [c.event_id for c in events if c.report_id == made[0]][-1]
    listener = Listener(
        f"{first}/maps/density/events?since_event={cursor}",
        {**bearer(keys["dispatcher"]), "Last-Event-ID": str(last_seen)},
    )
    try:
        got = [Change.model_validate(json.loads(listener.next()["data"])) for _ in range(4)]
        assert [c.report_id for c in got] == [made[1], made[1], made[2], made[2]]
        assert all(c.event_id > last_seen for c in got)
    finally:
        listener.close()


def test_the_stream_ends_when_its_browser_signs_out(servers, keys):
    first, _, _ = servers
    signed = httpx.post(f"{first}/signin", data={"key": keys["dispatcher"]}, follow_redirects=False)
    assert signed.status_code == 303
    cookie = {SESSION_COOKIE: signed.cookies[SESSION_COOKIE]}
    listener = Listener(f"{first}/maps/density/events", {}, cookies=cookie)
    try:
        post(first, keys["reporter"])
        listener.next()  # the stream is live
        out = httpx.post(f"{first}/signout", cookies=cookie, follow_redirects=False)
        assert out.status_code == 303
        started = time.monotonic()
        assert listener.next("end")["data"] == "signed out"
        assert listener.ended.wait(WAIT_S)
        assert time.monotonic() - started < 5
    finally:
        listener.close()


def test_the_stream_ends_when_its_key_is_revoked(servers, keys):
    first, second, _ = servers
    made = httpx.post(
        f"{first}/keys", json={"role": "dispatcher"}, headers=bearer(keys["admin"])
    ).json()
    listener = Listener(f"{second}/maps/density/events", bearer(made["key"]))
    try:
        post(first, keys["reporter"])
        listener.next()
        revoked = httpx.delete(f"{first}/keys/{made['id']}", headers=bearer(keys["admin"]))
        assert revoked.status_code == 200
        assert listener.next("end")["data"] == "signed out"  # on the other worker too
        assert listener.ended.wait(WAIT_S)
    finally:
        listener.close()


def test_a_plain_client_gets_one_page(servers, keys):
    first, _, _ = servers
    response = httpx.get(
        f"{first}/maps/density/events", headers={**bearer(keys["dispatcher"]), "Accept": "*/*"}
    )
    assert response.status_code == 200 and response.headers["content-type"].startswith(
        "application/json"
    )
    ChangePage.model_validate(response.json())
