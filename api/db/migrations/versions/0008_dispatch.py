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


#: The indexes the density map's aggregates read (api/pages/density.py): counts per unit of a
#: level from report_units alone, open cases by status newest first, open overdue cases.
DENSITY_INDEXES = (
    ("ix_report_units_level_code", "report_units", ["level", "code"]),
    ("ix_reports_status_created_at", "reports", ["status", "created_at"]),
    ("ix_reports_status_due_at", "reports", ["status", "due_at"]),
)


def upgrade() -> None:
    for name, table, columns in DENSITY_INDEXES:
        op.create_index(name, table, columns)


def downgrade() -> None:
    for name, table, _ in reversed(DENSITY_INDEXES):
        op.drop_index(name, table_name=table)
