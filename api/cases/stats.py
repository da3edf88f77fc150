"""Statistics of a unit's cases: counts by status and category, overdue, time to resolve."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import Select, case, func, select
from sqlalchemy.orm import Session

from api.access.errors import Forbidden
from api.access.policy import Principal, Role
from api.cases.lifecycle import DONE, OPEN
from api.cases.queries import CaseFilter, filtered
from api.cases.units import in_units
from api.cases.visibility import scoped
from api.db.models import Report, ReportUnit
from geo.units import BoundarySet


def unit_stats(
    session: Session, bset: BoundarySet, code: str, principal: Principal
) -> dict[str, Any]:
    """The statistics of the cases in a unit and below (grid workers: units of their area)."""
    pos = bset.position(code)
    level = bset.units["level"].iat[pos]
    if principal.role == Role.GRID_WORKER and principal.unit_code != code:
        chain = {bset.units["code"].iat[p] for p in bset.chains[pos] if p >= 0}
        if principal.unit_code not in chain:
            raise Forbidden(
                "this unit is outside your area",
                allowed=f"{principal.unit_code} and the units below it",
            )
    now = datetime.now(UTC)
    rows = session.execute(
        select(Report.status, Report.category, Report.due_at, Report.created_at, Report.resolved_at)
        .join(ReportUnit, ReportUnit.report_id == Report.id)
        .where(in_units(code))
    ).all()
    done = {s.value for s in DONE}
    hours = [
        (r.resolved_at - r.created_at).total_seconds() / 3600
        for r in rows
        if r.resolved_at is not None
    ]
    return {
        "code": code,
        "level": level,
        "total": len(rows),
        "by_status": dict(Counter(r.status for r in rows)),
        "by_category": dict(Counter(r.category for r in rows)),
        "overdue": sum(1 for r in rows if r.status not in done and now > r.due_at),
        "median_hours_to_resolve": round(statistics.median(hours), 2) if hours else None,
    }


def counts_by_unit(
    session: Session,
    codes: list[str],
    principal: Principal,
    where: CaseFilter | None = None,
    bset: BoundarySet | None = None,
) -> dict[str, tuple[int, int]]:
    """(cases, open cases) in each of these units and below, of the cases the caller may see
    and ``where`` selects (a filter by unit needs ``bset``, which knows the units); units
    without any are left out."""
    if not codes:
        return {}
    is_open = case((Report.status.in_([s.value for s in OPEN]), 1), else_=0)
    statement = cast(
        "Select[Any]",
        select(ReportUnit.code, func.count(), func.sum(is_open))
        .join(Report, Report.id == ReportUnit.report_id)
        .where(in_units(codes))
        .group_by(ReportUnit.code),
    )
    if where is not None and where != CaseFilter():
        dialect = session.get_bind().dialect.name
        statement = filtered(statement, where, bset=cast(BoundarySet, bset), dialect=dialect)
    rows = session.execute(scoped(statement, principal)).all()
    return {str(r[0]): (int(r[1]), int(r[2] or 0)) for r in rows}
