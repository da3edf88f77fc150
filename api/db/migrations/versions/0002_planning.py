"""Planning: care facilities, the population base table (per unit and per point), versions.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def _point_column(table: str) -> None:
    """On PostGIS, a point computed from lon/lat with a GiST index (as for reports)."""
    op.execute(
        f"ALTER TABLE {table} ADD COLUMN geom geometry(Point, 4326) "
        "GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)) STORED"
    )
    op.execute(f"CREATE INDEX ix_{table}_geom ON {table} USING GIST (geom)")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "facilities",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("capacity", sa.Integer, nullable=True),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("input_crs", sa.String(20), nullable=False),
        sa.Column("input_lon", sa.Float, nullable=False),
        sa.Column("input_lat", sa.Float, nullable=False),
        sa.Column("source", sa.String(200), nullable=False, server_default="api"),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_index("ix_facilities_type", "facilities", ["type"])
    op.create_table(
        "population_units",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("residents", sa.Integer, nullable=False),
        sa.Column("residents_60", sa.Integer, nullable=False),
        sa.Column("source", sa.String(200), nullable=False, server_default=""),
        sa.Column("updated_at", TZ, nullable=False),
        sa.CheckConstraint("residents_60 >= 0 AND residents_60 <= residents", "ck_units_counts"),
    )
    op.create_table(
        "population_points",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("input_crs", sa.String(20), nullable=False),
        sa.Column("input_lon", sa.Float, nullable=False),
        sa.Column("input_lat", sa.Float, nullable=False),
        sa.Column("residents", sa.Integer, nullable=False),
        sa.Column("residents_60", sa.Integer, nullable=False),
        sa.Column("source", sa.String(200), nullable=False, server_default=""),
        sa.Column("created_at", TZ, nullable=False),
        sa.CheckConstraint("residents_60 >= 0 AND residents_60 <= residents", "ck_points_counts"),
    )
    if postgres:
        _point_column("facilities")
        _point_column("population_points")
    versions = op.create_table(
        "planning_versions",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("version", sa.Integer, nullable=False, server_default="0"),
    )
    op.bulk_insert(versions, [{"name": n, "version": 0} for n in ("facilities", "population")])


def downgrade() -> None:
    for table in ("planning_versions", "population_points", "population_units", "facilities"):
        op.drop_table(table)
