"""Which cases a caller may see: all (dispatchers, admins), its own (reporters), its area's
(grid workers: the unit of its key and everything below it). Planners count cases in
aggregates only: the routes that return cases one by one do not admit them."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session

from api.access.policy import SEES_ALL_CASES, Principal, Role
from api.cases.errors import CaseNotFound
from api.cases.units import reports_in
from api.db.models import Report, ReportUnit


def unit_codes(session: Session, report_id: int) -> set[str]:
    """The codes of every unit a case lies in (its chain, top to bottom)."""
    return set(session.scalars(select(ReportUnit.code).where(ReportUnit.report_id == report_id)))


def visible(session: Session, report: Report, principal: Principal) -> bool:
    if principal.role in SEES_ALL_CASES:
        return True
    if principal.role == Role.REPORTER:
        return report.submitted_by == principal.key_id
    if principal.role == Role.GRID_WORKER:
        return principal.unit_code in unit_codes(session, report.id)
    return False


def get_visible(session: Session, report_id: int, principal: Principal) -> Report:
    """A case the caller may see; CaseNotFound otherwise, so ids of others' cases do not leak."""
    report = session.get(Report, report_id)
    if report is None or not visible(session, report, principal):
        raise CaseNotFound(f"no report {report_id} visible to you", allowed="ids from GET /reports")
    return report


def area_ids(principal: Principal) -> Select[Any] | None:
    """The ids of the cases in a grid worker's area, as a subquery (None for other roles)."""
    if principal.role != Role.GRID_WORKER:
        return None
    # a grid worker's key names its unit; one without would see nothing
    return reports_in(principal.unit_code or [])


def scoped(query: Select[Any], principal: Principal) -> Select[Any]:
    """Restrict a query of reports to what the caller may see."""
    if principal.role == Role.REPORTER:
        return query.where(Report.submitted_by == principal.key_id)
    area = area_ids(principal)
    return query if area is None else query.where(Report.id.in_(area))
