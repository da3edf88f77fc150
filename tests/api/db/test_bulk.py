"""The writer's raw inserts store what SQLAlchemy's Core would store, on SQLite and PostGIS."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from api.db import Database
from api.db.bulk import RawInsert, begin_write, rows_with_keys
from api.db.models import IdempotencyRecord, ReportEvent, WebhookEvent
from tests.api.conftest import postgres_database

EVENTS = WebhookEvent.__table__
AUDIT = ReportEvent.__table__
RECORDS = IdempotencyRecord.__table__
T0 = datetime(2026, 5, 1, 8, 30, 15, 250_000, tzinfo=UTC)


@pytest.fixture(scope="module", params=["sqlite", "postgis"])
def db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('bulk') / 'bulk.db'}"
        database = Database(url)
        yield database
        database.dispose()
    else:
        for url in postgres_database():
            database = Database(url)
            yield database
            database.dispose()


def record(i: int) -> dict[str, object]:
    return {
        "client": "key:1",
        "key": f"k-{i}",
        "request_hash": f"{i:064d}",
        "status_code": 201,
        "response": {"id": i, "说明": "中文", "nested": [1, 2.5, None]},
        "created_at": T0 + timedelta(seconds=i),
    }


def test_rows_read_back_as_sqlalchemy_reads_them(db):
    rows = [record(i) for i in range(5)]
    with db.engine.begin() as connection:
        begin_write(connection)
        RawInsert(connection.dialect, RECORDS, tuple(rows[0])).execute(connection, rows)
    with db.engine.connect() as connection:
        stored = connection.execute(
            sa.select(RECORDS).where(RECORDS.c.key.in_([f"k-{i}" for i in range(5)]))
        ).all()
        found = rows_with_keys(
            connection, RECORDS, "key", ["k-1", "k-3", "absent"], ("key", "response")
        )
    by_key = {r.key: r for r in stored}
    for row in rows:
        got = by_key[row["key"]]
        assert got.response == row["response"]
        assert got.created_at == row["created_at"]  # an aware UTC datetime, to the microsecond
        assert got.status_code == 201
    assert sorted((r["key"], r["response"]["id"]) for r in found) == [("k-1", 1), ("k-3", 3)]


def test_many_rows_in_one_statement_get_their_ids_in_order(db):
    """More rows than one SQLite statement may hold parameters for: chunked, ids in order."""
    rows = [
        {"event_id": f"e-{i:06d}", "type": "report.created", "occurred_at": T0, "entity": None,
         "units": ["A", "B"], "category": None, "data": {"n": i}, "private": {},
         "fanned_out": True}
        for i in range(4_000)
    ]  # fmt: skip
    with db.engine.begin() as connection:
        begin_write(connection)
        insert = RawInsert(connection.dialect, EVENTS, tuple(rows[0]))
        first = insert.returning_ids(connection, rows[:1])
        ids = insert.returning_ids(connection, rows[1:])
    with db.engine.connect() as connection:
        stored = dict(connection.execute(sa.select(EVENTS.c.id, EVENTS.c.data)).all())
    assert len(ids) == len(set(ids)) == 3_999 and ids == sorted(ids) and first[0] < ids[0]
    assert [stored[i]["n"] for i in first + ids] == list(range(4_000))


def test_a_table_with_python_defaults_must_be_given_them(db):
    with pytest.raises(ValueError, match="Python defaults"):
        RawInsert(db.engine.dialect, AUDIT, ("report_id", "at", "actor", "role", "to_status"))


def test_sqlite_ids_are_chosen_only_in_a_write_transaction(tmp_path):
    database = Database(f"sqlite:///{tmp_path / 'ids.db'}")
    try:
        row = {"event_id": "e", "type": "t", "occurred_at": T0, "entity": None, "units": [],
               "category": None, "data": {}, "private": {}, "fanned_out": True}  # fmt: skip
        with database.engine.connect() as connection:
            insert = RawInsert(connection.dialect, EVENTS, tuple(row))
            with pytest.raises(RuntimeError, match="begin_write"):
                insert.returning_ids(connection, [row])
    finally:
        database.dispose()
