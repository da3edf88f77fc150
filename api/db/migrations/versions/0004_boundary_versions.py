"""Boundary versions (their units, activations), the leader roster, change counters; the
version and the leader's id on reports; the kind of each report event.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.create_table(
        "boundary_versions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("source_name", sa.String(500), nullable=False),
        sa.Column("source_sha256", sa.String(64), nullable=False),
        sa.Column("source_crs", sa.String(40), nullable=False),
        sa.Column("levels", sa.JSON, nullable=False),
        sa.Column("unit_counts", sa.JSON, nullable=False),
        sa.Column("bounds", sa.JSON, nullable=False),
        sa.Column("imported_by", sa.String(200), nullable=False),
        sa.Column("imported_at", TZ, nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("activated_at", TZ, nullable=True),
        sa.Column("retired_at", TZ, nullable=True),
        sa.Column("validation", sa.JSON, nullable=False),
        sa.Column("error_count", sa.Integer, nullable=False),
        sa.Column("warning_count", sa.Integer, nullable=False),
        sa.CheckConstraint("state IN ('draft', 'active', 'retired')", "ck_versions_state"),
    )
    op.create_index("ix_boundary_versions_state", "boundary_versions", ["state"])
    op.create_table(
        "boundary_units",
        sa.Column(
            "version_id", sa.Integer, sa.ForeignKey("boundary_versions.id"), primary_key=True
        ),
        sa.Column("position", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("level", sa.String(64), nullable=False),
        sa.Column("depth", sa.Integer, nullable=False),
        sa.Column("parent", sa.String(64), nullable=False),
        sa.Column("leader_name", sa.String(200), nullable=True),
        sa.Column("leader_phone", sa.String(50), nullable=True),
        sa.Column("leader_id", sa.String(100), nullable=True),
        sa.Column("properties", sa.JSON, nullable=False),
        sa.Column("wkb", sa.LargeBinary, nullable=False),
    )
    op.create_index(
        "ix_boundary_units_version_code", "boundary_units", ["version_id", "code"], unique=True
    )
    if postgres:
        # the polygon as a PostGIS geometry, computed from the WKB, with a GiST index
        op.execute(
            "ALTER TABLE boundary_units ADD COLUMN geom geometry(Geometry, 4326) "
            "GENERATED ALWAYS AS (ST_GeomFromWKB(wkb, 4326)) STORED"
        )
        op.execute("CREATE INDEX ix_boundary_units_geom ON boundary_units USING GIST (geom)")
    op.create_table(
        "boundary_activations",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "version_id",
            sa.Integer,
            sa.ForeignKey("boundary_versions.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("previous_version_id", sa.Integer, nullable=True),
        sa.Column("activated_at", TZ, nullable=False, index=True),
        sa.Column("activated_by", sa.String(200), nullable=False),
        sa.Column("counts", sa.JSON, nullable=False),
    )
    op.create_table(
        "leader_appointments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("unit_code", sa.String(64), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=True),
        sa.Column("phone", sa.String(50), nullable=True),
        sa.Column("person_id", sa.String(100), nullable=True),
        sa.Column("since", TZ, nullable=False),
        sa.Column("until", TZ, nullable=True),
        sa.Column("appointed_by", sa.String(200), nullable=False),
        sa.Column("ended_by", sa.String(200), nullable=True),
        sa.Column("source", sa.String(200), nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.CheckConstraint("until IS NULL OR until >= since", "ck_appointments_period"),
    )
    counters = op.create_table(
        "change_counters",
        sa.Column("name", sa.String(32), primary_key=True),
        sa.Column("value", sa.Integer, nullable=False, server_default="0"),
    )
    op.bulk_insert(counters, [{"name": n, "value": 0} for n in ("boundaries", "roster")])
    # existing reports keep a null version: they were assigned before versions were kept
    op.add_column("reports", sa.Column("boundary_version_id", sa.Integer, nullable=True))
    op.add_column("reports", sa.Column("leader_id", sa.String(100), nullable=True))
    op.create_index("ix_reports_boundary_version_id", "reports", ["boundary_version_id"])
    op.add_column(
        "report_events",
        sa.Column("kind", sa.String(20), nullable=False, server_default="transition"),
    )


def downgrade() -> None:
    op.drop_column("report_events", "kind")
    op.drop_index("ix_reports_boundary_version_id", "reports")
    op.drop_column("reports", "leader_id")
    op.drop_column("reports", "boundary_version_id")
    for table in (
        "change_counters",
        "leader_appointments",
        "boundary_activations",
        "boundary_units",
        "boundary_versions",
    ):
        op.drop_table(table)
