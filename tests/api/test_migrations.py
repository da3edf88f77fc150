"""Migrations on a database that holds reports already, on a real SQLite file and a real
PostGIS database: the reports stored before 0009 get their heat cells (geo.grid's), the
database keeps the reports per cell from then on, and 0009 goes down and up again."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from api.db.engine import MIGRATIONS, make_engine
from api.db.models import HEAT_CELL_M
from geo.grid import grid_cell
from tests.api.conftest import postgres_database

#: Points stored before the cells were (lon, lat), one commented row each.
POINTS = [
    (117.2025, 39.1025),  # Tianjin, in a micro-grid of the tiny set
    (117.2026, 39.1026),  # 14 m away: the same 75 m cell
    (117.2125, 39.1050),  # a kilometre east
    (-179.9999, -89.5),  # next to the antimeridian, near the south pole
    (0.0, 0.0),  # the origin of both axes
    (151.2093, -33.8688),  # southern hemisphere
]


@pytest.fixture(params=["sqlite", "postgis"])
def url(request: pytest.FixtureRequest, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path}/wangge.db"
    else:
        yield from postgres_database()


def _run(engine: sa.Engine, action, revision: str) -> None:  # type: ignore[no-untyped-def]
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        action(config, revision)


def _columns(engine: sa.Engine) -> set[str]:
    return {c["name"] for c in sa.inspect(engine).get_columns("reports")}


def _cells(engine: sa.Engine) -> dict[tuple[int, int], tuple[int, float, float]]:
    """The reports per cell as the database keeps them: count and mean position."""
    with engine.connect() as connection:
        rows = connection.execute(
            sa.text("SELECT heat_x, heat_y, cases, lat_sum, lon_sum FROM report_heat_cells")
        ).all()
    return {
        (x, y): (n, round(lat / n, 9) if n else 0.0, round(lon / n, 9) if n else 0.0)
        for x, y, n, lat, lon in rows
    }


def _grouped(points: list[tuple[float, float]]) -> dict[tuple[int, int], tuple[int, float, float]]:
    """The same, counted point by point."""
    groups: dict[tuple[int, int], list[tuple[float, float]]] = {}
    for lon, lat in points:
        groups.setdefault(grid_cell(lon, lat, HEAT_CELL_M), []).append((lon, lat))
    return {
        cell: (
            len(members),
            round(sum(lat for _, lat in members) / len(members), 9),
            round(sum(lon for lon, _ in members) / len(members), 9),
        )
        for cell, members in groups.items()
    }


def test_reports_stored_before_get_their_heat_cells(url):
    engine = make_engine(url)
    try:
        _run(engine, command.upgrade, "0008")
        now = datetime.now(UTC).replace(tzinfo=None)
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO categories (code, name_zh, name_en, sla_hours, department) "
                    "VALUES ('noise', '噪音', 'Noise', 24, 'city')"
                )
            )
            for lon, lat in POINTS:
                connection.execute(
                    sa.text(
                        "INSERT INTO reports (category, description, lon, lat, input_crs, "
                        "input_lon, input_lat, status, assignment, boundary_set, created_at, "
                        "updated_at, due_at) VALUES ('noise', '', :lon, :lat, 'wgs84', :lon, "
                        ":lat, 'submitted', 'inside', 'tiny', :now, :now, :now)"
                    ),
                    {"lon": lon, "lat": lat, "now": now},
                )
        assert "heat_x" not in _columns(engine)

        _run(engine, command.upgrade, "head")
        with engine.connect() as connection:
            rows = connection.execute(
                sa.text("SELECT lon, lat, heat_x, heat_y FROM reports ORDER BY id")
            ).all()
        assert [(x, y) for _, _, x, y in rows] == [
            grid_cell(lon, lat, HEAT_CELL_M) for lon, lat in POINTS
        ]
        assert rows[0][2:] == rows[1][2:] != rows[2][2:]
        assert _cells(engine) == _grouped(POINTS)

        # from now on the database keeps the cells: a report written, one deleted
        with engine.begin() as connection:
            connection.execute(
                sa.text(
                    "INSERT INTO reports (category, description, lon, lat, input_crs, "
                    "input_lon, input_lat, status, assignment, boundary_set, created_at, "
                    "updated_at, due_at, heat_x, heat_y) VALUES ('noise', '', :lon, :lat, "
                    "'wgs84', :lon, :lat, 'submitted', 'inside', 'tiny', :now, :now, :now, "
                    ":x, :y)"
                ),
                {"lon": 117.2027, "lat": 39.1027, "now": now, "x": rows[0][2], "y": rows[0][3]},
            )
            connection.execute(sa.text("DELETE FROM reports WHERE lon = 0.0"))
        after = [p for p in POINTS if p != (0.0, 0.0)] + [(117.2027, 39.1027)]
        cells = _cells(engine)
        assert {k: v for k, v in cells.items() if v[0]} == _grouped(after)
        assert cells[grid_cell(0.0, 0.0, HEAT_CELL_M)][0] == 0  # emptied, kept

        _run(engine, command.downgrade, "0008")
        assert not {"heat_x", "heat_y"} & _columns(engine)
        assert "report_heat_cells" not in sa.inspect(engine).get_table_names()
        _run(engine, command.upgrade, "head")
        assert {"heat_x", "heat_y"} <= _columns(engine)
    finally:
        engine.dispose()


def test_the_migrated_schema_is_the_models_schema(url):
    """Every table, column and index the models declare is what the migrations build (and
    nothing more): a model's change without its migration, or the reverse, fails here."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    import api.db.heat  # noqa: F401  (its table joins the models' metadata)
    from api.db import Database
    from api.db.models import Base

    db = Database(url)
    try:
        with db.engine.connect() as connection:
            differences = compare_metadata(MigrationContext.configure(connection), Base.metadata)
    finally:
        db.dispose()

    def postgis_own(d: tuple) -> bool:  # type: ignore[type-arg]
        """What PostGIS adds beside the models: its table of systems, the GiST indexes on
        the computed geometries (made by the migrations); on SQLite, no geometries."""
        if db.url.startswith("sqlite"):
            return d[0] == "add_column" and d[3].name == "geom"
        return (d[0] == "remove_table" and d[1].name == "spatial_ref_sys") or (
            d[0] == "remove_index" and d[1].name.endswith("_geom")
        )

    assert [d for d in differences if not postgis_own(d)] == []
