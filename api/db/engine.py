"""Database engine, sessions and migrations (SQLite by default, PostgreSQL with PostGIS)."""

from __future__ import annotations

import fcntl
import logging
import threading
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any, Literal

import orjson
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger("wangge")

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str, *, checkpoint_on_commit: bool = True) -> Engine:
    """An engine; SQLite files get WAL, synchronous=FULL and a busy timeout.

    synchronous=FULL makes every commit reach the disk before it returns, so an acknowledged
    report survives a crash or power cut; WAL lets readers work while one writer commits.
    ``checkpoint_on_commit=False`` leaves copying the WAL back into the database to a
    :class:`Checkpointer` (SQLite otherwise does it inside the commit that fills 1,000 pages).
    """
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            url,
            connect_args={"check_same_thread": False, "timeout": 30},
            pool_size=20,
            **_JSON,
        )

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_connection: Any, _: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            # a WAL that a burst or a long reader let grow is cut back once it is copied
            cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
            if not checkpoint_on_commit:
                cursor.execute("PRAGMA wal_autocheckpoint=0")
            cursor.close()

        return engine
    return create_engine(url, pool_size=20, max_overflow=10, pool_pre_ping=True, **_JSON)


def _dumps(value: Any) -> str:
    return orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS).decode()


#: JSON columns written and read with orjson (the standard library's encoder was a tenth of
#: the report writer's time: every report stores its events' details and its answer)
_JSON: dict[str, Any] = {"json_serializer": _dumps, "json_deserializer": orjson.loads}


#: How often the reports' writer copies the WAL back between batches (a copy every 50 ms
#: keeps the WAL to a few megabytes at any load; see Database.checkpoint_between_writes).
WRITER_CHECKPOINT_S = 0.05

#: Bytes a SQLite WAL file keeps once it has been copied back and starts again.
WAL_SIZE_LIMIT = 64 * 1024 * 1024

#: Key of the PostgreSQL advisory lock held while migrating.
MIGRATION_LOCK = 7_210_001


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration (alembic upgrade head).

    Servers started together on a new database would each create the tables; the first takes
    a lock (PostgreSQL: an advisory lock; SQLite: the write lock, BEGIN IMMEDIATE) and the
    others wait for it, then find the schema up to date.
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as connection:
        if engine.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK})
        elif engine.dialect.name == "sqlite":
            connection.exec_driver_sql("BEGIN IMMEDIATE")
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(engine, expire_on_commit=False)


class Checkpointer:
    """Copies a SQLite WAL back into the database every ``interval_s``, in a thread.

    SQLite's own checkpoint runs inside the commit that fills the WAL past 1,000 pages: that
    commit (and every report waiting on it) then waits for megabytes to be written and synced
    into the database file, a pause of tens to hundreds of milliseconds every few seconds
    under load. A passive checkpoint here never blocks a writer; commits stay one WAL sync.
    The reports' writer finishes each copy between its batches
    (:meth:`Database.checkpoint_between_writes`), so that the WAL starts again from its
    beginning; these copies keep that short, and copy what other writes leave.
    """

    def __init__(self, engine: Engine, *, interval_s: float = 0.5) -> None:
        self._engine = engine
        self._stop = threading.Event()
        self._interval_s = interval_s
        self._thread = threading.Thread(target=self._run, name="wangge-checkpoint", daemon=True)
        self._thread.start()

    def checkpoint(self) -> None:
        with self._engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        while not self._stop.wait(self._interval_s):
            try:
                self.checkpoint()
            except Exception:  # busy or away for a moment: the next round copies more
                log.warning("could not checkpoint the database's WAL", exc_info=True)


class _FileLock:
    """An exclusive flock on a file, blocking until it is this process's turn; the file stays
    open for the lock's life (a writer takes it for every batch). Threads of one process take
    turns on a lock of their own first (a flock is the open file's, shared by its threads)."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._file: Any = None
        self._threads = threading.Lock()

    def __enter__(self) -> object:
        self._threads.acquire()
        try:
            if self._file is None:
                self._file = open(self._path, "a+b")  # noqa: SIM115 (kept open, see close)
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def close(self) -> None:
        with self._threads:
            if self._file is not None:
                self._file.close()
                self._file = None


class Database:
    """One database: its engine and its sessions. Every service takes sessions from here.

    ``background_checkpoints``: a server's database (SQLite) has its WAL checkpointed by a
    :class:`Checkpointer` rather than in the commits of the reports' writer.
    ``checkpoints="elsewhere"``: neither, another process's Checkpointer does it (the writer's
    child process).
    """

    def __init__(
        self,
        url: str,
        *,
        upgrade: bool = True,
        background_checkpoints: bool = False,
        checkpoints: Literal["here", "elsewhere"] = "here",
    ) -> None:
        self.url = url
        sqlite = url.startswith("sqlite")
        background = background_checkpoints and sqlite and checkpoints == "here"
        self.engine = make_engine(
            url, checkpoint_on_commit=not background and checkpoints == "here"
        )
        if upgrade:
            migrate(self.engine)
        self.sessions = session_factory(self.engine)
        self._checkpointer = Checkpointer(self.engine) if background else None
        self._writers_lock: _FileLock | None = None
        self._last_checkpoint = 0.0

    def checkpoint_between_writes(self, every_s: float = WRITER_CHECKPOINT_S) -> bool:
        """Copy a SQLite WAL back into the database, if the last copy here was ``every_s`` ago
        or more: called by the reports' writer between its batches (their callers answered),
        holding the writers' turn. Returns whether it copied.

        Only a copy made while nobody appends can catch up with the whole WAL, and only then
        does the next commit write the WAL again from its start. The background copies of
        :class:`Checkpointer` run beside a busy writer and never catch up: under intake load
        the WAL grew by 16 MB a second without end, and every commit and every read paid for
        its length (p99 at 1,000 reports a second went from 17-50 ms to 13-14 ms with this).
        What the background has copied already is not copied again, so each copy here takes
        a few milliseconds. Nothing on PostgreSQL."""
        if not self.url.startswith("sqlite"):
            return False
        now = time.monotonic()
        if now - self._last_checkpoint < every_s:
            return False
        with self.writers_turn(), self.engine.connect() as connection:
            connection.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")
        self._last_checkpoint = time.monotonic()
        return True

    def writers_turn(self) -> AbstractContextManager[object]:
        """Held around a group writer's transaction: on a SQLite file, an exclusive lock on a
        file beside it, so that the writers of several workers take turns as soon as one is
        done instead of polling SQLite's busy lock with sleeps that grow to 100 ms (which
        starved one worker's reports for a second). Released by the kernel if the process
        dies. Elsewhere nothing (PostgreSQL queues its own lock waiters)."""
        path = self.url.split("///", 1)[-1] if self.url.startswith("sqlite") else ""
        if not path or path == ":memory:":
            return nullcontext()
        if self._writers_lock is None:
            self._writers_lock = _FileLock(Path(f"{path}-writers.lock"))
        return self._writers_lock

    @property
    def dialect(self) -> str:
        """``sqlite`` or ``postgresql``."""
        return self.engine.dialect.name

    def session(self) -> Session:
        """A new session (use it in a ``with`` block)."""
        return self.sessions()

    def dispose(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.close()
            self._checkpointer = None
        if self._writers_lock is not None:
            self._writers_lock.close()
        self.engine.dispose()
