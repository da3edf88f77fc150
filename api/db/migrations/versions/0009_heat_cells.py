"""Each report's heat cell, stored: the density map's heat layer groups by an index.

Binning a million reports by an expression of lon and lat costs a scan of the table and a hash
of a million computed keys on every page (1.8 s on PostGIS). The cell on the global grid of
75 m (geo.grid) depends on the report's point alone, so it is computed once, when the report is
written, and the index on (heat_y, heat_x, lat, lon) hands the GROUP BY its rows in order with
the positions it averages, without reading the table. Reports stored before are given theirs
here: in SQL on PostgreSQL, through the same Python function as new rows on SQLite.

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


def upgrade() -> None:
    bind = op.get_bind()
    op.add_column("reports", sa.Column("heat_x", sa.Integer, nullable=True))
    op.add_column("reports", sa.Column("heat_y", sa.Integer, nullable=True))
    if bind.dialect.name == "postgresql":
        op.execute(f"UPDATE reports SET heat_x = {CELL_X}, heat_y = {CELL_Y}")
    else:
        # SQLite's math functions are a compile-time option: the cell comes from Python here
        raw: Any = bind.connection.dbapi_connection
        raw.create_function("wangge_heat_x", 2, lambda x, y: _cell(x, y)[0], deterministic=True)
        raw.create_function("wangge_heat_y", 2, lambda x, y: _cell(x, y)[1], deterministic=True)
        op.execute(
            "UPDATE reports SET heat_x = wangge_heat_x(lon, lat), heat_y = wangge_heat_y(lon, lat)"
        )
    op.create_index("ix_reports_heat_cell", "reports", ["heat_y", "heat_x", "lat", "lon"])


def downgrade() -> None:
    op.drop_index("ix_reports_heat_cell", table_name="reports")
    op.drop_column("reports", "heat_y")
    op.drop_column("reports", "heat_x")
