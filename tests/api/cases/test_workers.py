"""`wangge serve --workers 2` on one database (a SQLite file, a PostGIS database): what each
worker keeps in memory agrees with the others. A connection is held to each worker (found
through /proc), so every check goes through both."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from api.schemas import Health, KeyOut, ReportOut
from api.versions.schemas import VersionOut
from tests.api.conftest import postgres_database
from tests.api.process import (
    connections_to_each_worker,
    free_port,
    new_key,
    start_server,
    worker_pids,
)
from tests.api.versions.conftest import IN_M1, IN_M3
from tests.api.versions.conftest import next_year_gpkg as next_year_gpkg  # the fixture

WORKERS = 2
#: Keys limited to this many requests a minute in these tests.
LIMIT = 30


@pytest.fixture(scope="module", params=["sqlite", "postgis"])
def env(
    request, tiny_gpkg: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    tmp_path = tmp_path_factory.mktemp(request.param)
    base = {
        **os.environ,
        "WANGGE_BOUNDARIES": str(tiny_gpkg),
        "WANGGE_DATA_DIR": str(tmp_path / "data"),
        "WANGGE_RATE_LIMIT_PER_MINUTE": str(LIMIT),
    }
    if request.param == "sqlite":
        yield {**base, "WANGGE_DATABASE_URL": f"sqlite:///{tmp_path / 'shared.db'}"}
    else:
        for url in postgres_database():
            yield {**base, "WANGGE_DATABASE_URL": url}


@pytest.fixture(scope="module")
def server(env: dict[str, str]) -> Iterator[tuple[str, list[int]]]:
    """Two workers on one port: the base URL and the workers' pids."""
    port = free_port()
    proc = start_server(env, port, workers=WORKERS)
    try:
        pids = worker_pids(proc, WORKERS)
        # each worker answers once it has started (the supervisor's /health is any one's)
        yield f"http://127.0.0.1:{port}", pids
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.fixture
def admin(env: dict[str, str]) -> dict[str, str]:
    return {"Authorization": f"Bearer {new_key(env, 'admin')}"}


def within(seconds: float, check, what: str) -> float:  # type: ignore[no-untyped-def]
    """Seconds until ``check()`` holds; fails past ``seconds``."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < seconds, f"{what} not within {seconds} s"
        time.sleep(0.02)
    return time.monotonic() - started


def test_a_report_made_on_one_worker_is_a_duplicate_on_the_other(server, admin):
    base, pids = server
    one, other = connections_to_each_worker(base, pids, admin).values()
    try:
        body = {"lon": IN_M1[0], "lat": IN_M1[1], "category": "rubbish", "description": "first"}
        first = ReportOut.model_validate(one.post("/reports", json=body).json())
        later: list[ReportOut] = []

        def seen_on_the_other() -> bool:
            made = other.post("/reports", json={**body, "description": "again"})
            assert made.status_code == 201, made.text
            later.append(ReportOut.model_validate(made.json()))
            return first.id in [d.id for d in later[-1].possible_duplicates or []]

        within(10.0, seen_on_the_other, "the other worker's report as a possible duplicate")
        # and the other way round: the first worker sees what the second made
        back = ReportOut.model_validate(one.post("/reports", json=body).json())
        ids = [d.id for d in back.possible_duplicates or []]
        assert first.id in ids
        assert later[0].id in ids or within(
            10.0,
            lambda: (
                later[0].id
                in [
                    d.id
                    for d in ReportOut.model_validate(
                        one.post("/reports", json=body).json()
                    ).possible_duplicates
                    or []
                ]
            ),
            "the second worker's report on the first",
        )
    finally:
        one.close()
        other.close()


def test_a_rate_limit_holds_across_workers(server, env, admin):
    base, pids = server
    made = KeyOut.model_validate(
        httpx.post(f"{base}/keys", json={"role": "planner"}, headers=admin).json()
    )
    headers = {"Authorization": f"Bearer {made.key}"}
    one, other = connections_to_each_worker(base, pids, headers).values()
    try:
        # connections_to_each_worker itself spent requests of this key: count from the table
        engine = sa.create_engine(env["WANGGE_DATABASE_URL"])

        def counted() -> int:
            with engine.connect() as connection:
                return int(
                    connection.execute(
                        sa.text(
                            "SELECT COALESCE(SUM(count), 0) FROM rate_counts WHERE key_id = :k"
                        ),
                        {"k": made.id},
                    ).scalar_one()
                )

        spent = [one.get("/categories").status_code for _ in range(LIMIT // 2)]
        assert set(spent) == {200}
        # the first worker's count shared (4 times a second), as a state, not a time
        within(10.0, lambda: counted() >= LIMIT // 2, "the first worker's count in the database")
        already = counted()
        codes = []
        for _ in range(LIMIT):  # a request every 20 ms on the other worker
            codes.append(other.get("/categories").status_code)
            time.sleep(0.02)
        admitted = codes.count(200)
        assert set(codes) == {200, 429}
        # without sharing the other worker would admit LIMIT; shared, what is left (one
        # either way at a minute's turn, where the sliding window weighs the last minute)
        assert abs(admitted - (LIMIT - already)) <= 1, (admitted, already)
        assert codes[-1] == 429
        engine.dispose()
    finally:
        one.close()
        other.close()


def test_a_key_revoked_on_one_worker_is_refused_by_the_other_within_a_second(server, env, admin):
    base, pids = server
    made = KeyOut.model_validate(
        httpx.post(f"{base}/keys", json={"role": "reporter"}, headers=admin).json()
    )
    key, key_id = made.key, made.id
    assert key is not None
    clients = connections_to_each_worker(base, pids, {"Authorization": f"Bearer {key}"})
    one, other = clients.values()
    try:
        for client in (one, other):  # both have the key in their caches
            assert client.get("/categories").status_code == 200
        revoked = one.delete(f"/keys/{key_id}", headers=admin)
        assert revoked.status_code == 200, revoked.text
        assert one.get("/categories").status_code == 401  # at once where it was revoked
        took = within(1.0, lambda: other.get("/categories").status_code == 401, "revocation")
        print(f"revocation seen by the other worker after {took * 1000:.0f} ms")
        assert other.get("/categories").status_code == 401
    finally:
        one.close()
        other.close()


def test_both_workers_answer_from_the_same_active_version(server, admin, next_year_gpkg):
    base, pids = server
    one, other = connections_to_each_worker(base, pids, admin).values()
    try:

        def version(client: httpx.Client) -> int | None:
            return Health.model_validate(client.get("/health").json()).boundaries.version_id

        assert version(one) == version(other) == 1
        with next_year_gpkg.open("rb") as f:
            imported = one.post(
                "/boundaries/versions", files={"file": (next_year_gpkg.name, f)}, timeout=60
            )
        assert imported.status_code == 201, imported.text
        new = VersionOut.model_validate(imported.json()).id
        activated = one.post(f"/boundaries/versions/{new}/activate", timeout=60)
        assert activated.status_code == 200, activated.text
        assert version(one) == new
        within(10.0, lambda: version(other) == new, "the activation on the other worker")
        for client in (one, other):  # a report on either is placed under the new version
            made = client.post(
                "/reports", json={"lon": IN_M3[0], "lat": IN_M3[1], "category": "noise"}
            )
            assignment = ReportOut.model_validate(made.json()).assignment
            assert assignment.boundary_version_id == new
            assert assignment.units[-1].code == "M1"
    finally:
        one.close()
        other.close()
