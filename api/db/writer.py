"""Group commit: one thread writes queued jobs in shared transactions, one disk sync per batch.

Each acknowledged report must be on disk before its 201 (SQLite synchronous=FULL, or a
PostgreSQL commit). A sync costs milliseconds; committing every report alone would cap intake
at a few hundred per second and make concurrent writers queue for SQLite's lock. Here request
threads hand their writes to one writer, which takes whatever is waiting (up to ``max_batch``),
runs the jobs in one transaction and commits once; each caller gets its own result only after
that commit. If a batch fails, its jobs are retried one by one, so one bad job fails alone.

Callers on an event loop await ``submit_async``: no thread is held while the batch commits.

Where a batch is written is the writer's ``write``:

- :class:`InThread`: in the writer's thread, on this process's database connection;
- :class:`InChild`: in a child process of its own (``api.db.writer_child``), sent the batch
  over a pipe. The writer's thread then only sends and receives while the child turns rows
  into SQL: the Python work of every insert leaves the interpreter lock that the event loop
  needs, and runs on another core.

A server feeds its child from the event loop itself instead (:class:`LoopFed`, the same
child and pipe, no writer thread): a thread's two takings of the interpreter lock per batch
cost the loop more than the sending.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
import pickle
import queue
import select
import struct
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from contextlib import AbstractContextManager, nullcontext
from typing import IO, Any, Generic, Protocol, TypeVar

from sqlalchemy.orm import Session, sessionmaker

from api.db.load import WriterLoad

J = TypeVar("J")
R = TypeVar("R")
log = logging.getLogger("wangge")

_STOP = object()

#: A job's outcome: its result, or the error that failed it.
Answer = tuple[Any, BaseException | None]


class WriterStopped(RuntimeError):
    """The writer cannot take or finish jobs (its process stopped, or it was closed)."""


class BatchWrite(Protocol):
    """Writes a batch in one transaction: an answer per job, in order.

    ``encode`` runs on the caller's thread before a job is queued, ``decode`` on the caller's
    thread once its answer is back (the identity in a thread; pickling for a child process, so
    that the writer's thread only moves bytes and hardly ever takes the interpreter lock)."""

    #: Whether the batches are written by another process (work moved to the writer then
    #: leaves this one's interpreter lock).
    in_other_process: bool

    def __call__(self, jobs: list[Any]) -> list[Answer]: ...

    @property
    def alive(self) -> bool: ...

    def encode(self, job: Any) -> Any: ...

    def decode(self, result: Any) -> Any: ...

    def between_batches(self) -> None:
        """Upkeep once a batch's callers have their answers (the WAL's checkpoint)."""

    def close(self) -> None: ...


class GroupWriter(Generic[J, R]):
    """Writes queued jobs in batches through ``write``, one commit each."""

    def __init__(self, write: BatchWrite, *, max_batch: int = 128) -> None:
        self._write = write
        self.in_other_process = write.in_other_process
        self._max_batch = max_batch
        self.load = WriterLoad()
        self._queue: queue.Queue[Any] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="wangge-writer", daemon=True)
        self._thread.start()

    @property
    def alive(self) -> bool:
        """Whether the writer's thread (and its child process, if any) is running."""
        return self._thread.is_alive() and self._write.alive

    def submit(self, job: J) -> R:
        """Write a job in the next batch; returns its result once the batch is committed."""
        future: Future[Any] = Future()
        self._enqueue(job, future)
        result: R = self._write.decode(future.result())
        return result

    async def submit_async(self, job: J) -> R:
        """``submit`` awaited on the event loop. A caller that goes away (its request
        cancelled) does not take the job back: once queued, it is written.

        The writer hands each batch's results to the loop in one call (one wake-up of the
        loop per batch, not one per job)."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._enqueue(job, (loop, future))
        result: R = self._write.decode(await future)
        return result

    def _enqueue(self, job: J, waiter: Waiter[Any]) -> None:
        if not self._thread.is_alive():
            raise WriterStopped("the writer has stopped")
        self._queue.put((self._write.encode(job), waiter))

    def close(self) -> None:
        """Finish what is queued, then stop."""
        self._queue.put(_STOP)
        self._thread.join(timeout=30)
        self._write.close()

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
            started = time.monotonic()
            try:
                answers = self._write([job for job, _ in batch])
            except Exception as exc:  # the write itself could not run: every job fails
                answers = [(None, exc)] * len(batch)
            _settle([(w, r, e) for (_, w), (r, e) in zip(batch, answers, strict=True)])
            try:
                self._write.between_batches()
            except Exception:  # busy for a moment: the next batch's upkeep does it
                log.warning("the writer's upkeep between batches failed", exc_info=True)
            self.load.wrote(started, len(batch))  # its upkeep too: the next batch waits for it
            if stop:
                return


def write_batch(
    factory: sessionmaker[Session],
    handle: Callable[[Session, list[Any]], list[Any]],
    turn: Callable[[], AbstractContextManager[object]],
    jobs: list[Any],
) -> list[Answer]:
    """``handle(session, jobs)`` in one transaction (while holding ``turn``), committed; if it
    fails, each job again alone, so that one bad job fails alone."""
    try:
        with turn(), factory() as session:
            results = handle(session, jobs)
            session.commit()
    except Exception as exc:
        if len(jobs) > 1:
            log.warning("a batch of %d writes failed; retrying them one by one", len(jobs))
            return [answer for job in jobs for answer in write_batch(factory, handle, turn, [job])]
        return [(None, exc)]
    return [(result, None) for result in results]


class InThread:
    """Batches written in the writer's thread: ``handle(session, jobs) -> results``."""

    in_other_process = False
    alive = True

    def __init__(
        self,
        factory: sessionmaker[Session],
        handle: Callable[[Session, list[Any]], list[Any]],
        *,
        turn: Callable[[], AbstractContextManager[object]] = nullcontext,
        between: Callable[[], object] = lambda: None,
    ) -> None:
        self._factory = factory
        self._handle = handle
        #: Held around each batch's transaction (other processes' writers wait for it).
        self._turn = turn
        self._between = between

    def __call__(self, jobs: list[Any]) -> list[Answer]:
        return write_batch(self._factory, self._handle, self._turn, jobs)

    def encode(self, job: Any) -> Any:
        return job

    def decode(self, result: Any) -> Any:
        return result

    def between_batches(self) -> None:
        self._between()

    def close(self) -> None:
        """Nothing to stop."""


class InChild:
    """Batches written by a child process on the database at ``url``, by ``handler`` (a
    ``module:function`` taking a session and the jobs, which must pickle).

    The child (``python -m api.db.writer_child``) reads batches from a pipe, writes each as
    :func:`write_batch` does and sends the answers back. It ignores SIGINT and SIGTERM and
    stops when its pipe closes: when this side closes it, or when this process dies, after
    the batch it has. If the child dies, the batch it had fails (it may or may not have been
    committed: a client retries with its Idempotency-Key) and the next batch starts a new one.
    Between batches, once it has sent the answers, it checkpoints the database's WAL
    (:meth:`api.db.engine.Database.checkpoint_between_writes`).
    """

    in_other_process = True

    def __init__(self, url: str, handler: str, *, start_timeout_s: float = 120.0) -> None:
        self._url = url
        self._handler = handler
        self._start_timeout_s = start_timeout_s
        self._child: subprocess.Popen[bytes] | None = None
        self._to: IO[bytes] | None = None
        self._from: IO[bytes] | None = None
        self._start()

    def __call__(self, jobs: list[Any]) -> list[Answer]:
        if self._child is None or self._child.poll() is not None:
            self._stop_child()
            self._start()
        assert self._to is not None and self._from is not None
        try:
            send_frame(self._to, jobs)
            answers: list[bytes] = receive_frame(self._from)
        except (OSError, EOFError, pickle.UnpicklingError) as exc:
            self._stop_child()
            raise WriterStopped(
                f"the writer process stopped during a batch of {len(jobs)}: "
                "its reports may or may not be stored"
            ) from exc
        return [(answer, None) for answer in answers]

    def encode(self, job: Any) -> bytes:
        """The job pickled (by its caller: the writer's thread sends a list of bytes)."""
        return pickle.dumps(job, protocol=pickle.HIGHEST_PROTOCOL)

    def decode(self, result: bytes) -> Any:
        """The job's result from the child's pickled answer, or its error raised."""
        value, error = pickle.loads(result)
        if error is not None:
            raise error
        return value

    def between_batches(self) -> None:
        """Nothing here: the child keeps its own database between batches."""

    def close(self) -> None:
        """Close the pipe: the child finishes and exits."""
        self._stop_child()

    @property
    def alive(self) -> bool:
        """Whether the child is running."""
        return self._child is not None and self._child.poll() is None

    @property
    def pipes(self) -> tuple[int, int]:
        """The file descriptors of the jobs' and the answers' pipes (-1 when closed)."""
        to = self._to.fileno() if self._to is not None else -1
        answers = self._from.fileno() if self._from is not None else -1
        return to, answers

    def restart(self) -> None:
        """Stop the child if it still runs, and start a new one."""
        self._stop_child()
        self._start()

    @property
    def pid(self) -> int | None:
        """The child's process id (None before it starts or after it stops)."""
        return self._child.pid if self._child is not None else None

    def _start(self) -> None:
        jobs_read, jobs_write = os.pipe()
        answers_read, answers_write = os.pipe()
        try:
            self._child = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "api.db.writer_child",
                    self._url,
                    self._handler,
                    str(jobs_read),
                    str(answers_write),
                ],
                pass_fds=(jobs_read, answers_write),
                stdin=subprocess.DEVNULL,
            )
        finally:
            os.close(jobs_read)
            os.close(answers_write)
        self._to = open(jobs_write, "wb", buffering=0)  # noqa: SIM115 (kept for the child's life)
        self._from = open(answers_read, "rb")  # noqa: SIM115
        ready = threading.Timer(self._start_timeout_s, self._child.kill)
        ready.start()
        try:
            hello = receive_frame(self._from)
        except (OSError, EOFError, pickle.UnpicklingError) as exc:
            self._stop_child()
            raise WriterStopped("the writer process did not start (see its log above)") from exc
        finally:
            ready.cancel()
        if hello != "ready":
            self._stop_child()
            raise WriterStopped(f"the writer process could not start: {hello}")

    def _stop_child(self) -> None:
        for end in (self._to, self._from):
            if end is not None:
                try:
                    end.close()
                except OSError:
                    pass
        self._to = self._from = None
        if self._child is not None:
            try:
                self._child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._child.kill()
                self._child.wait()
            self._child = None


class LoopFed(Generic[J, R]):
    """Group commit in a writer process fed by the event loop itself: no thread in between.

    The loop writes a batch to the child's pipe when the child is idle, and reads the answers
    when the pipe is readable (``loop.add_reader``); whatever was submitted meanwhile is the
    next batch. Nothing here waits for the interpreter lock: a writer thread would take it
    from the loop twice per batch (to send, and to hand the answers over).

    Everything runs on the loop's thread. ``submit`` from another thread hands its job to the
    loop and waits; on the loop's own thread it exchanges the batch in hand and its job with
    the child, blocking (nothing else can run there meanwhile). If the child dies, the batch
    it had fails (as with :class:`InChild`) and a new child is started at once, in a thread,
    while new jobs wait for it.
    """

    in_other_process = True

    def __init__(
        self, child: InChild, loop: asyncio.AbstractEventLoop, *, max_batch: int = 128
    ) -> None:
        self._child = child
        self._loop = loop
        self._max_batch = max_batch
        self._thread = threading.get_ident()  # made on the loop's thread (see _running)
        assert _running(loop), "a LoopFed writer is made on its running loop"
        #: Jobs (encoded) waiting for the next batch, with their waiters.
        self._waiting: list[tuple[bytes, Waiter[Any]]] = []
        #: The waiters of the batch the child has, in order (None: the child is idle).
        self._sent: list[Waiter[Any]] | None = None
        self._unsent = b""  # the part of the batch's frame the pipe has not taken yet
        self._received = bytearray()
        self._restarting = False
        #: The child's pipe has closed: it is gone (or going: it may not have exited yet).
        self._lost_child = False
        self._flushing = False  # a flush is scheduled
        self._closed = False
        #: The batches written, and the share of time the child spent on them (from sending
        #: a batch to its answers: the child's upkeep between batches counts in the next).
        self.load = WriterLoad()
        self._sent_at = 0.0
        self._attach()

    @property
    def alive(self) -> bool:
        """Whether the child process is running (or being started again)."""
        return not self._closed and (
            self._restarting or (not self._lost_child and self._child.alive)
        )

    async def submit_async(self, job: J) -> R:
        """``job`` written in the next batch; its result once that batch is committed."""
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # another loop (a test client's): handed over, as a thread
            handed: Future[Any] = Future()
            self._loop.call_soon_threadsafe(self._take, self._child.encode(job), handed)
            answer = await asyncio.wrap_future(handed)
        else:
            future: asyncio.Future[Any] = loop.create_future()
            self._take(self._child.encode(job), (loop, future))
            answer = await future
        result: R = self._child.decode(answer)
        return result

    def submit(self, job: J) -> R:
        """``submit_async`` for a caller that is not a coroutine (a thread, or the loop's own
        thread outside a coroutine, where it blocks until its job is written)."""
        encoded = self._child.encode(job)
        future: Future[Any] = Future()
        if threading.get_ident() == self._thread:
            self._take(encoded, future)
            self._drain()
        else:
            self._loop.call_soon_threadsafe(self._take, encoded, future)
        result: R = self._child.decode(future.result())
        return result

    def close(self) -> None:
        """Write what is submitted, then stop the child (on the loop's thread, or once the
        loop has stopped)."""
        if self._closed:
            return
        try:
            self._drain()
        except WriterStopped as exc:  # its process is gone or starting again: they fail
            log.warning("the writer stopped with jobs in hand: %s", exc)
            waiting, self._waiting = self._waiting, []
            sent, self._sent = self._sent or [], None
            for waiter in [*sent, *(waiter for _, waiter in waiting)]:
                _hand(waiter, None, exc)
        self._closed = True
        self._detach()
        self._child.close()

    # -- on the loop's thread --------------------------------------------------------------

    def _take(self, encoded: bytes, waiter: Waiter[Any]) -> None:
        if self._closed:
            _hand(waiter, None, WriterStopped("the writer has stopped"))
            return
        self._waiting.append((encoded, waiter))
        if self._sent is None and not self._flushing:
            # sent once the loop has run what is ready now: the requests that arrived
            # together go together
            self._flushing = True
            self._loop.call_soon(self._flush)

    def _flush(self) -> None:
        self._flushing = False
        if self._sent is None and self._waiting and not self._restarting and not self._closed:
            self._send()

    def _send(self) -> None:
        if self._lost_child or not self._child.alive:
            self._restart()
            return
        batch = self._waiting[: self._max_batch]
        del self._waiting[: len(batch)]
        self._sent = [waiter for _, waiter in batch]
        self._sent_at = time.monotonic()
        data = pickle.dumps([job for job, _ in batch], protocol=pickle.HIGHEST_PROTOCOL)
        self._unsent = _LENGTH.pack(len(data)) + data
        self._write_more()

    def _write_more(self) -> None:
        to, _ = self._child.pipes
        try:
            written = os.write(to, self._unsent)
        except BlockingIOError:
            written = 0
        except OSError:  # the child has gone: its answers' end says so too
            self._loop.remove_writer(to)
            self._lost()
            return
        self._unsent = self._unsent[written:]
        if self._unsent:
            self._loop.add_writer(to, self._write_more)
        else:
            self._loop.remove_writer(to)

    def _readable(self) -> None:
        _, answers = self._child.pipes
        try:
            chunk = os.read(answers, 1 << 20)
        except BlockingIOError:
            return
        except OSError:
            chunk = b""
        if not chunk:
            self._lost()
            return
        self._received += chunk
        self._answered()

    def _answered(self) -> None:
        """Settle the batch if its whole answer has arrived (and send the next)."""
        received = self._received
        if len(received) < _LENGTH.size:
            return
        (size,) = _LENGTH.unpack_from(received)
        if len(received) < _LENGTH.size + size:
            return
        answers: list[bytes] = pickle.loads(received[_LENGTH.size : _LENGTH.size + size])
        del received[: _LENGTH.size + size]
        sent, self._sent = self._sent or [], None
        self.load.wrote(self._sent_at, len(sent))
        for waiter, answer in zip(sent, answers, strict=True):
            _hand(waiter, answer, None)
        if self._waiting:
            self._send()

    def _lost(self) -> None:
        """The child stopped: its batch fails; a new child for the jobs waiting."""
        self._lost_child = True
        self._detach()
        sent, self._sent = self._sent or [], None
        error = WriterStopped(
            f"the writer process stopped during a batch of {len(sent)}: "
            "its reports may or may not be stored"
        )
        for waiter in sent:
            _hand(waiter, None, error)
        self._unsent, self._received = b"", bytearray()
        if not self._closed:  # at once, not at the next job: /health says it is back
            self._restart()

    def _restart(self) -> None:
        if self._restarting:
            return
        self._restarting = True
        self._detach()
        started = self._loop.run_in_executor(None, self._child.restart)
        started.add_done_callback(self._restarted)

    def _restarted(self, started: asyncio.Future[None]) -> None:
        self._restarting = False
        error = started.exception()
        if error is None and self._closed:
            self._child.close()
            error = WriterStopped("the writer has stopped")
        if error is not None:
            waiting, self._waiting = self._waiting, []
            for _, waiter in waiting:
                _hand(waiter, None, error)
            return
        self._lost_child = False
        self._attach()
        if self._waiting:
            self._send()

    def _attach(self) -> None:
        if not self._child.alive:
            return
        to, answers = self._child.pipes
        os.set_blocking(to, False)
        os.set_blocking(answers, False)
        self._loop.add_reader(answers, self._readable)

    def _detach(self) -> None:
        if self._loop.is_closed():
            return
        for fd in self._child.pipes:
            if fd >= 0:
                self._loop.remove_reader(fd)
                self._loop.remove_writer(fd)

    def _drain(self) -> None:
        """Finish the batch in hand and write every job waiting, blocking (the loop is not
        running, or this is its thread and nothing else can run)."""
        deadline = time.monotonic() + 60
        while self._sent is not None or self._waiting:
            if time.monotonic() > deadline:
                raise WriterStopped("the writer process has not answered for a minute")
            if self._restarting:
                raise WriterStopped("the writer process is starting again: retry shortly")
            if self._sent is None:
                self._send()
                continue
            to, answers = self._child.pipes
            if self._unsent:
                select.select([], [to], [], 30)
                self._write_more()
                continue
            ready, _, _ = select.select([answers], [], [], 30)
            if ready:
                self._readable()


def _running(loop: asyncio.AbstractEventLoop) -> bool:
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _hand(waiter: Waiter[Any], result: Any, error: BaseException | None) -> None:
    """Give a waiter its result or error, from the loop's thread."""
    _give(waiter if isinstance(waiter, Future) else waiter[1], result, error)


def _give(
    future: Future[Any] | asyncio.Future[Any], result: Any, error: BaseException | None
) -> None:
    if future.done():  # its request was cancelled; the job was written all the same
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


_LENGTH = struct.Struct("!I")


def send_frame(pipe: IO[bytes], value: Any) -> None:
    """``value`` pickled, after its length (4 bytes): one message on a pipe."""
    data = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
    pipe.write(_LENGTH.pack(len(data)) + data)


def receive_frame(pipe: IO[bytes]) -> Any:
    """The next message :func:`send_frame` sent; EOFError when the pipe has closed."""
    head = pipe.read(_LENGTH.size)
    if len(head) < _LENGTH.size:
        raise EOFError("the pipe closed")
    (size,) = _LENGTH.unpack(head)
    data = pipe.read(size)
    if len(data) < size:
        raise EOFError("the pipe closed mid-message")
    return pickle.loads(data)


def resolve(handler: str) -> Callable[..., Any]:
    """The function named ``module:function``."""
    module, _, name = handler.partition(":")
    function: Callable[..., Any] = getattr(importlib.import_module(module), name)
    return function


def pickled(answer: Answer) -> bytes:
    """An answer pickled for the parent; an error that does not pickle (a driver's exception
    can hold a connection) becomes a WriterStopped saying what it was."""
    try:
        return pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        _, error = answer
        return pickle.dumps((None, WriterStopped(f"{type(error).__name__}: {error}")))


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
        _give(future, result, error)
