"""Claiming deliveries on a real SQLite file and a real PostGIS database: with many workers
(each its own engine, as separate processes have) each delivery is made by one of them, in
order per entity, and a lease that runs out lets another worker take a delivery over."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import delete, func, select

from api.db import Database
from api.db.models import WebhookDelivery, WebhookEvent, WebhookSubscription
from api.settings import Settings
from api.webhooks import outbox
from api.webhooks.dispatcher import Answer, Dispatcher, backoff_s
from api.webhooks.events import Event
from api.webhooks.subscriptions import SubscriptionSpec, create_subscription

NOW = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
OK = Answer(200, 1.0, "ok", None)
FAILED = Answer(500, 1.0, "no", "answered 500")


@pytest.fixture(scope="module")
def settings(backend: Settings) -> Settings:
    return backend.model_copy(
        update={"webhook_allowed_hosts": "127.0.0.1", "webhook_lease_s": 30.0}
    )


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database(settings.database)
    with database.session() as session:
        for model in (WebhookDelivery, WebhookEvent, WebhookSubscription):
            session.execute(delete(model))
        session.commit()
    yield database
    database.dispose()


def subscribe(db: Database, **fields) -> int:
    spec = SubscriptionSpec(url="http://127.0.0.1:9/hook", events=["report.created"], **fields)
    with db.session() as session:
        return create_subscription(session, spec, allowed_hosts=["127.0.0.1"], now=NOW).id


def record(db: Database, entities: list[str | None]) -> None:
    with db.session() as session:
        outbox.record(
            session,
            [
                Event("report.created", {"n": n}, NOW, entity=e, units=("D", "G1"))
                for n, e in enumerate(entities)
            ],
        )
        session.commit()


def test_each_delivery_is_claimed_by_one_worker(db, settings):
    subscribe(db)
    subscribe(db, units=["G1"])
    subscribe(db, units=["G2"])  # matches nothing
    record(db, [None] * 150)
    workers = [Dispatcher(Database(settings.database), settings) for _ in range(4)]
    # fanning out at once: each event gets one delivery per matching subscription
    threads = [threading.Thread(target=w.fan_out) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    while sum(w.fan_out() for w in workers):
        pass
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(WebhookDelivery)) == 300
    claimed: list[list[int]] = [[] for _ in workers]

    def work(n: int) -> None:
        while got := workers[n].claim(7):
            claimed[n] += [c.delivery_id for c in got]
            for c in got:
                workers[n].settle(c, OK)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(len(workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for ids in claimed for i in ids]
    assert len(every) == 300 and len(set(every)) == 300
    assert sum(1 for ids in claimed if ids) >= 2  # the work was shared
    with db.session() as session:
        states = session.execute(
            select(WebhookDelivery.state, func.count()).group_by(WebhookDelivery.state)
        ).all()
        assert dict(states) == {"delivered": 300}
    for w in workers:
        w.db.dispose()


def test_an_entitys_events_go_in_order(db, settings):
    subscribe(db)
    record(db, ["report:1", "report:1", "report:2", "report:1"])
    worker = Dispatcher(db, settings)
    worker.fan_out()
    first = worker.claim(10)
    # the first of report:1 and the first of report:2; the later ones of report:1 wait
    assert sorted(c.event_pk for c in first) == sorted(_pks(db)[i] for i in (0, 2))
    assert worker.claim(10) == []
    by_pk = {c.event_pk: c for c in first}
    worker.settle(by_pk[_pks(db)[0]], FAILED)  # failed: report:1's next still waits
    assert worker.claim(10) == []
    settings_dead = settings.model_copy(update={"webhook_max_attempts": 1})
    Dispatcher(db, settings_dead).settle(by_pk[_pks(db)[0]], FAILED)  # not its lease: ignored
    worker.settings = settings_dead
    again = _due_now(db, worker)
    assert [c.event_pk for c in again] == [_pks(db)[0]]
    worker.settle(again[0], FAILED)  # dead after its last attempt: the next may go
    [second] = worker.claim(10)
    assert second.event_pk == _pks(db)[1]
    worker.settle(second, OK)
    [third] = worker.claim(10)
    assert third.event_pk == _pks(db)[3]


def test_a_lease_that_runs_out_is_taken_over(db, settings):
    subscribe(db)
    record(db, ["report:7"])
    short = settings.model_copy(update={"webhook_lease_s": 0.3})
    crashed, other = Dispatcher(db, short), Dispatcher(db, short)
    crashed.fan_out()
    [held] = crashed.claim(10)
    assert other.claim(10) == []  # leased
    deadline = time.monotonic() + 5
    while not (taken := other.claim(10)):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert taken[0].delivery_id == held.delivery_id
    crashed.settle(held, OK)  # the first worker's late answer does not count
    with db.session() as session:
        assert session.get(WebhookDelivery, held.delivery_id).state == "pending"
    other.settle(taken[0], OK)
    with db.session() as session:
        assert session.get(WebhookDelivery, held.delivery_id).state == "delivered"


def test_a_paused_subscription_is_not_claimed(db, settings):
    subscribe(db, paused=True)
    record(db, [None])
    worker = Dispatcher(db, settings)
    assert worker.fan_out() == 1
    assert worker.claim(10) == []


def test_a_claim_takes_at_most_a_subscriptions_share(db, settings):
    """One busy subscription does not fill the claim: each gets its threads plus its backlog
    (less what this worker holds of it already), the others theirs."""
    busy, other = subscribe(db), subscribe(db)
    record(db, [f"report:{n}" for n in range(12)])
    small = settings.model_copy(
        update={"webhook_per_subscription": 2, "webhook_backlog_per_subscription": 3}
    )
    worker = Dispatcher(db, small)
    worker.fan_out()
    got = Counter(c.subscription_id for c in worker.claim(100, allowance={busy: 1}))
    assert got == {busy: 1, other: 5}
    got = Counter(c.subscription_id for c in worker.claim(100, exclude={other}))
    assert got == {busy: 5}


def test_claimed_work_waits_in_the_backlog_and_is_not_handed_back(db, settings, receiver_factory):
    """With one thread for a receiver that does not answer, the round's other claimed
    deliveries stay leased to the worker; at shutdown it hands the unposted ones back."""
    receiver = receiver_factory("--hang", "100")
    with db.session() as session:
        spec = SubscriptionSpec(url=receiver.url, events=["report.created"])
        made = create_subscription(session, spec, allowed_hosts=["127.0.0.1"], now=NOW)
        sub, secret = made.id, made.secret
        session.commit()
    # with its secret the receiver takes each request and never answers (without, it would
    # answer 503 at once and the six would pass through in a moment)
    receiver.use_secret(secret)
    record(db, [f"report:{n}" for n in range(6)])
    one = settings.model_copy(
        update={
            "webhook_per_subscription": 1,
            "webhook_backlog_per_subscription": 8,
            "webhook_read_timeout_s": 1.0,
            "webhook_connect_timeout_s": 1.0,
        }
    )
    worker = Dispatcher(db, one)
    worker.start()
    try:
        deadline = time.monotonic() + 10
        # the round's claim holds more than the one thread's share: the rest wait, leased
        while _leased(db)[worker.worker] < 5:
            assert time.monotonic() < deadline, _leased(db)
            time.sleep(0.05)
        receiver.wait_for(lambda got: len(got) >= 1)
    finally:
        worker.close()
    assert _leased(db) == {None: 6}  # handed back at shutdown: any worker may take them
    with db.session() as session:
        tried = session.scalars(
            select(WebhookDelivery.attempts).where(WebhookDelivery.subscription_id == sub)
        ).all()
    assert sorted(tried)[-1] >= 1 and sum(tried) < 6  # the first timed out; the rest waited


def test_slow_receivers_backlogs_do_not_hold_up_another(db, settings, receiver_factory):
    hanging = [receiver_factory("--hang", "100") for _ in range(2)]
    fast = receiver_factory()
    with db.session() as session:
        for receiver in [*hanging, fast]:
            spec = SubscriptionSpec(url=receiver.url, events=["report.created"])
            made = create_subscription(session, spec, allowed_hosts=["127.0.0.1"], now=NOW)
            receiver.use_secret(made.secret)
        session.commit()
    small = settings.model_copy(
        update={
            "webhook_workers": 4,
            "webhook_per_subscription": 1,
            "webhook_backlog_per_subscription": 8,
            "webhook_read_timeout_s": 5.0,
            "webhook_connect_timeout_s": 1.0,
        }
    )
    worker = Dispatcher(db, small)
    worker.start()
    try:
        record(db, [f"report:{n}" for n in range(10)])
        fast.wait_for(lambda got: len(got) >= 10, timeout=4.0)
    finally:
        worker.close()


@pytest.mark.parametrize(
    ("attempts", "low", "high"),
    [
        (1, 2.5, 5.0),  # the first retry: a few seconds
        (5, 40.0, 80.0),  # doubling
        (40, 43_200.0, 86_400.0),  # capped at a day
    ],
)
def test_backoff_doubles_with_jitter_up_to_a_day(attempts, low, high):
    waits = [backoff_s(attempts, 5.0, 86_400.0) for _ in range(200)]
    assert all(low <= w <= high for w in waits)
    assert len(set(waits)) > 1  # jittered


def _leased(db: Database) -> Counter[str | None]:
    with db.session() as session:
        return Counter(session.scalars(select(WebhookDelivery.leased_by)))


def _pks(db: Database) -> list[int]:
    with db.session() as session:
        return list(session.scalars(select(WebhookEvent.id).order_by(WebhookEvent.id)))


def _due_now(db: Database, worker: Dispatcher) -> list:
    """Make the pending deliveries due at once (their backoff skipped) and claim them."""
    with db.session() as session:
        session.execute(
            WebhookDelivery.__table__.update()
            .where(WebhookDelivery.state == "pending")
            .values(next_at=NOW)
        )
        session.commit()
    return worker.claim(10)


def test_nothing_is_recorded_while_no_subscription_exists(db):
    """A service without webhooks writes no outbox rows; the first subscription starts them."""
    record(db, ["report:1", "report:2"])
    assert _pks(db) == []
    subscribe(db)
    record(db, ["report:3"])
    assert len(_pks(db)) == 1


def test_events_live_and_die_with_the_transaction_of_their_change(db):
    """An event is written in the transaction of its change: rolled back with it, or committed
    with it (and then seen by a dispatcher's fan-out on its own connection)."""
    subscribe(db)
    event = Event("report.created", {"n": 1}, NOW, entity="report:1", units=("D", "G1"))
    with db.session() as session:
        assert outbox.record(session, [event]) == 1
        session.rollback()
    assert _pks(db) == []
    with db.session() as session:
        outbox.record(session, [event])
        session.commit()
    assert len(_pks(db)) == 1
    assert Dispatcher(db, Settings(webhook_allowed_hosts="127.0.0.1")).fan_out() == 1
