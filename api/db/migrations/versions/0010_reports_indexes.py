"""The reports' indexes for the intake's writer and the workers that follow it.

The index on status alone goes: the indexes on (status, created_at) and (status, due_at) serve
every search by status, and each index is one more B-tree that every new report writes (the
intake's writer spends most of its time in SQLite's inserts). The index on updated_at becomes
one on (updated_at, status): every worker reads, twice a second, the id, status and stamp of
the reports changed in the last seconds (api.cases.service.Cases.follow_changes), thousands
under load, and now reads them from the index alone (on SQLite, 7 ms instead of 17 ms for
9,600 rows), without visiting each row.

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
    op.create_index("ix_reports_updated_at_status", "reports", ["updated_at", "status"])
    op.drop_index("ix_reports_updated_at", table_name="reports")


def downgrade() -> None:
    op.create_index("ix_reports_updated_at", "reports", ["updated_at"])
    op.drop_index("ix_reports_updated_at_status", table_name="reports")
    op.create_index("ix_reports_status", "reports", ["status"])
