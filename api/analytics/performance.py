"""Each unit's handling figures over a window, from the reports and their events (aggregated
in the database; the medians from one duration per case)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pandas as pd
from sqlalchemy import and_, case, select
from sqlalchemy import func as sa_func
from sqlalchemy.orm import Session

from api.access.policy import Principal
from api.cases.lifecycle import OPEN, Status
from api.cases.visibility import scoped
from api.db.models import Report, ReportEvent, ReportUnit

#: The figures a table of units may be sorted by.
SORT_FIELDS = (
    "received",
    "resolved",
    "on_time_pct",
    "overdue",
    "median_hours_to_accept",
    "median_hours_to_resolve",
    "rating",
    "reopen_rate",
    "escalations",
)


def _of_level(
    statement: Any, level: str, since: datetime, until: datetime, *, events: bool = False
) -> Any:
    statement = statement.select_from(Report).join(ReportUnit, ReportUnit.report_id == Report.id)
    if events:
        statement = statement.join(ReportEvent, ReportEvent.report_id == Report.id)
    return statement.where(ReportUnit.level == level).where(
        Report.created_at >= since, Report.created_at < until
    )


def unit_figures(
    session: Session,
    level: str,
    since: datetime,
    until: datetime,
    now: datetime,
    principal: Principal | None,
) -> dict[str, dict[str, Any]]:
    """The figures of every unit of the level with a case created in [since, until)."""
    open_states = [s.value for s in OPEN]
    totals = _of_level(
        select(
            ReportUnit.code,
            sa_func.count(),
            sa_func.count(Report.resolved_at),
            sa_func.sum(
                case(
                    (and_(Report.resolved_at.is_not(None), Report.resolved_at <= Report.due_at), 1),
                    else_=0,
                )
            ),
            sa_func.sum(
                case((and_(Report.status.in_(open_states), Report.due_at < now), 1), else_=0)
            ),
            sa_func.avg(Report.rating),
        ),
        level,
        since,
        until,
    ).group_by(ReportUnit.code)
    figures: dict[str, dict[str, Any]] = {}
    for code, received, resolved, on_time, overdue, rating in session.execute(
        _scope(totals, principal)
    ).all():
        figures[str(code)] = {
            "received": int(received),
            "resolved": int(resolved),
            "on_time_pct": round(100 * int(on_time or 0) / int(resolved), 1) if resolved else None,
            "overdue": int(overdue or 0),
            "rating": round(float(rating), 2) if rating is not None else None,
            "reopened": 0,
            "escalations": 0,
            "ever_resolved": 0,
        }
    events = _of_level(
        select(
            ReportUnit.code,
            ReportEvent.to_status,
            sa_func.count(sa_func.distinct(ReportEvent.report_id)),
            sa_func.count(),
        ),
        level,
        since,
        until,
        events=True,
    ).where(
        ReportEvent.to_status.in_(
            [Status.REOPENED.value, Status.ESCALATED.value, Status.RESOLVED.value]
        )
    )
    events = events.group_by(ReportUnit.code, ReportEvent.to_status)
    for code, status, cases, times in session.execute(_scope(events, principal)).all():
        row = figures.get(str(code))
        if row is None:
            continue
        if status == Status.REOPENED.value:
            row["reopened"] = int(cases)
        elif status == Status.RESOLVED.value:
            row["ever_resolved"] = int(cases)
        else:
            row["escalations"] = int(times)
    accepted = _of_level(
        select(ReportUnit.code, Report.created_at, sa_func.min(ReportEvent.at)),
        level,
        since,
        until,
        events=True,
    ).where(ReportEvent.to_status == Status.ACCEPTED.value)
    accepted = accepted.group_by(ReportUnit.code, Report.id, Report.created_at)
    _medians(figures, session.execute(_scope(accepted, principal)).all(), "median_hours_to_accept")
    resolved_rows = _of_level(
        select(ReportUnit.code, Report.created_at, Report.resolved_at), level, since, until
    ).where(Report.resolved_at.is_not(None))
    _medians(
        figures, session.execute(_scope(resolved_rows, principal)).all(), "median_hours_to_resolve"
    )
    for row in figures.values():
        row.setdefault("median_hours_to_accept", None)
        row.setdefault("median_hours_to_resolve", None)
        # of the cases resolved at some time, the share reopened (a reopened case is no
        # longer resolved, so the resolved ones now would count it out of the base)
        ever = row.pop("ever_resolved")
        row["reopen_rate"] = round(row["reopened"] / ever, 3) if ever else None
    return figures


def _scope(statement: Any, principal: Principal | None) -> Any:
    return statement if principal is None else scoped(statement, principal)


def _medians(figures: dict[str, dict[str, Any]], rows: Sequence[Any], name: str) -> None:
    if not rows:
        return
    frame = pd.DataFrame([tuple(r) for r in rows], columns=["code", "start", "end"])
    hours = pd.to_datetime(frame["end"], utc=True) - pd.to_datetime(frame["start"], utc=True)
    frame["hours"] = hours.dt.total_seconds() / 3600
    for code, median in frame.groupby("code")["hours"].median().items():
        if str(code) in figures:
            figures[str(code)][name] = round(float(median), 2)
