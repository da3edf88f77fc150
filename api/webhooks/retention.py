"""Clean-up of the outbox: events older than the retention (``WANGGE_WEBHOOK_RETENTION_DAYS``)
whose deliveries are all settled (delivered or dead) are removed with those deliveries. An
event still pending for any subscription is kept, however old."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import and_, delete, exists, select
from sqlalchemy.orm import Session

from api.db.models import WebhookDelivery, WebhookEvent

BATCH = 1000


def purge_old(session: Session, now: datetime, days: float) -> int:
    """Remove settled events that occurred before ``now - days`` and their deliveries, in
    batches (not committed); how many events."""
    cutoff = now - timedelta(days=days)
    removed = 0
    while True:
        old = list(
            session.scalars(
                select(WebhookEvent.id)
                .where(
                    WebhookEvent.occurred_at < cutoff,
                    WebhookEvent.fanned_out.is_(True),
                    ~exists().where(
                        and_(
                            WebhookDelivery.event_pk == WebhookEvent.id,
                            WebhookDelivery.state == "pending",
                        )
                    ),
                )
                .order_by(WebhookEvent.id)
                .limit(BATCH)
            )
        )
        if not old:
            return removed
        session.execute(delete(WebhookDelivery).where(WebhookDelivery.event_pk.in_(old)))
        session.execute(delete(WebhookEvent).where(WebhookEvent.id.in_(old)))
        removed += len(old)
        if len(old) < BATCH:
            return removed
