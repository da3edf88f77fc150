"""Each report's heat cell, stored, and the reports per cell kept by the database.

Binning a million reports by an expression of lon and lat costs a scan of the table and a hash
of a million computed keys on every page (1.8 s on PostGIS). The cell on the global grid of
75 m (geo.grid) depends on the report's point alone, so it is computed once, when the report is
written; reports stored before are given theirs here (in SQL on PostgreSQL, through the same
Python function as new rows on SQLite). ``report_heat_cells`` holds the count and the summed
positions of the reports of each cell, kept by triggers in the transaction that writes or
deletes a report (whatever writes it: intake, an import, a script), so the unfiltered map's
heat layer reads some thousand rows instead of a million. Reports never move, so an insert and
a delete are all a cell sees.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03
"""

import math
from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

#: The cell side of api.db.models.HEAT_CELL_M when this migration was written.
CELL_M = 75.0
METRES_PER_DEGREE = 111_320.0
DLAT = repr(CELL_M / METRES_PER_DEGREE)
#: geo.grid's formula as it stood (a migration keeps its own copy: the code may move on).
CELL_X = (
    f"CAST(floor((lon + 180.0) / (({DLAT}) / cos(((floor((lat + 90.0) / ({DLAT})) + 0.5) * "
    f"({DLAT}) - 90.0) * pi() / 180.0))) AS INTEGER)"
)
CELL_Y = f"CAST(floor((lat + 90.0) / ({DLAT})) AS INTEGER)"


def _cell(lon: float, lat: float) -> tuple[int, int]:
    dlat = CELL_M / METRES_PER_DEGREE
    y = math.floor((lat + 90.0) / dlat)
    middle = (y + 0.5) * dlat - 90.0
    dlon = dlat / math.cos(middle * math.pi / 180.0)
    return math.floor((lon + 180.0) / dlon), y


#: The reports per cell, as the database keeps them (the model: api.db.heat.HeatCell).
CELLS = "report_heat_cells"

#: PostgreSQL: one statement's rows at once (transition tables), the cells in key order so
#: that two transactions lock them in the same order.
PG_FUNCTIONS = {
    "insert": f"""
        INSERT INTO {CELLS} (heat_y, heat_x, cases, lat_sum, lon_sum)
        SELECT heat_y, heat_x, count(*), sum(lat), sum(lon) FROM changed
        WHERE heat_y IS NOT NULL AND heat_x IS NOT NULL
        GROUP BY heat_y, heat_x ORDER BY heat_y, heat_x
        ON CONFLICT (heat_y, heat_x) DO UPDATE SET
            cases = {CELLS}.cases + EXCLUDED.cases,
            lat_sum = {CELLS}.lat_sum + EXCLUDED.lat_sum,
            lon_sum = {CELLS}.lon_sum + EXCLUDED.lon_sum""",
    "delete": f"""
        UPDATE {CELLS} SET cases = {CELLS}.cases - gone.cases,
            lat_sum = {CELLS}.lat_sum - gone.lat_sum, lon_sum = {CELLS}.lon_sum - gone.lon_sum
        FROM (SELECT heat_y, heat_x, count(*) AS cases, sum(lat) AS lat_sum,
                     sum(lon) AS lon_sum
              FROM changed GROUP BY heat_y, heat_x ORDER BY heat_y, heat_x) AS gone
        WHERE {CELLS}.heat_y = gone.heat_y AND {CELLS}.heat_x = gone.heat_x""",
}
#: SQLite: row by row.
SQLITE_TRIGGERS = {
    "insert": f"""
        AFTER INSERT ON reports WHEN NEW.heat_y IS NOT NULL AND NEW.heat_x IS NOT NULL BEGIN
        INSERT INTO {CELLS} (heat_y, heat_x, cases, lat_sum, lon_sum)
        VALUES (NEW.heat_y, NEW.heat_x, 1, NEW.lat, NEW.lon)
        ON CONFLICT (heat_y, heat_x) DO UPDATE SET cases = cases + 1,
            lat_sum = lat_sum + excluded.lat_sum, lon_sum = lon_sum + excluded.lon_sum;
        END""",
    "delete": f"""
        AFTER DELETE ON reports BEGIN
        UPDATE {CELLS} SET cases = cases - 1, lat_sum = lat_sum - OLD.lat,
            lon_sum = lon_sum - OLD.lon
        WHERE heat_y = OLD.heat_y AND heat_x = OLD.heat_x;
        END""",
}


def upgrade() -> None:
    bind = op.get_bind()
    postgres = bind.dialect.name == "postgresql"
    op.add_column("reports", sa.Column("heat_x", sa.Integer, nullable=True))
    op.add_column("reports", sa.Column("heat_y", sa.Integer, nullable=True))
    if postgres:
        op.execute(f"UPDATE reports SET heat_x = {CELL_X}, heat_y = {CELL_Y}")
    else:
        # SQLite's math functions are a compile-time option: the cell comes from Python here
        raw: Any = bind.connection.dbapi_connection
        raw.create_function("wangge_heat_x", 2, lambda x, y: _cell(x, y)[0], deterministic=True)
        raw.create_function("wangge_heat_y", 2, lambda x, y: _cell(x, y)[1], deterministic=True)
        op.execute(
            "UPDATE reports SET heat_x = wangge_heat_x(lon, lat), heat_y = wangge_heat_y(lon, lat)"
        )
    op.create_table(
        CELLS,
        sa.Column("heat_y", sa.Integer, primary_key=True),
        sa.Column("heat_x", sa.Integer, primary_key=True),
        sa.Column("cases", sa.Integer, nullable=False),
        sa.Column("lat_sum", sa.Float, nullable=False),
        sa.Column("lon_sum", sa.Float, nullable=False),
    )
    op.execute(
        f"INSERT INTO {CELLS} (heat_y, heat_x, cases, lat_sum, lon_sum) "
        "SELECT heat_y, heat_x, count(*), sum(lat), sum(lon) FROM reports "
        "GROUP BY heat_y, heat_x"
    )
    for action in ("insert", "delete"):
        name = f"reports_heat_cells_{action}"
        if postgres:
            op.execute(
                f"CREATE FUNCTION {name}() RETURNS trigger AS $$ BEGIN "
                f"{PG_FUNCTIONS[action]}; RETURN NULL; END; $$ LANGUAGE plpgsql"
            )
            rows = "NEW" if action == "insert" else "OLD"
            op.execute(
                f"CREATE TRIGGER {name} AFTER {action.upper()} ON reports "
                f"REFERENCING {rows} TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
            )
        else:
            op.execute(f"CREATE TRIGGER {name} {SQLITE_TRIGGERS[action]}")


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for action in ("insert", "delete"):
        name = f"reports_heat_cells_{action}"
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (" ON reports" if postgres else ""))
        if postgres:
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
    op.drop_table(CELLS)
    op.drop_column("reports", "heat_y")
    op.drop_column("reports", "heat_x")
