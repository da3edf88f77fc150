"""Moving a case along its lifecycle (接单, 吹哨, 评单 ...), with its audit trail.

Every change is a compare-and-set on the case's status, so two concurrent changes cannot both
win, and every change writes an event (who, when, from, to, note) in the same transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import and_, delete, update
from sqlalchemy.orm import Session

from api.access.errors import Forbidden
from api.access.policy import Principal, Role
from api.cases.errors import (
    CaseStateConflict,
    InvalidChange,
    TransitionNotAllowed,
    UnknownStatus,
)
from api.cases.lifecycle import ACTORS, OPEN, Status, allowed_next
from api.cases.visibility import get_visible
from api.db.models import Report, ReportEvent, ReportUnit
from api.webhooks.cases import record_transition
from geo.errors import UnitNotFound
from geo.live_index import OpenCase

if TYPE_CHECKING:
    from api.cases.service import Cases

#: The actor of what the service does by itself (routing a new case).
SYSTEM = "system"


@dataclass(frozen=True)
class Change:
    """A move of a case to another state, with what that move needs."""

    to: str
    note: str = ""
    unit_code: str | None = None  # reassigned: the unit to move the case to
    escalate_to: str | None = None  # escalated: "parent" or a department name
    duplicate_of: int | None = None  # rejected: the report this one repeats


def transition(
    cases: Cases, session: Session, report_id: int, principal: Principal, change: Change
) -> Report:
    """Move a case to another state, if the lifecycle and the caller's role allow it."""
    try:
        target = Status(change.to)
    except ValueError:
        raise UnknownStatus(
            f"unknown status {change.to!r}", allowed=", ".join(s.value for s in Status)
        ) from None
    report = get_visible(session, report_id, principal)
    current = Status(report.status)
    if target not in allowed_next(current):
        raise TransitionNotAllowed(
            f"a {current.value} case cannot become {target.value}",
            allowed=", ".join(s.value for s in allowed_next(current)) or "nothing: final",
        )
    if principal.role not in ACTORS[target]:
        raise Forbidden(
            f"role {principal.role.value!r} may not make a case {target.value}",
            allowed="roles: " + ", ".join(r.value for r in ACTORS[target]),
        )
    now = cases.clock()
    values: dict[str, Any] = {"status": target.value, "updated_at": now}
    data: dict[str, Any] = {}
    if target == Status.REASSIGNED:
        if not change.unit_code:
            raise InvalidChange(
                "reassigning needs unit_code",
                allowed="a unit code from GET /units",
                code="unit_required",
            )
        values |= _move_to(cases, session, report, change.unit_code, "reassigned")
        data["unit_code"] = change.unit_code
        data["boundary_version_id"] = values["boundary_version_id"]
    elif target == Status.ESCALATED:
        if not change.escalate_to:
            raise InvalidChange(
                "escalating needs escalate_to",
                allowed="'parent' or a department name",
                code="escalation_target_required",
            )
        if change.escalate_to == "parent":
            parent = _parent_of(cases, report)
            values |= _move_to(cases, session, report, parent, "escalated")
            data["unit_code"] = parent
            data["boundary_version_id"] = values["boundary_version_id"]
        else:
            values["department"] = change.escalate_to
            data["department"] = change.escalate_to
    elif target == Status.REJECTED:
        if not change.note and change.duplicate_of is None:
            raise InvalidChange(
                "rejecting needs a note or duplicate_of",
                allowed="note: why; duplicate_of: the report id it repeats",
                code="reason_required",
            )
        if change.duplicate_of is not None:
            if change.duplicate_of == report.id or session.get(Report, change.duplicate_of) is None:
                raise InvalidChange(
                    f"no other report {change.duplicate_of}",
                    allowed="the id of another report",
                    code="unknown_duplicate",
                )
            values["duplicate_of"] = change.duplicate_of
            data["duplicate_of"] = change.duplicate_of
    elif target == Status.RESOLVED:
        values["resolved_at"] = now
    elif target == Status.CLOSED:
        values["closed_at"] = now
    elif target == Status.REOPENED:
        values["resolved_at"] = None
    _commit(cases, session, report, principal, current, target, values, change.note, data)
    return report


def rate(
    cases: Cases,
    session: Session,
    report_id: int,
    principal: Principal,
    score: int,
    comment: str,
) -> Report:
    """The reporter rates a resolved case (评单): a low score reopens it, else it closes."""
    report = get_visible(session, report_id, principal)
    if principal.role != Role.REPORTER or report.submitted_by != principal.key_id:
        raise Forbidden(
            "only the reporter of a case rates it", allowed="the key that posted the report"
        )
    current = Status(report.status)
    if current != Status.RESOLVED:
        raise CaseStateConflict(
            f"a {current.value} case cannot be rated",
            allowed="rating once the case is resolved",
            code="not_resolved",
        )
    target = Status.REOPENED if score < cases.settings.reopen_below_rating else Status.CLOSED
    now = cases.clock()
    values: dict[str, Any] = {
        "status": target.value,
        "updated_at": now,
        "rating": score,
        "rating_comment": comment,
    }
    if target == Status.CLOSED:
        values["closed_at"] = now
    else:
        values["resolved_at"] = None
    _commit(cases, session, report, principal, current, target, values, comment, {"rating": score})
    return report


def event_row(
    principal: Principal | None,
    from_status: Status | None,
    to_status: Status,
    note: str,
    data: dict[str, Any],
    at: datetime,
    *,
    kind: str = "transition",
) -> dict[str, Any]:
    """An audit event's values (``principal`` None: the service itself). ``kind`` is
    ``transition`` for a move along the lifecycle; api.cases.reroute writes the others."""
    return {
        "at": at,
        "actor": (principal.name or principal.client) if principal else SYSTEM,
        "role": principal.role.value if principal else SYSTEM,
        "from_status": from_status.value if from_status else None,
        "to_status": to_status.value,
        "note": note,
        "data": data,
        "kind": kind,
    }


def _commit(
    cases: Cases,
    session: Session,
    report: Report,
    principal: Principal,
    current: Status,
    target: Status,
    values: dict[str, Any],
    note: str,
    data: dict[str, Any],
) -> None:
    # compare-and-set on the status, so two concurrent changes cannot both win
    done = session.execute(
        update(Report)
        .where(and_(Report.id == report.id, Report.status == current.value))
        .values(**values)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        raise CaseStateConflict(
            "the case changed meanwhile; read it and try again",
            allowed="GET /reports/{id} for the current state",
        )
    for key, value in values.items():
        setattr(report, key, value)
    row = event_row(principal, current, target, note, data, values["updated_at"])
    session.add(ReportEvent(report_id=report.id, **row))
    record_transition(session, report.id, current, target, note, data, values["updated_at"])
    session.commit()
    if target in OPEN:
        cases.open_cases.add(
            OpenCase(report.id, report.category, report.lon, report.lat, report.created_at)
        )
    else:
        cases.open_cases.remove(report.id)


def _parent_of(cases: Cases, report: Report) -> str:
    bset = cases.index.bset
    code = report.unit_code
    if code is None:
        raise CaseStateConflict(
            "the case has no unit to escalate from",
            allowed="reassign it to a unit first",
            code="no_unit",
        )
    try:
        parent = bset.units["parent"].iat[bset.position(code)]
    except UnitNotFound:
        raise CaseStateConflict(
            f"unit {code} is not in the active boundaries",
            allowed="reassign the case to a current unit",
            code="unit_retired",
        ) from None
    if not parent:
        raise CaseStateConflict(
            f"unit {code} is at the top level",
            allowed="escalate to a department instead",
            code="top_level",
        )
    return str(parent)


def _move_to(cases: Cases, session: Session, report: Report, code: str, how: str) -> dict[str, Any]:
    """Point the case at another unit (its chain, its responsible leader), saying how it got
    there: the place's own assignment (gap, snapped) no longer explains the unit."""
    active = cases.boundaries.current
    bset = active.index.bset
    pos = bset.position(code)
    chain = [int(p) for p in bset.chains[pos] if p >= 0]
    units = bset.units
    session.execute(delete(ReportUnit).where(ReportUnit.report_id == report.id))
    session.add_all(
        ReportUnit(
            report_id=report.id,
            depth=d,
            level=units["level"].iat[p],
            code=units["code"].iat[p],
            name=units["name"].iat[p],
        )
        for d, p in enumerate(chain)
    )
    leader = int(bset.responsible[pos])
    return {
        "unit_code": code,
        "assignment": how,
        "distance_m": None,
        "leader_unit": units["code"].iat[leader] if leader >= 0 else None,
        "leader_name": units["leader_name"].iat[leader] if leader >= 0 else None,
        "leader_phone": units["leader_phone"].iat[leader] if leader >= 0 else None,
        "leader_id": units["leader_id"].iat[leader] if leader >= 0 else None,
        "boundary_version_id": active.version_id,
    }
