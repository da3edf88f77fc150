"""The case events (report.*): their data, built from what the case writers already hold.

Personal data (the reporter's name and phone, the leader's phone) go in ``private``: a
subscription gets them only if its role may see them (api.access.policy).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Table, exists, insert, select
from sqlalchemy.orm import Session

from api.cases.lifecycle import OPEN
from api.db.models import Report, ReportUnit, WebhookOverdue
from api.webhooks import outbox
from api.webhooks.events import Event, report_entity

#: Most report.overdue events recorded in one check (the next check takes the rest).
OVERDUE_BATCH = 500


def case_data(report: Any, unit_codes: Iterable[str]) -> dict[str, Any]:
    """What a receiver needs to act on a case (``report``: a row or the values of one)."""
    return {
        "id": report.id,
        "status": report.status,
        "category": report.category,
        "description": report.description,
        "address": report.address,
        "lon": report.lon,
        "lat": report.lat,
        "unit_code": report.unit_code,
        "units": list(unit_codes),
        "leader": {
            "unit_code": report.leader_unit,
            "name": report.leader_name,
            "id": report.leader_id,
        }
        if report.leader_unit
        else None,
        "department": report.department,
        "boundary_version_id": report.boundary_version_id,
        "created_at": report.created_at,
        "due_at": report.due_at,
        "url": f"/reports/{report.id}",
    }


def case_private(report: Any) -> dict[str, Any]:
    private: dict[str, Any] = {
        "reporter": {"name": report.reporter_name, "phone": report.reporter_phone}
    }
    if report.leader_unit:
        private["leader_phone"] = report.leader_phone
    return private


def case_event(
    kind: str,
    report: Any,
    unit_codes: Iterable[str],
    at: datetime,
    **extra: Any,
) -> Event:
    """A report.* event of this case as it is now, with what the change adds (``extra``)."""
    codes = tuple(unit_codes)
    return Event(
        type=kind,
        data={**case_data(report, codes), **extra},
        occurred_at=at,
        entity=report_entity(report.id),
        units=codes,
        category=report.category,
        private=case_private(report),
    )


def record_overdue(session: Session, now: datetime) -> int:
    """Record report.overdue once for each open case past its due time (committed); how many."""
    reports = _table(Report)
    done = _table(WebhookOverdue)
    rows = session.execute(
        select(*_case_columns())
        .where(
            reports.c.status.in_([s.value for s in OPEN]),
            reports.c.due_at < now,
            ~exists().where(done.c.report_id == reports.c.id),
        )
        .order_by(reports.c.due_at)
        .limit(OVERDUE_BATCH)
    ).all()
    if not rows:
        return 0
    chains: dict[int, list[str]] = {}
    units = _table(ReportUnit)
    for unit in session.execute(
        select(units.c.report_id, units.c.code)
        .where(units.c.report_id.in_([r.id for r in rows]))
        .order_by(units.c.report_id, units.c.depth)
    ):
        chains.setdefault(unit.report_id, []).append(unit.code)
    session.execute(insert(done), [{"report_id": r.id, "emitted_at": now} for r in rows])
    outbox.record(
        session,
        [case_event("report.overdue", r, chains.get(r.id, []), now) for r in rows],
    )
    session.commit()
    return len(rows)


def _table(model: Any) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def record_case_changes(
    session: Session,
    kind: str,
    changes: dict[int, dict[str, Any]],
    at: datetime,
    *,
    also_units: dict[int, list[str]] | None = None,
) -> int:
    """Record one ``kind`` event per changed case, read as it is in the session's transaction
    (``changes``: case id -> what the event adds; ``also_units``: units it left, whose
    subscribers hear of it too)."""
    if not changes or not outbox.subscribed(session):
        return 0  # nobody to tell: the case rows are not even read back
    session.flush()  # the ORM's pending rows (a new chain of units) are read back below
    reports = _table(Report)
    units = _table(ReportUnit)
    ids = sorted(changes)
    events = []
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        rows = session.execute(select(*_case_columns()).where(reports.c.id.in_(chunk))).all()
        chains: dict[int, list[str]] = {}
        for unit in session.execute(
            select(units.c.report_id, units.c.code)
            .where(units.c.report_id.in_(chunk))
            .order_by(units.c.report_id, units.c.depth)
        ):
            chains.setdefault(unit.report_id, []).append(unit.code)
        for r in rows:
            event = case_event(kind, r, chains.get(r.id, []), at, **changes[r.id])
            left = (also_units or {}).get(r.id, [])
            if left:
                event = Event(
                    type=event.type,
                    data=event.data,
                    occurred_at=event.occurred_at,
                    entity=event.entity,
                    units=tuple(dict.fromkeys([*event.units, *left])),
                    category=event.category,
                    private=event.private,
                )
            events.append(event)
    return outbox.record(session, events, checked=True)


def intake_events(written: list[tuple[int, Any]]) -> list[Event]:
    """report.created, and report.assigned when routed at once, for new reports (``written``:
    (id, intake job with ``row`` and ``units``))."""
    events = []
    for report_id, job in written:
        report = SimpleNamespace(id=report_id, **job.row)
        codes = [u["code"] for u in job.units]
        at = job.row["created_at"]
        events.append(case_event("report.created", report, codes, at))
        if report.unit_code:
            events.append(case_event("report.assigned", report, codes, at))
    return events


def record_transition(
    session: Session,
    report_id: int,
    from_status: str,
    to_status: str,
    note: str,
    data: dict[str, Any],
    at: datetime,
) -> int:
    """The events of a move along the lifecycle: report.rated for a rating, else
    report.status_changed, and report.assigned when the case went to another unit."""
    change = {"from_status": str(from_status), "to_status": str(to_status), "note": note, **data}
    kind = "report.rated" if "rating" in data else "report.status_changed"
    count = record_case_changes(session, kind, {report_id: change}, at)
    if "unit_code" in data:
        count += record_case_changes(session, "report.assigned", {report_id: change}, at)
    return count


def _case_columns() -> list[Any]:
    """The reports' columns but the PostGIS geometry (SQLite has none; no event needs it)."""
    return [c for c in _table(Report).c if c.name != "geom"]
