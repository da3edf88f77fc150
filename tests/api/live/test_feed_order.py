"""The change feed on PostgreSQL, where event ids come from a sequence and two transactions
can commit out of id order: the feed waits at a gap that may still be filled, so no change
is passed over, and goes past a gap left by a transaction that rolled back once it has
settled."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.db.models import ReportEvent
from api.live.feed import SETTLE, settled_head
from api.live.schemas import ChangePage
from api.settings import Settings
from tests.api.conftest import auth, make_client, postgres_database


@pytest.fixture(scope="module")
def api(tiny_gpkg: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    for url in postgres_database():
        settings = Settings(
            database_url=url,
            boundaries=str(tiny_gpkg),
            data_dir=tmp_path_factory.mktemp("feed-order"),
            rate_limit_per_minute=100_000,
        )
        client, keys = make_client(settings)
        client.headers.update(auth(keys["dispatcher"]))
        client.keys = keys  # type: ignore[attr-defined]
        try:
            yield client
        finally:
            client.__exit__(None, None, None)


def page(api: TestClient, since: int) -> ChangePage:
    response = api.get("/maps/density/changes", params={"since_event": since, "limit": 500})
    assert response.status_code == 200, response.text
    return ChangePage.model_validate(response.json())


def drain(api: TestClient, since: int = 0) -> int:
    while True:
        got = page(api, since)
        since = got.next_event
        if not got.more:
            return since


def report(api: TestClient) -> int:
    body = {"lon": 117.202, "lat": 39.102, "crs": "wgs84", "category": "noise"}
    response = api.post("/reports", json=body, headers=auth(api.keys["reporter"]))  # type: ignore[attr-defined]
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def pending_event(api: TestClient, report_id: int):  # noqa: ANN201
    """A session holding an uncommitted event of the report: its id is taken, not visible."""
    session = api.app.state.db.session()  # type: ignore[attr-defined]
    event = ReportEvent(
        report_id=report_id,
        at=datetime.now(UTC),
        actor="roster",
        role="admin",
        from_status="assigned",
        to_status="assigned",
        kind="leader_changed",
    )
    session.add(event)
    session.flush()
    return session, event.id


def test_an_event_committed_after_a_later_one_is_not_passed_over(api: TestClient) -> None:
    case = report(api)
    cursor = drain(api)
    session, held = pending_event(api, case)
    try:
        moved = api.post(f"/reports/{case}/transitions", json={"to": "accepted"})
        assert moved.status_code == 200, moved.text
        waiting = page(api, cursor)
        assert waiting.next_event < held
        assert all(c.event_id < held for c in waiting.items)
        session.commit()
    finally:
        session.close()
    caught = page(api, waiting.next_event)
    ids = [c.event_id for c in caught.items]
    assert held in ids and ids == sorted(ids)
    assert [c.to_status for c in caught.items if c.event_id > held] == ["accepted"]


def test_a_rolled_back_id_is_waited_for_until_it_settles(api: TestClient) -> None:
    case = report(api)
    cursor = drain(api)
    session, lost = pending_event(api, case)
    session.rollback()
    session.close()
    moved = api.post(f"/reports/{case}/transitions", json={"to": "accepted"})
    assert moved.status_code == 200, moved.text
    with api.app.state.db.session() as read:  # type: ignore[attr-defined]
        now = datetime.now(UTC)
        assert settled_head(read, cursor, 100, now)[0] == lost - 1
        head, _ = settled_head(read, cursor, 100, now + SETTLE * 2)
    assert head > lost
    assert page(api, cursor).next_event == lost - 1
