"""What was delivered to a subscription, and replaying it: one event, or a time range."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import and_, insert, select, update
from sqlalchemy.orm import Session

from api.db.models import WebhookDelivery, WebhookEvent
from api.webhooks.errors import InvalidReplay
from api.webhooks.subscriptions import get_subscription, matches

STATES = ("pending", "delivered", "dead")
#: Most events one replay brings back (replay a narrower range for more).
MAX_REPLAY = 10_000


def list_deliveries(
    session: Session, subscription_id: int, *, state: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The subscription's most recent deliveries, newest first, with their last attempt."""
    get_subscription(session, subscription_id)
    if state is not None and state not in STATES:
        raise InvalidReplay(f"unknown state {state!r}", allowed=", ".join(STATES))
    d, e = WebhookDelivery, WebhookEvent
    query = (
        select(d, e.event_id, e.type, e.occurred_at)
        .join(e, e.id == d.event_pk)
        .where(d.subscription_id == subscription_id)
        .order_by(d.event_pk.desc())
        .limit(limit)
    )
    if state is not None:
        query = query.where(d.state == state)
    return [
        {
            "event_id": event_id,
            "type": kind,
            "occurred_at": occurred_at,
            "state": row.state,
            "attempts": row.attempts,
            "next_at": row.next_at if row.state == "pending" else None,
            "last_attempt_at": row.last_attempt_at,
            "last_status_code": row.last_status_code,
            "last_latency_ms": row.last_latency_ms,
            "last_error": row.last_error,
            "last_response": row.last_response,
            "delivered_at": row.delivered_at,
        }
        for row, event_id, kind, occurred_at in session.execute(query)
    ]


def replay(
    session: Session,
    subscription_id: int,
    *,
    now: datetime,
    event_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> int:
    """Deliver again (committed): one event, or every matching event that occurred in
    [since, until). Delivered and dead deliveries become pending, due now; events that
    occurred before the subscription existed get their first delivery. How many."""
    sub = get_subscription(session, subscription_id)
    if (event_id is None) == (since is None and until is None):
        raise InvalidReplay(
            "a replay names one event_id, or a time range (since, until)",
            allowed="{'event_id': ...} or {'since': ..., 'until': ...}",
        )
    query = select(WebhookEvent.id, WebhookEvent.type, WebhookEvent.units, WebhookEvent.category)
    query = query.add_columns(WebhookEvent.entity)
    if event_id is not None:
        query = query.where(WebhookEvent.event_id == event_id)
    else:
        if since is not None:
            query = query.where(WebhookEvent.occurred_at >= since)
        if until is not None:
            query = query.where(WebhookEvent.occurred_at < until)
    rows = session.execute(query.order_by(WebhookEvent.id).limit(MAX_REPLAY + 1)).all()
    if event_id is not None and not rows:
        raise InvalidReplay(f"no event {event_id!r}", allowed="an event_id from the deliveries")
    if len(rows) > MAX_REPLAY:
        raise InvalidReplay(
            f"more than {MAX_REPLAY} events in this range", allowed="a narrower time range"
        )
    if event_id is None:  # a range: what the subscription would get
        rows = [r for r in rows if matches(sub, r.type, r.units or [], r.category)]
    if not rows:
        return 0
    pks = [r.id for r in rows]
    known = set(
        session.scalars(
            select(WebhookDelivery.event_pk).where(
                WebhookDelivery.subscription_id == sub.id, WebhookDelivery.event_pk.in_(pks)
            )
        )
    )
    session.execute(
        update(WebhookDelivery)
        .where(and_(WebhookDelivery.subscription_id == sub.id, WebhookDelivery.event_pk.in_(pks)))
        .values(state="pending", attempts=0, next_at=now, lease_until=None, leased_by=None)
        .execution_options(synchronize_session=False)
    )
    fresh = [
        {
            "subscription_id": sub.id,
            "event_pk": r.id,
            "entity": r.entity,
            "state": "pending",
            "attempts": 0,
            "next_at": now,
            "created_at": now,
        }
        for r in rows
        if r.id not in known
    ]
    if fresh:
        session.execute(insert(WebhookDelivery), fresh)
    session.commit()
    return len(rows)
