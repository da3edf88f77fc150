"""A stored case as the live screen shows it."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Select, select

from api.access.policy import Principal
from api.cases.lifecycle import OPEN, Status, actions_for
from api.db.models import Category, Report
from api.live.schemas import LiveCase

#: The columns of a case the live screen reads.
CASE_COLUMNS = (
    Report.id,
    Report.category,
    Report.status,
    Report.unit_code,
    Report.department,
    Report.lon,
    Report.lat,
    Report.created_at,
    Report.due_at,
)


def case_query() -> Select[Any]:
    return cast(Select[Any], select(*CASE_COLUMNS))


def live_case(
    row: Any, categories: Mapping[str, Category], principal: Principal, now: datetime
) -> LiveCase:
    """A row of :data:`CASE_COLUMNS` as a :class:`LiveCase` for this caller."""
    status = Status(row.status)
    category = categories.get(row.category)
    due = row.due_at if row.due_at.tzinfo else row.due_at.replace(tzinfo=UTC)
    return LiveCase(
        id=row.id,
        category=row.category,
        category_zh=category.name_zh if category else row.category,
        category_en=category.name_en if category else row.category,
        status=status.value,
        open=status in OPEN,
        unit_code=row.unit_code,
        department=row.department,
        lon=row.lon,
        lat=row.lat,
        created_at=row.created_at,
        due_at=due,
        overdue=status in OPEN and due < now,
        actions=[s.value for s in actions_for(status, principal.role)],
    )
