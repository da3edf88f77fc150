"""Workers started together on a new database (a SQLite file, a PostGIS database) each write
the catalogues at start: real processes released at once, every one must start."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from api.cases.catalogue import DEFAULT_CATEGORIES
from api.db import Database
from api.db.models import Category, ServiceType
from api.volunteers.catalogue import DEFAULT_SERVICE_TYPES
from tests.api.conftest import postgres_database

PROCESSES = 12

#: One starting worker: migrate, wait for the go file, write both catalogues as open_services does.
STARTING = """
import sys, time
from pathlib import Path
from api.cases.catalogue import load_catalogue, sync_catalogue
from api.db import Database
from api.volunteers.catalogue import load_service_types, sync_service_types
db = Database(sys.argv[1])
go = Path(sys.argv[2])
while not go.exists():
    time.sleep(0.001)
with db.session() as session:
    sync_catalogue(session, load_catalogue(None))
    sync_service_types(session, load_service_types(None))
"""


@pytest.fixture(params=["sqlite", "postgis"])
def fresh_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'new.db'}"
    else:
        yield from postgres_database()


def test_workers_starting_together_all_write_the_catalogues(fresh_url: str, tmp_path: Path):
    Database(fresh_url).dispose()  # the schema first: the race is over the catalogues' rows
    go = tmp_path / "go"
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", STARTING, fresh_url, str(go)],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        for _ in range(PROCESSES)
    ]
    go.touch()
    outputs = [w.communicate(timeout=120)[0].decode() for w in workers]
    assert [w.returncode for w in workers] == [0] * PROCESSES, "\n".join(outputs)[-3000:]
    db = Database(fresh_url)
    try:
        with db.session() as session:
            assert session.scalar(select(func.count()).select_from(Category)) == len(
                DEFAULT_CATEGORIES
            )
            assert session.scalar(select(func.count()).select_from(ServiceType)) == len(
                DEFAULT_SERVICE_TYPES
            )
    finally:
        db.dispose()
