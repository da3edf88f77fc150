"""Volunteer services: service types, teams, volunteers, orders and their events, the points
ledger, the exchange; the team of a team lead's key.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)

#: Tables the database keeps append-only (the order's audit trail, the points ledger).
APPEND_ONLY = ("service_order_events", "points_entries")


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    op.add_column("api_keys", sa.Column("team_id", sa.Integer, nullable=True))
    op.create_table(
        "service_types",
        sa.Column("code", sa.String(64), primary_key=True),
        sa.Column("name_zh", sa.String(100), nullable=False),
        sa.Column("name_en", sa.String(100), nullable=False),
        sa.Column("points_per_hour", sa.Float, nullable=False),
        sa.Column("auto_dispatch", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_table(
        "volunteer_teams",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("organisation", sa.String(200), nullable=False, server_default=""),
        sa.Column("services", sa.JSON, nullable=False),
        sa.Column("units", sa.JSON, nullable=False),
        sa.Column("lon", sa.Float, nullable=True),
        sa.Column("lat", sa.Float, nullable=True),
        sa.Column("radius_m", sa.Float, nullable=True),
        sa.Column("capacity_per_day", sa.Integer, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "volunteers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "team_id", sa.Integer, sa.ForeignKey("volunteer_teams.id"), nullable=False, index=True
        ),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(50), nullable=True),
        sa.Column("skills", sa.JSON, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
    )
    op.create_table(
        "service_orders",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "service",
            sa.String(64),
            sa.ForeignKey("service_types.code"),
            nullable=False,
            index=True,
        ),
        sa.Column("description", sa.Text, nullable=False, server_default=""),
        sa.Column("lon", sa.Float, nullable=False),
        sa.Column("lat", sa.Float, nullable=False),
        sa.Column("input_crs", sa.String(40), nullable=False),
        sa.Column("input_lon", sa.Float, nullable=False),
        sa.Column("input_lat", sa.Float, nullable=False),
        sa.Column("units", sa.JSON, nullable=False),
        sa.Column("unit_code", sa.String(64), nullable=True, index=True),
        sa.Column("assignment", sa.String(20), nullable=False),
        sa.Column("boundary_version_id", sa.Integer, nullable=True),
        sa.Column("wanted_from", TZ, nullable=False),
        sa.Column("wanted_until", TZ, nullable=False),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column(
            "team_id", sa.Integer, sa.ForeignKey("volunteer_teams.id"), nullable=True, index=True
        ),
        sa.Column("ordered_by", sa.Integer, nullable=False),
        sa.Column("stars", sa.Integer, nullable=True),
        sa.Column("rating_comment", sa.Text, nullable=True),
        sa.Column("created_at", TZ, nullable=False, index=True),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_table(
        "service_order_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "order_id", sa.Integer, sa.ForeignKey("service_orders.id"), nullable=False, index=True
        ),
        sa.Column("at", TZ, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("from_status", sa.String(20), nullable=True),
        sa.Column("to_status", sa.String(20), nullable=False),
        sa.Column("note", sa.Text, nullable=False, server_default=""),
        sa.Column("data", sa.JSON, nullable=False),
    )
    op.create_table(
        "points_entries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "volunteer_id", sa.Integer, sa.ForeignKey("volunteers.id"), nullable=False, index=True
        ),
        sa.Column("at", TZ, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("points", sa.Float, nullable=False),
        sa.Column("order_id", sa.Integer, nullable=True),
        sa.Column("redemption_id", sa.Integer, nullable=True),
        sa.Column("hours", sa.Float, nullable=True),
        sa.Column("reason", sa.Text, nullable=False, server_default=""),
        sa.Column("author", sa.String(200), nullable=False),
        sa.CheckConstraint(
            "kind IN ('credit', 'redemption', 'correction')", "ck_points_entries_kind"
        ),
    )
    op.create_table(
        "points_balances",
        sa.Column("volunteer_id", sa.Integer, sa.ForeignKey("volunteers.id"), primary_key=True),
        sa.Column("balance", sa.Float, nullable=False, server_default="0"),
        # the last line of defence: no code path may overdraw a balance
        sa.CheckConstraint("balance >= 0", "ck_points_balances_not_negative"),
    )
    op.create_table(
        "exchange_items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("points", sa.Float, nullable=False),
        sa.Column("stock", sa.Integer, nullable=False),
        sa.Column("created_at", TZ, nullable=False),
        sa.CheckConstraint("stock >= 0", "ck_exchange_items_stock"),
    )
    op.create_table(
        "redemptions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "volunteer_id", sa.Integer, sa.ForeignKey("volunteers.id"), nullable=False, index=True
        ),
        sa.Column(
            "item_id", sa.Integer, sa.ForeignKey("exchange_items.id"), nullable=False, index=True
        ),
        sa.Column("quantity", sa.Integer, nullable=False),
        sa.Column("points", sa.Float, nullable=False),
        sa.Column("at", TZ, nullable=False),
        sa.Column("author", sa.String(200), nullable=False),
    )
    # the audit trail and the ledger are append-only: the database itself refuses changes
    for table in APPEND_ONLY:
        if postgres:
            op.execute(
                f"CREATE FUNCTION {table}_append_only() RETURNS trigger AS $$ BEGIN "
                f"RAISE EXCEPTION '{table} is append-only'; END; $$ LANGUAGE plpgsql"
            )
            op.execute(
                f"CREATE TRIGGER {table}_append_only BEFORE UPDATE OR DELETE ON {table} "
                f"FOR EACH ROW EXECUTE FUNCTION {table}_append_only()"
            )
        else:
            for action in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{action.lower()} BEFORE {action} ON "
                    f"{table} BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )


def downgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    for table in APPEND_ONLY:
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_append_only ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {table}_append_only()")
        else:
            for action in ("update", "delete"):
                op.execute(f"DROP TRIGGER IF EXISTS {table}_no_{action}")
    for table in (
        "redemptions",
        "exchange_items",
        "points_balances",
        "points_entries",
        "service_order_events",
        "service_orders",
        "volunteers",
        "volunteer_teams",
        "service_types",
    ):
        op.drop_table(table)
    with op.batch_alter_table("api_keys") as batch:
        batch.drop_column("team_id")
