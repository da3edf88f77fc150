"""The group writer (in its thread and in a child process) and the background checkpoints, on
a real SQLite file."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from api.db import Database
from api.db.engine import WAL_SIZE_LIMIT, WRITER_CHECKPOINT_S
from api.db.load import WriterLoad
from api.db.writer import GroupWriter, InChild, InThread, LoopFed, WriterStopped
from tests.api.conftest import postgres_database


def _database(tmp_path: Path, **options: bool) -> Database:
    db = Database(f"sqlite:///{tmp_path / 'w.db'}", upgrade=False, **options)
    with db.engine.begin() as connection:
        connection.exec_driver_sql("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    return db


def _insert(gate: threading.Event | None = None):  # type: ignore[no-untyped-def]
    """A batch handler inserting each job's text (a job 'bad' fails its batch); the first
    batch waits for ``gate``, so that the jobs queued meanwhile go together."""
    batches: list[list[str]] = []

    def handle(session: Session, jobs: list[str]) -> list[int]:
        if gate is not None:
            gate.wait(10)
        batches.append(list(jobs))
        if "bad" in jobs:
            raise ValueError("a bad job")
        ids = []
        for job in jobs:
            row = session.execute(
                text("INSERT INTO notes (body) VALUES (:b) RETURNING id"), {"b": job}
            )
            ids.append(int(row.scalar_one()))
        return ids

    return handle, batches


def _run(coroutine):  # type: ignore[no-untyped-def]
    """``asyncio.run`` in a thread of its own: the test process's main thread may hold a
    running loop already (Playwright's, from a browser test run before in this process)."""
    done: dict[str, object] = {}

    def target() -> None:
        try:
            done["value"] = asyncio.run(coroutine)
        except BaseException as exc:  # handed to the test's thread
            done["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    if "error" in done:
        raise done["error"]  # type: ignore[misc]
    return done.get("value")


def _bodies(db: Database) -> list[str]:
    with db.engine.connect() as connection:
        return [r[0] for r in connection.execute(text("SELECT body FROM notes ORDER BY id"))]


def test_tasks_get_their_own_results_and_a_bad_job_fails_alone(tmp_path):
    db = _database(tmp_path)
    gate = threading.Event()
    handle, batches = _insert(gate)
    writer = GroupWriter(InThread(db.sessions, handle))

    async def run() -> list[object]:
        first = asyncio.ensure_future(writer.submit_async("first"))
        await asyncio.sleep(0)  # queued, and held at the gate while the others queue
        rest = [asyncio.ensure_future(writer.submit_async(b)) for b in ("a", "bad", "b", "c")]
        await asyncio.sleep(0)
        gate.set()
        return await asyncio.gather(first, *rest, return_exceptions=True)

    try:
        first, a, bad, b, c = _run(run())
    finally:
        writer.close()
    assert isinstance(bad, ValueError)
    assert _bodies(db) == ["first", "a", "b", "c"]
    assert (first, a, b, c) == (1, 2, 3, 4)
    # queued together (behind the held first batch, or with it), then retried one by one
    assert any(len(batch) > 1 and "bad" in batch for batch in batches)
    assert ["bad"] in batches
    db.dispose()


def test_a_cancelled_caller_is_still_written(tmp_path):
    db = _database(tmp_path)
    gate = threading.Event()
    handle, _ = _insert(gate)
    writer = GroupWriter(InThread(db.sessions, handle))

    async def run() -> None:
        task = asyncio.ensure_future(writer.submit_async("left"))
        await asyncio.sleep(0)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        gate.set()
        assert writer.submit("after") == 2  # from a thread, once the first is written

    try:
        _run(run())
    finally:
        writer.close()
    assert _bodies(db) == ["left", "after"]
    db.dispose()


@pytest.mark.parametrize("background", [True, False])
def test_checkpoints_in_the_background_leave_commits_one_wal_sync(tmp_path, background):
    db = _database(tmp_path, background_checkpoints=background)
    try:
        with db.engine.begin() as connection:
            auto = connection.exec_driver_sql("PRAGMA wal_autocheckpoint").scalar_one()
            connection.exec_driver_sql("INSERT INTO notes (body) VALUES ('x')")
        assert auto == (0 if background else 1000)
        if background:
            db._checkpointer.checkpoint()  # type: ignore[union-attr]  # what its thread does
            with db.engine.connect() as connection:
                busy, log, copied = connection.exec_driver_sql(
                    "PRAGMA wal_checkpoint(PASSIVE)"
                ).one()
            assert busy == 0 and log == copied  # everything in the WAL is in the database
    finally:
        db.dispose()
    assert _bodies(Database(f"sqlite:///{tmp_path / 'w.db'}", upgrade=False)) == ["x"]


def test_writers_of_two_processes_take_turns(tmp_path):
    """The lock beside a SQLite file: a second holder (as another worker's writer would be)
    waits until the first lets go, then goes at once."""
    one, two = _database(tmp_path), Database(f"sqlite:///{tmp_path / 'w.db'}", upgrade=False)
    entered = threading.Event()
    order: list[str] = []

    def second() -> None:
        with two.writers_turn():
            order.append("second")
            entered.set()

    with one.writers_turn():
        waiting = threading.Thread(target=second)
        waiting.start()
        assert not entered.wait(0.2)  # held here: the other cannot enter
        order.append("first done")
    assert entered.wait(10)
    waiting.join()
    assert order == ["first done", "second"]
    assert (tmp_path / "w.db-writers.lock").exists()
    one.dispose()
    two.dispose()


def insert_notes(session: Session, jobs: list[str]) -> list[int]:
    """The child process's handler (imported there by name): each job's text inserted; 'bad'
    fails its batch, 'die' ends the process at once, as a crash would; 'hang up' closes the
    answers' pipe and exits a second later (its parent sees the pipe close first)."""
    if "die" in jobs:
        os._exit(9)
    if "hang up" in jobs:
        os.close(int(sys.argv[4]))  # python -m api.db.writer_child URL HANDLER JOBS ANSWERS
        time.sleep(1)
        os._exit(9)
    if "bad" in jobs:
        raise ValueError("a bad job")
    return [
        int(
            session.execute(
                text("INSERT INTO notes (body) VALUES (:b) RETURNING id"), {"b": j}
            ).scalar_one()
        )
        for j in jobs
    ]


HANDLER = "tests.api.db.test_writer:insert_notes"


def _through(child: InChild, jobs: list[str]) -> list[object]:
    """A batch through the child as the group writer sends it: each job's result or error."""
    out: list[object] = []
    for answer, error in child([child.encode(job) for job in jobs]):
        assert error is None and isinstance(answer, bytes)  # errors come back pickled too
        try:
            out.append(child.decode(answer))
        except Exception as exc:
            out.append(exc)
    return out


def test_a_child_process_writes_the_batches_and_a_bad_job_fails_alone(tmp_path):
    db = _database(tmp_path)
    child = InChild(db.url, HANDLER)
    pid = child.pid
    assert pid is not None and pid != os.getpid()
    assert _through(child, ["a", "b"]) == [1, 2]
    three, bad, four = _through(child, ["c", "bad", "d"])
    assert (three, four) == (3, 4)
    assert isinstance(bad, ValueError) and str(bad) == "a bad job"
    assert child.pid == pid  # the same process throughout
    os.kill(pid, signal.SIGINT)  # a Ctrl-C to the server's group: the child goes on
    os.kill(pid, signal.SIGTERM)
    assert _through(child, ["e"]) == [5] and child.pid == pid
    child.close()
    assert _bodies(db) == ["a", "b", "c", "d", "e"]
    with pytest.raises(ProcessLookupError):  # it exits when its pipe closes
        os.kill(pid, 0)
    db.dispose()


def test_a_child_that_dies_fails_its_batch_and_the_next_batch_gets_a_new_one(tmp_path):
    db = _database(tmp_path)
    writer = GroupWriter(InChild(db.url, HANDLER))
    first = writer._write.pid  # type: ignore[attr-defined]
    try:
        assert writer.submit("before") == 1
        assert writer.alive
        with pytest.raises(WriterStopped, match="may or may not be stored"):
            writer.submit("die")
        assert not writer.alive  # as /health says, until the next batch starts a new child
        assert writer.submit("after") == 2
        assert writer.alive
        assert writer._write.pid not in (None, first)  # type: ignore[attr-defined]
    finally:
        writer.close()
    assert _bodies(db) == ["before", "after"]
    db.dispose()


def test_a_child_that_cannot_start_says_why(tmp_path):
    db = _database(tmp_path)
    with pytest.raises(WriterStopped, match="ModuleNotFoundError"):
        InChild(db.url, "no_such_module:handle")
    db.dispose()


def _wal_bytes(db: Database) -> int:
    return Path(db.url.split("///", 1)[1] + "-wal").stat().st_size


def test_a_copy_between_batches_lets_the_wal_start_again_from_its_beginning(tmp_path):
    db = _database(tmp_path)
    page = "x" * 4000
    try:
        with db.engine.begin() as connection:
            for _ in range(40):
                connection.exec_driver_sql("INSERT INTO notes (body) VALUES (?)", (page,))
            limit = connection.exec_driver_sql("PRAGMA journal_size_limit").scalar_one()
        assert limit == WAL_SIZE_LIMIT  # and a WAL grown longer is cut back once copied
        assert db.checkpoint_between_writes(every_s=0)
        one_batch = _wal_bytes(db)
        assert not db.checkpoint_between_writes(every_s=60)  # copied a moment ago: not again
        for _ in range(5):  # each batch written over the last one, once it is copied
            with db.engine.begin() as connection:
                for _ in range(40):
                    connection.exec_driver_sql("INSERT INTO notes (body) VALUES (?)", (page,))
            assert db.checkpoint_between_writes(every_s=0)
        assert _wal_bytes(db) <= one_batch * 1.2
        with db.engine.begin() as connection:  # and without the copies, the WAL grows
            connection.exec_driver_sql("PRAGMA wal_autocheckpoint=0")
        grows = Database(db.url, upgrade=False, checkpoints="elsewhere")
        for _ in range(3):
            with grows.engine.begin() as connection:
                for _ in range(40):
                    connection.exec_driver_sql("INSERT INTO notes (body) VALUES (?)", (page,))
        assert _wal_bytes(db) > one_batch * 2
        grows.dispose()
    finally:
        db.dispose()


def test_the_writer_in_its_thread_copies_the_wal_after_each_batch_is_answered(tmp_path):
    db = _database(tmp_path)
    handle, _ = _insert()
    committed: list[int] = []

    def between() -> None:
        committed.append(len(_bodies(db)))  # the batch is committed when its upkeep runs
        db.checkpoint_between_writes(every_s=0)

    writer = GroupWriter(InThread(db.sessions, handle, between=between))
    page = "z" * 60_000  # about 15 pages a batch
    try:
        assert writer.submit(page) == 1
        first = _wal_bytes(db)
        assert [writer.submit(page) for _ in range(6)] == [2, 3, 4, 5, 6, 7]
    finally:
        writer.close()
    assert committed[:7] == [1, 2, 3, 4, 5, 6, 7]
    assert _wal_bytes(db) < first * 2  # each batch wrote the WAL again from its start
    db.dispose()


def test_the_writer_in_a_child_copies_the_wal_between_its_batches(tmp_path):
    db = _database(tmp_path)
    child = InChild(db.url, HANDLER)
    page = "y" * 60_000  # about 15 pages a batch
    try:
        _through(child, [page])
        first = _wal_bytes(db)
        for _ in range(6):
            # the child copies at most every WRITER_CHECKPOINT_S: wait that long between
            time.sleep(WRITER_CHECKPOINT_S * 1.5)
            _through(child, [page])
        # each batch wrote the WAL again from its start: no longer than about one batch
        assert _wal_bytes(db) < first * 2
    finally:
        child.close()
    assert len(_bodies(db)) == 7
    db.dispose()


def test_postgres_has_no_wal_to_copy_here():
    for url in postgres_database():  # a real PostGIS database (CI starts one)
        db = Database(url)
        try:
            assert db.checkpoint_between_writes(every_s=0) is False
        finally:
            db.dispose()


SIZED = "tests.api.db.test_writer:insert_sized"


def insert_sized(session: Session, jobs: list[str]) -> list[int]:
    """``insert_notes``, each text stored with the size of its batch (``text:size``)."""
    dying = ("die", "hang up")
    return insert_notes(session, [job if job in dying else f"{job}:{len(jobs)}" for job in jobs])


def test_the_event_loop_feeds_the_child_what_arrived_together_as_one_batch(tmp_path):
    db = _database(tmp_path)

    async def main() -> tuple[list[int], list[int]]:
        writer = LoopFed(InChild(db.url, SIZED), asyncio.get_running_loop())
        try:
            together = await asyncio.gather(*(writer.submit_async(f"t{i}") for i in range(50)))
            one_by_one = [await writer.submit_async(f"o{i}") for i in range(3)]
            loads.extend([(writer.load.batches, writer.load.jobs), writer.load.busy()])
        finally:
            writer.close()
        return list(together), one_by_one

    loads: list[object] = []

    together, one_by_one = _run(main())
    assert together == list(range(1, 51))  # each its own id, in order
    assert one_by_one == [51, 52, 53]
    assert loads[0] == (4, 53)  # four batches, 53 jobs
    assert 0 < loads[1] <= 1
    bodies = _bodies(db)
    assert bodies[:50] == [f"t{i}:50" for i in range(50)]  # one batch, one commit
    assert bodies[50:] == ["o0:1", "o1:1", "o2:1"]
    db.dispose()


def test_a_loop_fed_child_takes_jobs_from_threads_other_loops_and_the_loop_itself(tmp_path):
    db = _database(tmp_path)

    async def main() -> list[object]:
        loop = asyncio.get_running_loop()
        writer = LoopFed(InChild(db.url, SIZED), loop)
        try:
            from_thread = await asyncio.to_thread(writer.submit, "thread")
            from_other_loop = await asyncio.to_thread(
                lambda: asyncio.run(writer.submit_async("other loop"))
            )
            on_the_loop = writer.submit("loop, blocking")  # not awaited: it blocks here
            return [from_thread, from_other_loop, on_the_loop]
        finally:
            writer.close()

    assert _run(main()) == [1, 2, 3]
    assert _bodies(db) == ["thread:1", "other loop:1", "loop, blocking:1"]
    db.dispose()


def test_a_loop_fed_child_that_dies_fails_its_batch_and_a_new_one_writes_the_next(tmp_path):
    db = _database(tmp_path)

    async def main() -> tuple[int, int]:
        writer = LoopFed(InChild(db.url, SIZED), asyncio.get_running_loop())
        first = writer._child.pid
        try:
            assert await writer.submit_async("before") == 1
            with pytest.raises(WriterStopped, match="may or may not be stored"):
                await writer.submit_async("die")
            deadline = time.monotonic() + 60  # a new child at once, before any new job
            while not (writer.alive and writer._child.pid != first):
                assert time.monotonic() < deadline, "no new writer process"
                await asyncio.sleep(0.05)
            assert await writer.submit_async("after") == 2
            assert writer.alive
            second = writer._child.pid
            assert second not in (None, first)
            return first or 0, second or 0
        finally:
            writer.close()

    first, second = _run(main())
    assert _bodies(db) == ["before:1", "after:1"]
    for pid in (first, second):  # both gone: the first died, the second was closed
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)
    db.dispose()


def test_closing_a_loop_fed_writer_writes_what_is_waiting_first(tmp_path):
    db = _database(tmp_path)

    async def main() -> list[int]:
        writer = LoopFed(InChild(db.url, SIZED), asyncio.get_running_loop())
        tasks = [asyncio.ensure_future(writer.submit_async(f"w{i}")) for i in range(5)]
        await asyncio.sleep(0)  # the tasks hand their jobs over; none is sent yet
        writer.close()  # on the loop's thread: blocks until they are written
        with pytest.raises(WriterStopped):
            await writer.submit_async("late")
        return list(await asyncio.wait_for(asyncio.gather(*tasks), 10))

    assert _run(main()) == [1, 2, 3, 4, 5]
    assert _bodies(db) == [f"w{i}:5" for i in range(5)]
    db.dispose()


def test_a_loop_fed_child_whose_pipe_closes_before_it_exits_is_replaced_all_the_same(tmp_path):
    db = _database(tmp_path)

    async def main() -> list[int]:
        writer = LoopFed(InChild(db.url, SIZED), asyncio.get_running_loop())
        try:
            before = await writer.submit_async("before")
            with pytest.raises(WriterStopped, match="may or may not be stored"):
                await writer.submit_async("hang up")
            # the old child still runs for a second: this one must go to a new child
            after = await asyncio.wait_for(writer.submit_async("after"), 60)
            return [before, after]
        finally:
            writer.close()

    assert _run(main()) == [1, 2]
    assert _bodies(db) == ["before:1", "after:1"]
    db.dispose()


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_writers_load_is_the_share_of_the_recent_window_it_spent_writing():
    clock = _Clock()
    load = WriterLoad(window_s=10.0, clock=clock)
    assert load.busy() == 0.0  # nothing yet, no time passed
    for _ in range(10):  # 10 s: 0.5 s of writing in each
        clock.now += 0.5
        started = clock.now
        clock.now += 0.5
        load.wrote(started, 3)
    assert (load.batches, load.jobs) == (10, 30)
    assert load.busy() == pytest.approx(0.5)
    clock.now += 5.0  # idle for half the window: the first half of it has dropped out
    assert load.busy() == pytest.approx(0.25)
    started = clock.now
    clock.now += 10.0  # one batch as long as the window: all busy
    load.wrote(started, 1)
    assert load.busy() == pytest.approx(1.0)
    clock.now += 4.0  # a batch that began before the window counts only its part inside
    assert load.busy() == pytest.approx(0.6)
    clock.now += 100.0
    assert load.busy() == 0.0 and load.batches == 11


def test_a_writer_in_its_thread_counts_its_batches_and_their_upkeep(tmp_path):
    db = _database(tmp_path)
    handle, batches = _insert()
    upkeep = threading.Event()

    def between() -> None:
        time.sleep(0.05)  # the upkeep's own time: the next batch waits for it too
        upkeep.set()

    writer: GroupWriter[str, int] = GroupWriter(InThread(db.sessions, handle, between=between))
    try:
        assert [writer.submit(f"n{i}") for i in range(3)] == [1, 2, 3]
        assert upkeep.wait(10)
        deadline = time.monotonic() + 10
        while writer.load.batches < 3 and time.monotonic() < deadline:  # counted after upkeep
            time.sleep(0.01)
        assert (writer.load.batches, writer.load.jobs) == (3, 3)
        assert writer.load.busy() > 0
    finally:
        writer.close()
    db.dispose()
