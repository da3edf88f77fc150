"""Group commit: one thread writes queued jobs in shared transactions, one disk sync per batch.

Each acknowledged report must be on disk before its 201 (SQLite synchronous=FULL, or a
PostgreSQL commit). A sync costs milliseconds; committing every report alone would cap intake
at a few hundred per second and make concurrent writers queue for SQLite's lock. Here request
threads hand their writes to one writer, which takes whatever is waiting (up to ``max_batch``),
runs the jobs in one transaction and commits once; each caller gets its own result only after
that commit. If a batch fails, its jobs are retried one by one, so one bad job fails alone.

Callers on an event loop await ``submit_async``: no thread is held while the batch commits.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager, nullcontext
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session, sessionmaker

J = TypeVar("J")
R = TypeVar("R")
log = logging.getLogger("wangge")

_STOP = object()


class GroupWriter(Generic[J, R]):
    """Writes queued jobs in batches: ``handle(session, jobs) -> results``, one commit each."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        handle: Callable[[Session, list[J]], list[R]],
        *,
        max_batch: int = 128,
        turn: Callable[[], AbstractContextManager[object]] = nullcontext,
    ) -> None:
        self._factory = factory
        self._handle = handle
        #: Held around each batch's transaction (other processes' writers wait for it).
        self._turn = turn
        self._max_batch = max_batch
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="wangge-writer", daemon=True)
        self._thread.start()

    def submit(self, job: J) -> R:
        """Write a job in the next batch; returns its result once the batch is committed."""
        future: Future[R] = Future()
        self._enqueue(job, future)
        return future.result()

    async def submit_async(self, job: J) -> R:
        """``submit`` awaited on the event loop. A caller that goes away (its request
        cancelled) does not take the job back: once queued, it is written.

        The writer hands each batch's results to the loop in one call (one wake-up of the
        loop per batch, not one per job)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[R] = loop.create_future()
        self._enqueue(job, (loop, future))
        return await future

    def _enqueue(self, job: J, waiter: Waiter[R]) -> None:
        if not self._thread.is_alive():
            raise RuntimeError("the writer has stopped")
        self._queue.put((job, waiter))

    def close(self) -> None:
        """Finish what is queued, then stop."""
        self._queue.put(_STOP)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            batch = [item]
            stop = False
            while len(batch) < self._max_batch:
                try:
                    more = self._queue.get_nowait()
                except queue.Empty:
                    break
                if more is _STOP:
                    stop = True
                    break
                batch.append(more)
            self._write(batch)
            if stop:
                return

    def _write(self, batch: list[tuple[J, Waiter[R]]]) -> None:
        try:
            with self._turn(), self._factory() as session:
                results = self._handle(session, [job for job, _ in batch])
                session.commit()
        except Exception as exc:
            if len(batch) > 1:
                log.warning("a batch of %d writes failed; retrying them one by one", len(batch))
                for one in batch:
                    self._write([one])
                return
            _settle([(batch[0][1], None, exc)])
            return
        _settle([(w, r, None) for (_, w), r in zip(batch, results, strict=True)])


#: Who waits for a job: a thread (a concurrent future) or a task (its loop and future).
Waiter = Future[R] | tuple[asyncio.AbstractEventLoop, "asyncio.Future[R]"]


def _settle(answers: list[tuple[Waiter[Any], Any, BaseException | None]]) -> None:
    """Give each waiter its result or error: threads at once, each loop in one call."""
    by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any, Any]]] = {}
    for waiter, result, error in answers:
        if isinstance(waiter, Future):
            if error is not None:
                waiter.set_exception(error)
            else:
                waiter.set_result(result)
        else:
            loop, future = waiter
            by_loop.setdefault(loop, []).append((future, result, error))
    for loop, items in by_loop.items():
        try:
            loop.call_soon_threadsafe(_resolve, items)
        except RuntimeError:  # the loop has closed: nobody is waiting any more
            pass


def _resolve(items: list[tuple[asyncio.Future[Any], Any, BaseException | None]]) -> None:
    for future, result, error in items:
        if future.done():  # its request was cancelled; the job was written all the same
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)
