"""A case as a caller may see it: the one shape of ReportOut, for stored and new cases alike."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.access.policy import Principal, sees_leader_phones, sees_reporter
from api.cases.lifecycle import DONE, Status, allowed_next
from api.db.models import Photo, Report, ReportUnit
from geo.assign import BoundaryIndex
from geo.errors import UnitNotFound

#: Assignments made by people rather than by the boundaries (see ``assignment_reason``).
MOVED = {"reassigned": "reassigned", "escalated": "escalated"}


def assignment_reason(index: BoundaryIndex, report: Any) -> str | None:
    """Why the case is where it is, when not simply inside its unit (None when it is)."""
    if report.assignment == "assigned" or not report.unit_code:
        return None
    try:
        pos = index.bset.position(report.unit_code)
    except UnitNotFound:  # assigned under boundaries no longer active
        return None
    if report.assignment in MOVED:
        unit = index.bset.units.iloc[pos]
        return f"{MOVED[report.assignment]} to {unit['level']} {unit['code']} ({unit['name']})"
    return index.explain(report.assignment, pos, report.distance_m or 0.0)


def report_view(
    report: Any,
    units: list[Any],
    photos: list[Any],
    principal: Principal,
    *,
    now: datetime | None = None,
    duplicates: list[dict[str, Any]] | None = None,
    reason: str | None = None,
) -> dict[str, Any]:
    """A report as this caller may see it: reporter fields only for its handlers.

    ``report``, ``units`` and ``photos`` are rows or anything with the same attributes (a new
    report is shown from the values just written, before anything is read back).
    """
    now = now or datetime.now(UTC)
    leader = None
    if report.leader_unit:
        leader = {
            "name": report.leader_name,
            "phone": report.leader_phone if sees_leader_phones(principal) else None,
            "id": report.leader_id,
            "unit_code": report.leader_unit,
            "level": next((u.level for u in units if u.code == report.leader_unit), ""),
        }
    status = Status(report.status)
    return {
        "id": report.id,
        "status": report.status,
        "category": report.category,
        "description": report.description,
        "address": report.address,
        "lon": report.lon,
        "lat": report.lat,
        "input": {"lon": report.input_lon, "lat": report.input_lat, "crs": report.input_crs},
        "assignment": {
            "status": report.assignment,
            "units": [{"level": u.level, "code": u.code, "name": u.name} for u in units],
            "leader": leader,
            "distance_m": report.distance_m,
            "reason": reason,
            "boundary_set": report.boundary_set,
            "boundary_version_id": report.boundary_version_id,
        },
        "department": report.department,
        "duplicate_of": report.duplicate_of,
        "created_at": report.created_at,
        "updated_at": report.updated_at,
        "due_at": report.due_at,
        "overdue": status not in DONE and now > report.due_at,
        "resolved_at": report.resolved_at,
        "closed_at": report.closed_at,
        "rating": report.rating,
        "rating_comment": report.rating_comment,
        "reporter": {"name": report.reporter_name, "phone": report.reporter_phone}
        if sees_reporter(principal, (u.code for u in units))
        else None,
        "photos": [
            {
                "id": p.id,
                "content_type": p.content_type,
                "bytes": p.bytes,
                "url": f"/reports/{report.id}/photos/{p.id}",
            }
            for p in photos
        ],
        "possible_duplicates": duplicates,
        "allowed_next": [s.value for s in allowed_next(status)],
    }


def stored_view(
    session: Session,
    index: BoundaryIndex,
    report: Report,
    principal: Principal,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    """A stored report as this caller may see it (its units and photos read here)."""
    units = list(
        session.scalars(
            select(ReportUnit).where(ReportUnit.report_id == report.id).order_by(ReportUnit.depth)
        )
    )
    photos = list(session.scalars(select(Photo).where(Photo.report_id == report.id)))
    return report_view(
        report, units, photos, principal, now=now, reason=assignment_reason(index, report)
    )


def iso(value: datetime) -> str:
    """A datetime as ISO 8601 UTC ('Z'): the form stored for idempotent replays."""
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def jsonable(value: Any) -> Any:
    """Datetimes as ISO 8601 UTC ('Z'), recursively: the form stored for idempotent replays."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    return value
