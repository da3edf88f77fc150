"""Webhook subscriptions, the event outbox and delivery attempts.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

TZ = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "webhook_subscriptions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("url", sa.String(2000), nullable=False),
        sa.Column("secret", sa.String(100), nullable=False),
        sa.Column("events", sa.JSON, nullable=False),
        sa.Column("units", sa.JSON, nullable=False),
        sa.Column("categories", sa.JSON, nullable=False),
        sa.Column("role", sa.String(20), nullable=False),
        sa.Column("name", sa.String(200), nullable=False, server_default=""),
        sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", TZ, nullable=False),
        sa.Column("updated_at", TZ, nullable=False),
    )
    op.create_table(
        "webhook_events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(36), nullable=False, unique=True),
        sa.Column("type", sa.String(64), nullable=False),
        sa.Column("occurred_at", TZ, nullable=False),
        sa.Column("entity", sa.String(100), nullable=True),
        sa.Column("units", sa.JSON, nullable=False),
        sa.Column("category", sa.String(64), nullable=True),
        sa.Column("data", sa.JSON, nullable=False),
        sa.Column("private", sa.JSON, nullable=False),
        sa.Column("fanned_out", sa.Boolean, nullable=False, server_default=sa.false()),
    )
    op.create_index("ix_webhook_events_fanned_out", "webhook_events", ["fanned_out", "id"])
    op.create_index("ix_webhook_events_occurred_at", "webhook_events", ["occurred_at"])
    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "subscription_id",
            sa.Integer,
            sa.ForeignKey("webhook_subscriptions.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("event_pk", sa.Integer, sa.ForeignKey("webhook_events.id"), nullable=False),
        sa.Column("entity", sa.String(100), nullable=True),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("next_at", TZ, nullable=False),
        sa.Column("lease_until", TZ, nullable=True),
        sa.Column("leased_by", sa.String(40), nullable=True),
        sa.Column("last_attempt_at", TZ, nullable=True),
        sa.Column("last_status_code", sa.Integer, nullable=True),
        sa.Column("last_latency_ms", sa.Float, nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("last_response", sa.String(500), nullable=True),
        sa.Column("delivered_at", TZ, nullable=True),
        sa.Column("created_at", TZ, nullable=False),
        sa.UniqueConstraint("subscription_id", "event_pk", name="uq_webhook_delivery"),
        sa.CheckConstraint(
            "state IN ('pending', 'delivered', 'dead')", "ck_webhook_deliveries_state"
        ),
    )
    op.create_index("ix_webhook_deliveries_due", "webhook_deliveries", ["state", "next_at"])
    op.create_index(
        "ix_webhook_deliveries_order",
        "webhook_deliveries",
        ["subscription_id", "entity", "event_pk"],
    )
    op.create_table(
        "webhook_overdue",
        sa.Column("report_id", sa.Integer, sa.ForeignKey("reports.id"), primary_key=True),
        sa.Column("emitted_at", TZ, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("webhook_overdue")
    op.drop_table("webhook_deliveries")
    op.drop_table("webhook_events")
    op.drop_table("webhook_subscriptions")
