"""State shared by several workers: rate-limit windows, revocations, the duplicate index.

Rate limits: each worker's count of admitted requests per key and minute (``rate_counts``),
summed across workers. Revocations and the active version need no table (short caches and the
change counters). The duplicate index: each worker follows the reports changed since it last
looked, by ``reports.updated_at`` (indexed here). Open311 finds a token's report by the key
alone (indexed here; the primary key begins with the client).

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "rate_counts",
        sa.Column("key_id", sa.Integer, primary_key=True),
        sa.Column("minute", sa.Integer, primary_key=True),
        sa.Column("worker", sa.String(32), primary_key=True),
        sa.Column("count", sa.Integer, nullable=False),
    )
    op.create_index("ix_rate_counts_minute", "rate_counts", ["minute"])
    op.create_index("ix_reports_updated_at", "reports", ["updated_at"])
    op.create_index("ix_idempotency_keys_key", "idempotency_keys", ["key"])


def downgrade() -> None:
    op.drop_index("ix_idempotency_keys_key", "idempotency_keys")
    op.drop_index("ix_reports_updated_at", "reports")
    op.drop_index("ix_rate_counts_minute", "rate_counts")
    op.drop_table("rate_counts")
