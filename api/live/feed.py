"""The change feed: every report event (a creation or a change) after a cursor, as the caller
may see it. report_events are append-only with increasing ids, so the last id seen is a
cursor that misses nothing; the feed reads the database, so every worker answers alike.

On PostgreSQL ids come from a sequence when the row is inserted, so two transactions writing
at once may commit out of id order: id 11 may be visible while id 10 is still being written.
The feed therefore stops before a gap in the ids (:func:`settled_head`) until the gap is
:data:`SETTLE` old: then it was a rolled-back transaction's id, never to be filled. SQLite
commits one writer at a time, in id order, and has no such gaps in flight."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from api.access.policy import Principal, sees_case_details
from api.cases.visibility import scoped
from api.db import Database
from api.db.models import Category, Report, ReportEvent, ReportUnit
from api.live.cases import CASE_COLUMNS, live_case
from api.live.schemas import Change, ChangePage

#: The most changes one answer carries.
MAX_CHANGES = 500
#: How long a gap in the event ids may be a transaction still being committed.
SETTLE = timedelta(seconds=5)


def feed_head(session: Session) -> int:
    """The id of the newest event (0 for none): where a feed that wants only what comes
    next starts."""
    return int(session.scalar(select(func.max(ReportEvent.id))) or 0)


def settled_head(session: Session, since_event: int, limit: int, now: datetime) -> tuple[int, bool]:
    """The highest event id up to which nothing can still appear, and whether ids after it
    were left unread: the head, or on PostgreSQL the id before the first gap after
    ``since_event`` younger than :data:`SETTLE` (the event after it was written less than
    that ago). At most ``limit`` ids are looked at.
    """
    if session.get_bind().dialect.name == "sqlite":
        return feed_head(session), False
    rows = session.execute(
        select(ReportEvent.id, ReportEvent.at)
        .where(ReportEvent.id > since_event)
        .order_by(ReportEvent.id)
        .limit(limit)
    ).all()
    head = since_event
    for event_id, at in rows:
        if event_id != head + 1 and now - _aware(at, now) < SETTLE:
            return head, False  # an earlier id may still be committing: wait for it
        head = event_id
    return head, len(rows) == limit


def _aware(at: datetime, like: datetime) -> datetime:
    """``at`` comparable with ``like`` (the database may hand times back without a zone)."""
    if (at.tzinfo is None) == (like.tzinfo is None):
        return at
    return at.replace(tzinfo=like.tzinfo) if at.tzinfo is None else at.replace(tzinfo=None)


def changes(
    session: Session,
    principal: Principal,
    categories: Mapping[str, Category],
    *,
    since_event: int,
    limit: int,
    now: datetime,
) -> ChangePage:
    """The events after ``since_event`` the caller may see, oldest first, with their case as
    it is now. Grid workers get their area's; planners get where and what, not the case."""
    # read first: an event committed meanwhile waits for next time
    head, unread = settled_head(session, since_event, MAX_CHANGES + limit + 1, now)
    query = cast(
        Select[Any],
        select(
            ReportEvent.id.label("event_id"),
            ReportEvent.at,
            ReportEvent.kind,
            ReportEvent.from_status,
            ReportEvent.to_status,
            *CASE_COLUMNS,
        )
        .join(Report, Report.id == ReportEvent.report_id)
        .where(ReportEvent.id > since_event, ReportEvent.id <= head)
        .order_by(ReportEvent.id)
        .limit(limit + 1),
    )
    rows = session.execute(scoped(query, principal)).all()
    full = len(rows) > limit
    rows = rows[:limit]
    details = sees_case_details(principal)
    chains: dict[int, list[str]] = {}
    if rows:
        for report_id, code in session.execute(
            select(ReportUnit.report_id, ReportUnit.code)
            .where(ReportUnit.report_id.in_({row.id for row in rows}))
            .order_by(ReportUnit.report_id, ReportUnit.depth)
        ):
            chains.setdefault(report_id, []).append(code)
    items = [
        Change(
            event_id=row.event_id,
            at=row.at,
            kind=row.kind,
            from_status=row.from_status,
            to_status=row.to_status,
            report_id=row.id if details else None,
            unit_code=row.unit_code,
            units=chains.get(row.id, []),
            category=row.category,
            case=live_case(row, categories, principal, now) if details else None,
        )
        for row in rows
    ]
    # past events the caller may not see, the cursor still moves on to the head
    cursor = rows[-1].event_id if full else max(head, since_event)
    return ChangePage(items=items, next_event=cursor, more=full or unread)


def read_changes(
    db: Database,
    principal: Principal,
    categories: Mapping[str, Category],
    *,
    since_event: int,
    limit: int,
    now: datetime,
) -> ChangePage:
    """:func:`changes` in a session of its own (one poll of a stream)."""
    with db.session() as session:
        return changes(
            session, principal, categories, since_event=since_event, limit=limit, now=now
        )
