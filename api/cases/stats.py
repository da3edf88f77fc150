"""Statistics of a unit's cases: counts by status and category, overdue, time to resolve."""

from __future__ import annotations

import statistics
from collections import Counter
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.access.errors import Forbidden
from api.access.policy import Principal, Role
from api.cases.lifecycle import DONE
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
        .where(ReportUnit.code == code)
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
