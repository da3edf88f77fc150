"""Clean-up of old webhook events on a real SQLite file and a real PostGIS database: settled
events past the retention go with their deliveries; pending ones and recent ones stay."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import delete, select, update

from api.db import Database
from api.db.models import WebhookDelivery, WebhookEvent, WebhookSubscription
from api.settings import Settings
from api.webhooks import outbox
from api.webhooks.dispatcher import Dispatcher
from api.webhooks.events import Event
from api.webhooks.retention import purge_old
from api.webhooks.subscriptions import SubscriptionSpec, create_subscription

OLD = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
NOW = OLD + timedelta(days=31)


@pytest.fixture
def db(backend: Settings) -> Iterator[Database]:
    database = Database(backend.database)
    with database.session() as session:
        for model in (WebhookDelivery, WebhookEvent, WebhookSubscription):
            session.execute(delete(model))
        session.commit()
    yield database
    database.dispose()


def test_settled_events_past_the_retention_are_removed(db, backend):
    with db.session() as session:
        for _ in range(2):
            spec = SubscriptionSpec(url="http://127.0.0.1:9/hook", events=["report.created"])
            create_subscription(session, spec, allowed_hosts=["127.0.0.1"], now=OLD)
        outbox.record(
            session,
            [
                Event("report.created", {"n": n}, when, entity=f"report:{n}", units=("D",))
                for n, when in enumerate([OLD, OLD, OLD, NOW - timedelta(days=2)])
            ],
        )
        session.commit()
    Dispatcher(db, backend).fan_out()
    with db.session() as session:
        pks = list(session.scalars(select(WebhookEvent.id).order_by(WebhookEvent.id)))
        # event 0: delivered to both; 1: delivered to one, dead for the other; 2: still
        # pending for one; 3: recent, delivered
        states = {pks[0]: "delivered", pks[1]: "dead", pks[3]: "delivered"}
        for pk, state in states.items():
            session.execute(
                update(WebhookDelivery).where(WebhookDelivery.event_pk == pk).values(state=state)
            )
        session.execute(
            update(WebhookDelivery)
            .where(
                WebhookDelivery.event_pk.in_([pks[1], pks[2]]),
                WebhookDelivery.subscription_id
                == select(WebhookSubscription.id)
                .order_by(WebhookSubscription.id)
                .limit(1)
                .scalar_subquery(),
            )
            .values(state="delivered")
        )
        session.commit()

    with db.session() as session:
        assert purge_old(session, NOW, 30) == 2
        session.commit()
    with db.session() as session:
        assert list(session.scalars(select(WebhookEvent.id).order_by(WebhookEvent.id))) == [
            pks[2],
            pks[3],
        ]
        left = session.execute(select(WebhookDelivery.event_pk, WebhookDelivery.state)).all()
        assert sorted(left) == sorted(
            [
                (pks[2], "delivered"),
                (pks[2], "pending"),
                (pks[3], "delivered"),
                (pks[3], "delivered"),
            ]
        )
    with db.session() as session:  # nothing more to remove; a longer retention keeps all
        assert purge_old(session, NOW, 30) == 0
        assert purge_old(session, NOW, 90) == 0


def test_the_retention_is_a_setting():
    assert Settings().webhook_retention_days == 30
    assert Settings(webhook_retention_days=7).webhook_retention_days == 7
    with pytest.raises(ValueError):
        Settings(webhook_retention_days=0)
