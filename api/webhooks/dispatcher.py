"""The dispatcher: a background thread that delivers the outbox's events, at least once.

Each round it
1. fans new events out into one delivery per matching subscription (one transaction);
2. claims due deliveries with a lease (one UPDATE ... WHERE id IN (SELECT ...): on PostgreSQL
   ``FOR UPDATE SKIP LOCKED``, on SQLite the statement holds the write lock), so that with
   many workers or processes each delivery is made by one of them; a worker killed while it
   delivers lets its lease run out and another takes the delivery over (same event id);
3. posts each claimed delivery from a small thread pool (a slow receiver holds at most
   ``webhook_per_subscription`` threads), then records the answer: delivered, or retried with
   exponential backoff and jitter, or dead after ``webhook_max_attempts`` failures.

A delivery waits while an earlier event of the same entity for the same subscription is
pending, so a receiver gets a case's events in order. The thread wakes when a session of this
process commits events (api.webhooks.outbox), and polls for other processes' events.
"""

from __future__ import annotations

import json
import logging
import queue
import random
import threading
import time
import uuid
from collections import Counter, deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import (
    Table,
    and_,
    case,
    exists,
    false,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from api import VERSION
from api.db import Database
from api.db.models import WebhookDelivery, WebhookEvent, WebhookSubscription
from api.settings import Settings
from api.webhooks import outbox
from api.webhooks.signing import signature
from api.webhooks.subscriptions import event_data, host_allowed, matches

log = logging.getLogger("wangge")

#: Key of the PostgreSQL advisory lock held while fanning out (one process at a time, so a
#: case's events get their deliveries in order).
FAN_OUT_LOCK = 7_210_005
FAN_OUT_BATCH = 500
#: How often settled events older than the retention are removed (api.webhooks.retention).
PURGE_EVERY_S = 3600.0


def _table(model: Any) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


EVENTS = _table(WebhookEvent)
DELIVERIES = _table(WebhookDelivery)
SUBSCRIPTIONS = _table(WebhookSubscription)


def utc_now() -> datetime:
    return datetime.now(UTC)


def backoff_s(attempts: int, base: float, ceiling: float) -> float:
    """The wait after the ``attempts``-th failure: base * 2**(n-1), capped, with jitter (between
    half and all of it, so receivers coming back are not hit by every retry at once)."""
    delay = min(ceiling, base * 2 ** min(attempts - 1, 40))
    return delay * random.uniform(0.5, 1.0)


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    subscription_id: int
    event_pk: int
    attempts: int


@dataclass(frozen=True)
class _Room:
    local: Counter[int]
    posting: int
    full: set[int]
    allowance: dict[int, int]


@dataclass(frozen=True)
class Answer:
    """What one attempt got: a status (None: no answer), the time, the answer's first bytes."""

    status_code: int | None
    latency_ms: float
    body: str
    error: str | None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


class Dispatcher:
    """Delivers the outbox (start it once per process; stop it before the database closes)."""

    def __init__(
        self,
        db: Database,
        settings: Settings,
        *,
        periodic: list[tuple[float, Callable[[], None]]] | None = None,
    ) -> None:
        self.db = db
        self.settings = settings
        self.worker = uuid.uuid4().hex[:16]
        self._periodic = [(every, job, [0.0]) for every, job in periodic or []]
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._inflight: Counter[int] = Counter()
        #: Claimed deliveries beyond a subscription's share of threads, kept (leased to this
        #: worker) and posted as soon as one of its threads is free, each with the monotonic
        #: time its lease ends: claimed work is not handed back.
        self._backlog: dict[int, deque[tuple[float, Claimed]]] = {}
        #: Backlogged deliveries whose lease ran short before a thread got to them: released
        #: in the next round so that any worker may take them.
        self._stale: list[int] = []
        self._inflight_lock = threading.Lock()
        #: Answers waiting to be recorded: the loop records them together, one commit.
        self._answers: queue.Queue[tuple[Claimed, Answer]] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._client: httpx.Client | None = None
        self._undo: Callable[[], None] | None = None

    # -- start and stop -----------------------------------------------------------------------

    def start(self) -> None:
        s = self.settings
        self._client = httpx.Client(
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(s.webhook_read_timeout_s, connect=s.webhook_connect_timeout_s),
            limits=httpx.Limits(max_connections=s.webhook_workers * 2),
            headers={"User-Agent": f"Wangge-Webhooks/{VERSION}"},
        )
        self._pool = ThreadPoolExecutor(s.webhook_workers, thread_name_prefix="wangge-webhook")
        self._undo = outbox.on_commit(self.wake)
        self._thread = threading.Thread(target=self._run, name="wangge-dispatcher", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        self._wake.set()

    def close(self) -> None:
        """Stop claiming, let the deliveries in flight finish (each within its time-outs)."""
        if self._undo is not None:
            self._undo()
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
        with self._inflight_lock:
            left = self._stale + [c.delivery_id for q in self._backlog.values() for _, c in q]
            self._stale, self._backlog = [], {}
        try:
            self.record_answers()
            if left:  # not posted: any worker may take them at once
                self._release(left)
        except Exception:  # the database may be gone: the leases run out, others deliver
            log.exception("webhook answers not recorded at shutdown")
        if self._client is not None:
            self._client.close()

    # -- the loop -----------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.clear()
            busy = False
            try:
                busy = self.round()
                self._run_periodic()
            except Exception:  # a database hiccup must not end the loop
                log.exception("webhook dispatcher round failed")
                busy = False
            if not busy:
                self._wake.wait(self.settings.webhook_poll_s)

    def round(self) -> bool:
        """Record the answers got, fan out new events, claim due deliveries: one transaction
        (one disk sync), then post what was claimed. Whether there was anything to do."""
        answers = self._take_answers()
        room = self._room()
        with self._inflight_lock:
            stale, self._stale = self._stale, []
        # Only the threads in flight bound the claim (each backlog is bounded by itself), so
        # slow receivers' backlogs do not keep the others' deliveries from being claimed.
        free = self.claim_batch if room.posting < self.settings.webhook_workers * 2 else 0
        try:
            with self.db.session() as session:
                if answers:
                    self._settle(session, answers)
                if stale:
                    self._unlease(session, stale)
                fanned = self._fan_out(session)
                claimed = self._claim(session, free, room.full, room.allowance) if free > 0 else []
                session.commit()
        except Exception:
            for answer in answers:  # recorded in the next round
                self._answers.put(answer)
            with self._inflight_lock:
                self._stale += stale
            raise
        posted = self._post(claimed)
        return posted or bool(answers) or fanned > 0

    @property
    def per_subscription(self) -> int:
        """How many deliveries of one subscription this worker holds at most: its threads
        plus its backlog."""
        s = self.settings
        return s.webhook_per_subscription + s.webhook_backlog_per_subscription

    @property
    def claim_batch(self) -> int:
        return max(32, self.per_subscription)

    def _room(self) -> _Room:
        """What each subscription holds here; which are full; what the others may take."""
        with self._inflight_lock:
            local = Counter(self._inflight)
            posting = sum(local.values())
            for sub, waiting in self._backlog.items():
                local[sub] += len(waiting)
        cap = self.per_subscription
        full = {sub for sub, n in local.items() if n >= cap}
        allowance = {sub: cap - n for sub, n in local.items() if 0 < n < cap}
        return _Room(local, posting, full, allowance)

    def _run_periodic(self) -> None:
        now = time.monotonic()
        for every, job, last in self._periodic:
            if now - last[0] >= every:
                last[0] = now
                job()

    def fan_out(self) -> int:
        """One delivery per matching subscription for events not fanned out yet (committed);
        how many events were handled."""
        with self.db.session() as session:
            count = self._fan_out(session)
            session.commit()
        return count

    def _fan_out(self, session: Session) -> int:
        now = utc_now()
        if self.db.dialect == "postgresql":
            got = session.execute(
                text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": FAN_OUT_LOCK}
            ).scalar()
            if not got:
                return 0
        pick = (
            select(EVENTS.c.id)
            .where(EVENTS.c.fanned_out == false())
            .order_by(EVENTS.c.id)
            .limit(FAN_OUT_BATCH)
        )
        rows = session.execute(
            update(EVENTS)
            .where(EVENTS.c.id.in_(pick.scalar_subquery()))
            .values(fanned_out=True)
            .returning(
                EVENTS.c.id, EVENTS.c.type, EVENTS.c.entity, EVENTS.c.units, EVENTS.c.category
            )
        ).all()
        if not rows:
            return 0
        subs = session.execute(
            select(
                SUBSCRIPTIONS.c.id,
                SUBSCRIPTIONS.c.events,
                SUBSCRIPTIONS.c.units,
                SUBSCRIPTIONS.c.categories,
            )
        ).all()
        deliveries = [
            {
                "subscription_id": sub.id,
                "event_pk": row.id,
                "entity": row.entity,
                "state": "pending",
                "attempts": 0,
                "next_at": now,
                "created_at": now,
            }
            for row in sorted(rows, key=lambda r: r.id)
            for sub in subs
            if matches(sub, row.type, row.units or [], row.category)
        ]
        if deliveries:
            session.execute(insert(DELIVERIES), deliveries)
        return len(rows)

    def claim(
        self,
        limit: int,
        exclude: set[int] | None = None,
        allowance: dict[int, int] | None = None,
    ) -> list[Claimed]:
        """Lease up to ``limit`` due deliveries to this worker (committed), at most
        :attr:`per_subscription` of one subscription (``allowance`` of those named there)."""
        with self.db.session() as session:
            claimed = self._claim(session, limit, exclude, allowance)
            session.commit()
        return claimed

    def _claim(
        self,
        session: Session,
        limit: int,
        exclude: set[int] | None,
        allowance: dict[int, int] | None = None,
    ) -> list[Claimed]:
        """The claim: the due deliveries (on PostgreSQL row-locked, skipping those another
        worker holds), ranked within their subscription, at most each one's allowance."""
        now = utc_now()
        d = DELIVERIES
        earlier = aliased(DELIVERIES)
        due = (
            select(d.c.id, d.c.subscription_id, d.c.next_at)
            .join(SUBSCRIPTIONS, SUBSCRIPTIONS.c.id == d.c.subscription_id)
            .where(
                d.c.state == "pending",
                d.c.next_at <= now,
                or_(d.c.lease_until.is_(None), d.c.lease_until < now),
                SUBSCRIPTIONS.c.paused == false(),
                ~exists().where(
                    and_(
                        earlier.c.subscription_id == d.c.subscription_id,
                        earlier.c.entity == d.c.entity,
                        earlier.c.event_pk < d.c.event_pk,
                        earlier.c.state == "pending",
                    )
                ),
            )
        )
        if exclude:
            due = due.where(d.c.subscription_id.not_in(sorted(exclude)))
        if self.db.dialect == "postgresql":
            # FOR UPDATE does not go with a window function: lock a bounded set first.
            due = (
                due.order_by(d.c.next_at, d.c.id)
                .limit(limit * 4)
                .with_for_update(skip_locked=True, of=d)
            )
        cand = due.subquery("due")
        rank = (
            func.row_number()
            .over(partition_by=cand.c.subscription_id, order_by=(cand.c.next_at, cand.c.id))
            .label("rank")
        )
        ranked = select(cand.c.id, cand.c.subscription_id, cand.c.next_at, rank).subquery("ranked")
        cap = self.per_subscription
        share = (
            case(
                *((ranked.c.subscription_id == sub, n) for sub, n in sorted(allowance.items())),
                else_=cap,
            )
            if allowance
            else cap
        )
        pick = (
            select(ranked.c.id)
            .where(ranked.c.rank <= share)
            .order_by(ranked.c.next_at, ranked.c.id)
            .limit(limit)
        )
        lease = now + timedelta(seconds=self.settings.webhook_lease_s)
        rows = session.execute(
            update(d)
            .where(d.c.id.in_(pick.scalar_subquery()))
            .values(lease_until=lease, leased_by=self.worker)
            .returning(d.c.id, d.c.subscription_id, d.c.event_pk, d.c.attempts)
        ).all()
        return [
            Claimed(r.id, r.subscription_id, r.event_pk, r.attempts)
            for r in sorted(rows, key=lambda r: r.id)
        ]

    def _post(self, claimed: list[Claimed]) -> bool:
        """Hand claimed deliveries to the pool, each subscription within its share of threads;
        the rest wait in its backlog for a free thread of it (beyond the backlog, if the claim
        ever got more, they go back). Whether any was handed over or kept."""
        assert self._pool is not None
        quota = self.settings.webhook_per_subscription
        backlog_cap = self.settings.webhook_backlog_per_subscription
        lease_ends = time.monotonic() + self.settings.webhook_lease_s
        keep: list[Claimed] = []
        extra: list[int] = []
        with self._inflight_lock:
            for c in claimed:
                sub = c.subscription_id
                waiting = self._backlog.setdefault(sub, deque())
                if self._inflight[sub] < quota and not waiting:
                    self._inflight[sub] += 1
                    keep.append(c)
                elif len(waiting) < backlog_cap:
                    waiting.append((lease_ends, c))
                else:
                    extra.append(c.delivery_id)
                if not waiting:
                    del self._backlog[sub]
        if extra:
            self._release(extra)
        for c in keep:
            self._pool.submit(self._post_one, c)
        return len(claimed) > len(extra)

    def _release(self, ids: list[int]) -> None:
        with self.db.session() as session:
            self._unlease(session, ids)
            session.commit()

    def _unlease(self, session: Session, ids: list[int]) -> None:
        session.execute(
            update(DELIVERIES)
            .where(
                DELIVERIES.c.id.in_(ids),
                DELIVERIES.c.leased_by == self.worker,
                DELIVERIES.c.state == "pending",
            )
            .values(lease_until=None, leased_by=None)
        )

    def _next_waiting(self, sub: int) -> Claimed | None:
        """The next backlogged delivery of ``sub`` whose lease still covers an attempt (the
        thread keeps its share); None frees the share. Called with the lock held."""
        s = self.settings
        margin = s.webhook_connect_timeout_s + s.webhook_read_timeout_s + 5.0
        waiting = self._backlog.get(sub)
        now = time.monotonic()
        while waiting and not self._stop.is_set():
            lease_ends, claimed = waiting.popleft()
            if lease_ends - now > margin:
                return claimed
            self._stale.append(claimed.delivery_id)
        if waiting is not None and not waiting:
            del self._backlog[sub]
        return None

    # -- one delivery -------------------------------------------------------------------------

    def _post_one(self, claimed: Claimed) -> None:
        """Post one delivery, then the subscription's backlogged ones while there are any
        (the thread keeps the subscription's share meanwhile)."""
        sub = claimed.subscription_id
        current: Claimed | None = claimed
        while current is not None:
            try:
                self.deliver(current)
            except Exception:
                log.exception("webhook delivery %d failed", current.delivery_id)
            with self._inflight_lock:
                current = self._next_waiting(sub)
                if current is None:
                    self._inflight[sub] -= 1
                    if self._inflight[sub] <= 0:
                        del self._inflight[sub]
            self.wake()  # the answer is to be recorded; the entity's next event may be due

    def deliver(self, claimed: Claimed) -> Answer | None:
        """Post one claimed delivery and record what it got."""
        with self.db.session() as session:
            sub = session.get(WebhookSubscription, claimed.subscription_id)
            event = session.get(WebhookEvent, claimed.event_pk)
            if sub is None or event is None:
                return None
            body = json.dumps(
                {
                    "id": event.event_id,
                    "type": event.type,
                    "occurred_at": outbox.jsonable(event.occurred_at),
                    "data": event_data(sub, event.units or [], event.data, event.private or {}),
                },
                ensure_ascii=False,
                separators=(",", ":"),
            ).encode()
            url, secret, event_id = sub.url, sub.secret, event.event_id
        answer = self.post(url, secret, event_id, body)
        self._answers.put((claimed, answer))
        return answer

    def post(self, url: str, secret: str, event_id: str, body: bytes) -> Answer:
        """One signed POST: no redirects followed, time-outs, at most the size cap read."""
        assert self._client is not None
        host = httpx.URL(url).host
        if not host_allowed(host, self.settings.webhook_hosts):
            return Answer(None, 0.0, "", f"host {host!r} is not in WANGGE_WEBHOOK_ALLOWED_HOSTS")
        timestamp = str(int(time.time()))
        headers = {
            "Content-Type": "application/json",
            "Wangge-Event-Id": event_id,
            "Wangge-Timestamp": timestamp,
            "Wangge-Signature": signature(secret, timestamp, body),
        }
        cap = self.settings.webhook_max_response_bytes
        started = time.perf_counter()
        try:
            with self._client.stream("POST", url, content=body, headers=headers) as response:
                received = b""
                for chunk in response.iter_raw():
                    received += chunk
                    if len(received) >= cap:
                        break
                elapsed = (time.perf_counter() - started) * 1000
                return Answer(
                    response.status_code,
                    elapsed,
                    received[:500].decode("utf-8", "replace"),
                    None if response.is_success else f"answered {response.status_code}",
                )
        except httpx.HTTPError as exc:
            elapsed = (time.perf_counter() - started) * 1000
            return Answer(None, elapsed, "", f"{type(exc).__name__}: {exc}"[:500])

    def _take_answers(self) -> list[tuple[Claimed, Answer]]:
        got: list[tuple[Claimed, Answer]] = []
        while True:
            try:
                got.append(self._answers.get_nowait())
            except queue.Empty:
                return got

    def record_answers(self) -> int:
        """Record the answers the delivery threads got, in one transaction; how many."""
        got = self._take_answers()
        if got:
            self.settle_many(got)
        return len(got)

    def settle(self, claimed: Claimed, answer: Answer) -> None:
        """Record one attempt (see :meth:`settle_many`)."""
        self.settle_many([(claimed, answer)])

    def settle_many(self, answers: list[tuple[Claimed, Answer]]) -> None:
        """Record attempts: delivered, due again after a backoff, or dead. An attempt whose
        lease another worker has taken over meanwhile is not recorded."""
        with self.db.session() as session:
            self._settle(session, answers)
            session.commit()

    def _settle(self, session: Session, answers: list[tuple[Claimed, Answer]]) -> None:
        s = self.settings
        now = utc_now()
        for claimed, answer in answers:
            attempts = claimed.attempts + 1
            values: dict[str, Any] = {
                "attempts": attempts,
                "lease_until": None,
                "leased_by": None,
                "last_attempt_at": now,
                "last_status_code": answer.status_code,
                "last_latency_ms": round(answer.latency_ms, 1),
                "last_error": answer.error,
                "last_response": answer.body[:500],
            }
            if answer.ok:
                values |= {"state": "delivered", "delivered_at": now}
            elif attempts >= s.webhook_max_attempts:
                values["state"] = "dead"
                log.warning(
                    "webhook delivery %d is dead after %d attempts",
                    claimed.delivery_id,
                    attempts,
                )
            else:
                wait = backoff_s(attempts, s.webhook_retry_base_s, s.webhook_retry_max_s)
                values["next_at"] = now + timedelta(seconds=wait)
            session.execute(
                update(DELIVERIES)
                .where(
                    DELIVERIES.c.id == claimed.delivery_id,
                    DELIVERIES.c.leased_by == self.worker,
                    DELIVERIES.c.state == "pending",
                )
                .values(**values)
            )


def start_dispatcher(db: Database, settings: Settings) -> Dispatcher:
    """The dispatcher of a running service, with the report.overdue check, started."""
    from api.webhooks.cases import record_overdue
    from api.webhooks.retention import purge_old

    def check_overdue() -> None:
        with db.session() as session:
            try:
                record_overdue(session, utc_now())
            except IntegrityError:  # another process recorded them first
                session.rollback()

    def purge() -> None:
        with db.session() as session:
            try:
                purge_old(session, utc_now(), settings.webhook_retention_days)
                session.commit()
            except IntegrityError:  # replayed meanwhile: kept, tried again later
                session.rollback()

    dispatcher = Dispatcher(
        db,
        settings,
        periodic=[(settings.webhook_overdue_check_s, check_overdue), (PURGE_EVERY_S, purge)],
    )
    dispatcher.start()
    return dispatcher
