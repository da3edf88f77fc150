"""Two real `wangge serve` processes on one database (a SQLite file, a PostGIS database) answer
from the same version: an activation or a leader change made through one is answered by the
other within 5 seconds, without a restart."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from api.schemas import Health, LookupResult
from api.versions.schemas import ActivationOut, VersionOut
from tests.api.conftest import postgres_database
from tests.api.process import free_port, new_key, start_server
from tests.api.versions.conftest import IN_M1, IN_M3

#: What the issue allows between a change on one server and the other answering with it.
WITHIN_S = 5.0


@pytest.fixture(params=["sqlite", "postgis"])
def env(request, tiny_gpkg: Path, tmp_path: Path) -> Iterator[dict[str, str]]:
    base = {
        **os.environ,
        "WANGGE_BOUNDARIES": str(tiny_gpkg),
        "WANGGE_DATA_DIR": str(tmp_path / "data"),
        "WANGGE_RATE_LIMIT_PER_MINUTE": "100000",
    }
    if request.param == "sqlite":
        yield {**base, "WANGGE_DATABASE_URL": f"sqlite:///{tmp_path / 'shared.db'}"}
    else:
        for url in postgres_database():
            yield {**base, "WANGGE_DATABASE_URL": url}


@pytest.fixture
def servers(env: dict[str, str]) -> Iterator[tuple[str, str]]:
    """Two servers started at the same moment on an empty database."""
    ports = [free_port(), free_port()]
    with ThreadPoolExecutor(2) as pool:
        procs = list(pool.map(lambda port: start_server(env, port), ports))
    try:
        yield f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}"
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.wait(timeout=20)


def eventually(check, what: str) -> float:
    """Seconds until ``check()`` is true; fails past the deadline."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < WITHIN_S, f"{what} not seen within {WITHIN_S} s"
        time.sleep(0.05)
    return time.monotonic() - started


def test_two_servers_answer_from_the_same_version_and_roster(servers, env, next_year_gpkg):
    a, b = servers
    admin = {"Authorization": f"Bearer {new_key(env, 'admin')}"}
    # started together on an empty database, they imported the configured file once
    versions = [
        VersionOut.model_validate(v)
        for v in httpx.get(f"{a}/boundaries/versions", headers=admin).json()
    ]
    assert [(v.id, v.state) for v in versions] == [(1, "active")]

    def unit_at(base: str, place) -> str:
        got = httpx.get(f"{base}/lookup", params={"lon": place[0], "lat": place[1]}, headers=admin)
        return LookupResult.model_validate(got.json()).units[-1].code

    def leader_at(base: str, place) -> str | None:
        got = httpx.get(f"{base}/lookup", params={"lon": place[0], "lat": place[1]}, headers=admin)
        leader = LookupResult.model_validate(got.json()).leader
        return leader.name if leader else None

    assert unit_at(a, IN_M3) == unit_at(b, IN_M3) == "M3"
    with next_year_gpkg.open("rb") as f:
        imported = httpx.post(
            f"{a}/boundaries/versions", files={"file": (next_year_gpkg.name, f)}, headers=admin
        )
    assert imported.status_code == 201, imported.text
    version = VersionOut.model_validate(imported.json()).id
    activated = httpx.post(f"{a}/boundaries/versions/{version}/activate", headers=admin, timeout=60)
    assert activated.status_code == 200, activated.text
    ActivationOut.model_validate(activated.json())
    assert unit_at(a, IN_M3) == "M1"  # at once on the server that activated it

    def b_version() -> int | None:
        return Health.model_validate(httpx.get(f"{b}/health").json()).boundaries.version_id

    eventually(lambda: b_version() == version, "the activation on the other server")
    assert unit_at(b, IN_M3) == "M1"

    # a leader changed through the second server is named by the first
    changed = httpx.put(f"{b}/units/M1/leader", json={"name": "钱多"}, headers=admin)
    assert changed.status_code == 200, changed.text
    assert leader_at(b, IN_M1) == "钱多"
    eventually(lambda: leader_at(a, IN_M1) == "钱多", "the leader change on the other server")
    # and a report made on either names the leader and version of now
    for base in (a, b):
        made = httpx.post(
            f"{base}/reports",
            json={"lon": IN_M1[0], "lat": IN_M1[1], "category": "noise"},
            headers=admin,
        )
        assert made.status_code == 201, made.text
        assignment = made.json()["assignment"]
        assert assignment["boundary_version_id"] == version
        assert assignment["leader"]["name"] == "钱多"
