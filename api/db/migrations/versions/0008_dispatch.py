"""The dispatcher's screen: the change feed of cases and the aggregates the maps read.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # live feed: the queue panel reads open cases by status, oldest first
    op.create_index("ix_reports_status_created_at", "reports", ["status", "created_at"])


def downgrade() -> None:
    # live feed
    op.drop_index("ix_reports_status_created_at", table_name="reports")
