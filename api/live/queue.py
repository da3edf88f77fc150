"""The dispatcher's queue panel: cases waiting for someone to act, by why they wait."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, func, select
from sqlalchemy.orm import Session

from api.access.policy import Principal, sees_case_details
from api.cases.lifecycle import OPEN, Status
from api.cases.visibility import scoped
from api.db.models import Category, Report
from api.live.cases import case_query, live_case
from api.live.schemas import Queue, QueueSection

#: The most cases one section lists.
MAX_QUEUE_ITEMS = 100


def _sections(now: datetime) -> dict[str, ColumnElement[bool]]:
    return {
        # routed nowhere: the point lies outside every unit of the jurisdiction
        "unassigned": and_(Report.status == Status.SUBMITTED.value, Report.unit_code.is_(None)),
        "overdue": and_(Report.status.in_([s.value for s in OPEN]), Report.due_at < now),
        "escalated": Report.status == Status.ESCALATED.value,
        "reopened": Report.status == Status.REOPENED.value,
    }


def queue(
    session: Session,
    principal: Principal,
    categories: Mapping[str, Category],
    *,
    limit: int,
    now: datetime,
) -> Queue:
    """Counts and the oldest ``limit`` cases of each section the caller may see (planners:
    counts only)."""
    details = sees_case_details(principal)
    sections: dict[str, Any] = {}
    for name, condition in _sections(now).items():
        count_query = scoped(select(func.count()).select_from(Report).where(condition), principal)
        count = int(session.scalar(count_query) or 0)
        items = []
        if details and count:
            rows = session.execute(
                scoped(case_query().where(condition), principal)
                .order_by(Report.created_at, Report.id)
                .limit(limit)
            ).all()
            items = [live_case(row, categories, principal, now) for row in rows]
        sections[name] = QueueSection(count=count, items=items)
    return Queue(built_at=now, **sections)
