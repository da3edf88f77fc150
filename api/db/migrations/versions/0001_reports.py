"""Reports, their units, events, photos, categories, API keys and idempotency records.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute("CREATE EXTENSION IF NOT EXISTS postgis")
    op.create_table(
        "categories",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("name_zh", sa.String(100), nullable=False),
        sa.Column("name_en", sa.String(100), nullable=False),
        sa.Column("sla_hours", sa.Float, nullable=False),
        sa.Column("department", sa.String(100), nullable=False),
        sa.Column("duplicate_radius_m", sa.Float, nullable=True),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("prefix", sa.String(16), nullable=False, unique=True, index=True),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("unit_code", sa.String(64), nullable=True),
        sa.Column("name", sa.String(200), nullable=False, server_default=""),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("revoked_at", TZ, nullable=True),
    )
    op.create_table(
        "reports",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("category", sa.String(64), sa.ForeignKey("categories.code"), nullable=False),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("address", sa.String(500), nullable=True),
        sa.Column("reporter_name", sa.String(200), nullable=True),
        sa.Column("reporter_phone", sa.String(50), nullable=True),
        sa.Column("submitted_by", sa.Integer, sa.ForeignKey("api_keys.id"), nullable=True),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("input_crs", sa.String(20), nullable=False),
        sa.Column("input_lon", sa.Float, nullable=False),
        sa.Column("input_lat", sa.Float, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("assignment", sa.String(12), nullable=False),
        sa.Column("distance_m", sa.Float, nullable=True),
        sa.Column("unit_code", sa.String(64), nullable=True),
        sa.Column("leader_unit", sa.String(64), nullable=True),
        sa.Column("leader_name", sa.String(200), nullable=True),
        sa.Column("leader_phone", sa.String(50), nullable=True),
        sa.Column("boundary_set", sa.String(500), nullable=False),
        sa.Column("department", sa.String(100), nullable=True),
        sa.Column("duplicate_of", sa.Integer, sa.ForeignKey("reports.id"), nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
        sa.Column("due_at", TZ, nullable=False),
        sa.Column("resolved_at", TZ, nullable=True),
        sa.Column("closed_at", TZ, nullable=True),
        sa.Column("rating", sa.Integer, nullable=True),
        sa.Column("rating_comment", sa.Text, nullable=True),
    )
    for column in ("category", "status", "unit_code", "created_at", "due_at"):
        op.create_index(f"ix_reports_{column}", "reports", [column])
    op.create_index("ix_reports_lon_lat", "reports", ["lon", "lat"])
    if postgres:
        # a point computed from lon/lat with a GiST index, for bounding-box queries
        op.execute(
            "ALTER TABLE reports ADD COLUMN geom geometry(Point, 4326) "
            "GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lon, lat), 4326)) STORED"
        )
        op.execute("CREATE INDEX ix_reports_geom ON reports USING GIST (geom)")
    op.create_table(
        "report_units",
        sa.Column("report_id", sa.Integer, sa.ForeignKey("reports.id"), primary_key=True),
        sa.Column("depth", sa.Integer, primary_key=True),
        sa.Column("level", sa.String(64), nullable=False),
        sa.Column("code", sa.String(64), nullable=False, index=True),
        sa.Column("name", sa.String(200), nullable=False),
    )
    op.create_table(
        "report_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("report_id", sa.Integer, sa.ForeignKey("reports.id"), nullable=False, index=True),
        sa.Column("at", TZ, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("from_status", sa.String(20), nullable=True),
        sa.Column("to_status", sa.String(20), nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("data", sa.JSON, nullable=False),
    )
    # the audit trail is append-only: the database itself refuses updates and deletes
    if postgres:
        op.execute(
            "CREATE FUNCTION report_events_append_only() RETURNS trigger AS $$ BEGIN "
            "RAISE EXCEPTION 'report_events is append-only'; END; $$ LANGUAGE plpgsql"
        )
        op.execute(
            "CREATE TRIGGER report_events_append_only BEFORE UPDATE OR DELETE ON report_events "
            "FOR EACH ROW EXECUTE FUNCTION report_events_append_only()"
        )
    else:
        for action in ("UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER report_events_no_{action.lower()} BEFORE {action} ON "
                "report_events BEGIN SELECT RAISE(ABORT, 'report_events is append-only'); END"
            )
    op.create_table(
        "photos",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("report_id", sa.Integer, sa.ForeignKey("reports.id"), nullable=False, index=True),
        sa.Column("path", sa.String(500), nullable=False),
        sa.Column("content_type", sa.String(50), nullable=False),
        sa.Column("bytes", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("client", sa.String(64), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status_code", sa.Integer, nullable=False),
        sa.Column("response", sa.JSON, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )


def downgrade() -> None:
    for table in (
        "idempotency_keys",
        "photos",
        "report_events",
        "report_units",
        "reports",
        "api_keys",
        "categories",
    ):
        op.drop_table(table)
