"""Lookups by unit find exactly the rows of the unit's code, whatever level stored it, through
the index on (level, code): on SQLite and PostGIS."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from api.cases.units import STORED_LEVELS, in_units, reports_in
from api.db import Database
from api.db.models import Category, Report, ReportUnit
from tests.api.conftest import postgres_database

T0 = datetime(2026, 5, 1, 8, 30, tzinfo=UTC)
#: report id -> its chain (level, code); "zone" is a level of an older boundary version only,
#: and "street" appears both as a street's code and (by accident of an import) a grid's.
CHAINS = {
    1: [("district", "A"), ("street", "A1"), ("grid", "A1-1")],
    2: [("district", "A"), ("street", "A2"), ("grid", "A2-1")],
    3: [("district", "B"), ("zone", "B-z")],
    4: [("district", "B"), ("street", "B1"), ("grid", "A1")],
}


@pytest.fixture(scope="module", params=["sqlite", "postgis"])
def db(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Database]:
    urls = (
        [f"sqlite:///{tmp_path_factory.mktemp('units') / 'units.db'}"]
        if request.param == "sqlite"
        else postgres_database()
    )
    for url in urls:
        database = Database(url)
        with database.sessions() as session, session.begin():
            if session.get(Category, "other") is None:
                session.add(
                    Category(
                        code="other",
                        name_zh="其他",
                        name_en="Other",
                        sla_hours=24,
                        department="街道办",
                    )
                )
            for report_id, chain in CHAINS.items():
                session.add(_report(report_id))
                session.flush()
                for depth, (level, code) in enumerate(chain):
                    session.add(
                        ReportUnit(
                            report_id=report_id, depth=depth, level=level, code=code, name=code
                        )
                    )
        yield database
        database.dispose()


def _report(report_id: int) -> Report:
    return Report(
        id=report_id, category="other", description="", lon=117.2, lat=39.1, input_crs="wgs84",
        input_lon=117.2, input_lat=39.1, status="submitted", assignment="inside",
        boundary_set="test", created_at=T0, updated_at=T0, due_at=T0,
    )  # fmt: skip


def _ids(db: Database, statement: sa.Select) -> list[int]:  # type: ignore[type-arg]
    with db.sessions() as session:
        return sorted(session.scalars(statement))


def test_every_stored_level_is_named(db):
    with db.sessions() as session:
        assert sorted(session.scalars(STORED_LEVELS)) == ["district", "grid", "street", "zone"]


@pytest.mark.parametrize(
    ("codes", "expected"),
    [
        ("A", [1, 2]),
        ("A1", [1, 4]),  # a street's code and a grid's: both rows
        ("B-z", [3]),  # a level only an older version had
        ("A1-1", [1]),
        ("nowhere", []),
        (["A2", "B"], [2, 3, 4]),
        ([], []),
    ],
)
def test_a_lookup_by_code_finds_exactly_its_rows(db, codes, expected):
    assert _ids(db, reports_in(codes).distinct()) == expected
    wanted = [codes] if isinstance(codes, str) else codes
    every = sa.select(ReportUnit.report_id).where(ReportUnit.code.in_(wanted)).distinct()
    assert _ids(db, every) == expected  # what a scan by code alone finds


def test_sqlite_seeks_the_level_and_code_index(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'plan.db'}")
    statement = sa.select(ReportUnit.report_id).where(in_units("A1"))
    sql = str(statement.compile(db.engine, compile_kwargs={"literal_binds": True}))
    with db.engine.connect() as connection:
        plan = [row[-1] for row in connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql)]
    assert "SEARCH report_units USING INDEX ix_report_units_level_code (level=? AND code=?)" in (
        plan
    ), plan
    db.dispose()
