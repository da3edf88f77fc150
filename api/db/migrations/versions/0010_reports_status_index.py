"""The reports' index on status alone goes: the indexes on (status, created_at) and (status,
due_at) serve every search by status, and each index is one more B-tree that every new report
writes (intake's writer spends most of its time in SQLite's inserts).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04
"""

from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_reports_status", table_name="reports")


def downgrade() -> None:
    op.create_index("ix_reports_status", "reports", ["status"])
