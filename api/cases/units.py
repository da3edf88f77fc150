"""Cases by the units they lie in, found through the index on ``report_units (level, code)``.

Every new report writes one row per level of its chain into ``report_units``, and each row
lands on its own leaf of each index of the table: the leaves of the indexes on (level, code)
and on code alone were a third of the pages the intake's writer wrote a report (9 of 27). So
the table keeps one index for its lookups by unit, on (level, code), which the density maps
and analytics read level by level; a lookup by code alone names every level stored (read
from that same index, one seek a level) and so finds exactly the rows of that code.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, select

from api.db.models import ReportUnit

_units = ReportUnit.__table__
_first, _after = _units.alias("first_level"), _units.alias("next_level")
_seed = select(func.min(_first.c.level).label("level")).cte("unit_levels", recursive=True)
#: Every level in report_units: the least, then the least above each (a recursive walk of
#: the index, so as many seeks as levels).
_levels = _seed.union_all(
    select(
        select(func.min(_after.c.level)).where(_after.c.level > _seed.c.level).scalar_subquery()
    ).where(_seed.c.level.is_not(None))
)
STORED_LEVELS: Select[Any] = select(_levels.c.level).where(_levels.c.level.is_not(None))


def in_units(codes: str | Iterable[str]) -> ColumnElement[bool]:
    """``report_units`` rows of this unit (or of any of these units)."""
    wanted = (
        ReportUnit.code == codes if isinstance(codes, str) else ReportUnit.code.in_(list(codes))
    )
    return and_(ReportUnit.level.in_(STORED_LEVELS), wanted)


def reports_in(codes: str | Iterable[str]) -> Select[Any]:
    """The ids of the reports in this unit (or in any of these units), as a subquery."""
    return select(ReportUnit.report_id).where(in_units(codes))
