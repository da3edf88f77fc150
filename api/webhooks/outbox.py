"""The outbox: events are written in the transaction of the change that causes them.

A writer calls :func:`record` with its session before it commits; the events are committed
with the change or not at all. The dispatcher (api.webhooks.dispatcher) delivers them later;
dispatchers of this process are woken as soon as the session commits, the others poll.
While no subscription exists nothing is recorded: an event goes to the subscriptions there are
when it occurs, and a service without webhooks writes no outbox rows (nor wakes a dispatcher).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import Table, event, insert
from sqlalchemy.orm import Session

from api.db.models import WebhookEvent, WebhookSubscription
from api.webhooks.events import Event

_INFO_KEY = "wangge_webhook_events"
_wakers: set[Callable[[], None]] = set()
_lock = threading.Lock()


def subscribed(session: Session) -> bool:
    """Whether any subscription exists (one indexed read of a small table): with none, events
    need not even be built. (Plain SQL: intake's writer asks this for every batch.)"""
    table = WebhookSubscription.__tablename__
    driver = session.connection().connection.driver_connection  # in the session's transaction
    assert driver is not None
    cursor = driver.execute(f"SELECT 1 FROM {table} LIMIT 1")
    try:
        return cursor.fetchone() is not None
    finally:
        cursor.close()


def record(session: Session, events: Iterable[Event], *, checked: bool = False) -> int:
    """Write events into the outbox in the session's transaction (one executemany); how many.

    Nothing is sent until the transaction commits; a rolled-back change sends nothing. With
    no subscription at all nothing is written (one indexed read of a small table, skipped
    with ``checked``: the caller has just called :func:`subscribed`).
    """
    events = list(events)
    if not events or not (checked or subscribed(session)):
        return 0  # nobody to tell: not even the rows are built
    rows = [
        {
            "event_id": str(uuid.uuid4()),
            "type": e.type,
            "occurred_at": e.occurred_at,
            "entity": e.entity,
            "units": list(e.units),
            "category": e.category,
            "data": jsonable(e.data),
            "private": jsonable(e.private),
            "fanned_out": False,
        }
        for e in events
    ]
    table = WebhookEvent.__table__
    assert isinstance(table, Table)
    session.execute(insert(table), rows)
    session.info[_INFO_KEY] = True
    return len(rows)


def on_commit(waker: Callable[[], None]) -> Callable[[], None]:
    """Call ``waker`` after each commit of a session that recorded events; returns the undo."""
    with _lock:
        _wakers.add(waker)

    def undo() -> None:
        with _lock:
            _wakers.discard(waker)

    return undo


def wake() -> None:
    """Wake this process's dispatchers (events were committed outside a session's commit)."""
    with _lock:
        wakers = list(_wakers)
    for waker in wakers:
        waker()


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if session.info.pop(_INFO_KEY, False):
        wake()


@event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    session.info.pop(_INFO_KEY, None)


def jsonable(value: Any) -> Any:
    """Datetimes as ISO 8601 UTC ('Z'), recursively."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value
