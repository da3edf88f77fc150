"""Limits: a rate per key (a token bucket in one process, or a window shared by every worker
on the database), and bodies refused above a size before they are read."""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from sqlalchemy import Table, delete, func, select
from starlette.exceptions import HTTPException

from api.db.models import RateCount
from api.db.upsert import upsert
from api.errors import error_body

if TYPE_CHECKING:
    from api.db import Database

log = logging.getLogger("wangge")


class BodySizeLimit:
    """Answer 413 when Content-Length or the streamed body exceeds ``max_bytes``."""

    def __init__(
        self,
        app: Any,
        max_bytes: int,
        max_upload_bytes: int | None = None,
        path_limits: dict[str, int] | None = None,
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.max_upload_bytes = max_upload_bytes or max_bytes
        #: Uploads to these paths have their own limit (a boundary file is far larger).
        self.path_limits = path_limits or {}

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        upload = headers.get(b"content-type", b"").startswith(b"multipart/form-data")
        limit = self.max_upload_bytes if upload else self.max_bytes
        allowed = (
            f"at most {limit} bytes ("
            + ("photos plus form fields" if upload else "WANGGE_MAX_BODY_BYTES")
            + ")"
        )
        if upload and scope.get("path") in self.path_limits:
            limit = self.path_limits[scope["path"]]
            allowed = f"at most {limit} bytes for this upload"
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            await self._refuse(send, allowed)
            return
        seen = 0

        async def limited_receive() -> dict[str, Any]:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    # raised inside the app, so the app's handler answers 413 in the usual shape
                    raise HTTPException(413, "request body is larger than allowed")
            return message

        await self.app(scope, limited_receive, send)

    async def _refuse(self, send: Any, allowed: str) -> None:
        body = json.dumps(
            error_body("body_too_large", "request body is larger than allowed", allowed)
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class RateLimiter:
    """A token bucket per key: ``per_minute`` requests a minute, bursts up to the same."""

    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self._buckets: dict[int, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key_id: int) -> float:
        """0 when the request may go ahead, else the seconds to wait."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key_id, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key_id] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key_id] = (tokens, now)
            return (1.0 - tokens) / self.rate

    def close(self) -> None:
        """Nothing to stop (the shared limiter has a thread)."""


class SharedRateLimiter:
    """``per_minute`` requests a minute per key across every worker on one database.

    A sliding window over whole minutes: the estimate is this minute's count plus the last
    minute's weighted by how much of it is still inside the last 60 s. Each worker counts what
    it admits in memory (the request path touches no database) and, every ``sync_s``, writes
    its own counts (``rate_counts``, one row per key, minute and worker) and reads the others'
    sums. A worker's view of the others is thus at most ``sync_s`` old: a key can exceed its
    limit by what the other workers admit in that time, a few requests, never by a factor of
    the number of workers. (A limit of per_minute / N per worker would refuse a client whose
    one keep-alive connection happens to land on one worker: connections are not spread
    evenly.)
    """

    def __init__(self, db: Database, per_minute: int, *, sync_s: float = 0.25) -> None:
        self.limit = float(per_minute)
        self.sync_s = sync_s
        self.worker = uuid.uuid4().hex
        self._db = db
        self._mine: defaultdict[tuple[int, int], int] = defaultdict(int)
        self._written: dict[tuple[int, int], int] = {}
        self._others: dict[tuple[int, int], int] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wangge-rate-sync", daemon=True)
        self._thread.start()

    def allow(self, key_id: int) -> float:
        """0 when the request may go ahead, else the seconds to wait."""
        now = time.time()
        window = int(now // 60)
        left = 1.0 - (now % 60) / 60  # the share of the last minute still inside the window
        with self._lock:
            current = self._mine[(key_id, window)] + self._others.get((key_id, window), 0)
            last = self._mine.get((key_id, window - 1), 0) + self._others.get(
                (key_id, window - 1), 0
            )
            if current + last * left + 1.0 <= self.limit:
                self._mine[(key_id, window)] += 1
                return 0.0
        if last and current + 1.0 <= self.limit:  # wait for the last minute to slide out
            return max(0.05, (current + last * left + 1.0 - self.limit) * 60 / last)
        return 60 * left + 0.05  # this minute alone is full: the next one

    def close(self) -> None:
        """Write the last counts and stop."""
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        purged = 0
        while True:
            stopping = self._stop.wait(self.sync_s)
            try:
                window = int(time.time() // 60)
                self.sync(window, purge=window != purged)
                purged = window
            except Exception:  # the database away for a moment: counts kept, tried again
                log.warning("could not share rate-limit counts", exc_info=True)
            if stopping:
                return

    def sync(self, window: int, *, purge: bool = False) -> None:
        """Write this worker's changed counts, read the others' (for this minute and the
        last) and, with ``purge``, delete what is older."""
        with self._lock:
            for old in [kw for kw in self._mine if kw[1] < window - 1]:
                del self._mine[old]
                self._written.pop(old, None)
            changed = {kw: n for kw, n in self._mine.items() if self._written.get(kw) != n}
        table = RateCount.__table__
        assert isinstance(table, Table)
        with self._db.engine.begin() as connection:
            if changed:
                upsert(
                    connection,
                    table,
                    [
                        {"key_id": k, "minute": w, "worker": self.worker, "count": n}
                        for (k, w), n in changed.items()
                    ],
                    keys=["key_id", "minute", "worker"],
                )
            if purge:
                connection.execute(delete(table).where(table.c.minute < window - 1))
            rows = connection.execute(
                select(table.c.key_id, table.c.minute, func.sum(table.c.count))
                .where(table.c.minute >= window - 1, table.c.worker != self.worker)
                .group_by(table.c.key_id, table.c.minute)
            ).all()
        with self._lock:
            self._written.update(changed)
            self._others = {(k, w): int(n) for k, w, n in rows}


def rate_limiter_for(
    db: Database, per_minute: int, *, shared: bool
) -> RateLimiter | SharedRateLimiter:
    """The limiter a server uses: shared across workers (WANGGE_RATE_LIMIT_SHARED, set by
    ``wangge serve --workers N``) or its own."""
    return SharedRateLimiter(db, per_minute) if shared else RateLimiter(per_minute)
