"""One index for ``report_units``' lookups by unit: the one on (level, code).

Each new report writes a row per level of its chain (five in the demo), and each row lands on
its own leaf of each of the table's indexes: the indexes on (level, code) and on code alone
were a third of the pages the intake's writer wrote a report. Lookups by code alone now name
every level stored and seek (level, code) once a level (api.cases.units), so the index on
code goes.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_report_units_code", table_name="report_units")


def downgrade() -> None:
    op.create_index("ix_report_units_code", "report_units", ["code"])
