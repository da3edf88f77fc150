"""Writing the planning tables: the data versions, bumped in the transaction of every change,
and bulk inserts and deletes for imports.

A counter per table (``planning_versions``) is what the coverage cache keys its answers by, so
a change made by the API or by the command line of another process is seen on the next
request.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, cast

from sqlalchemy import CursorResult, Delete, insert, select, update
from sqlalchemy.orm import Session

from api.db.models import Base, PlanningVersion

#: The versioned tables.
FACILITIES = "facilities"
POPULATION = "population"
#: Rows per INSERT statement when storing an import.
INSERT_CHUNK = 5_000


def now_utc() -> datetime:
    return datetime.now(UTC)


def bump_version(*names: str, session: Session) -> None:
    """Mark tables changed (in the caller's transaction)."""
    session.execute(
        update(PlanningVersion)
        .where(PlanningVersion.name.in_(names))
        .values(version=PlanningVersion.version + 1)
    )


def data_versions(*, session: Session) -> dict[str, int]:
    """The current version of each planning table."""
    rows = session.execute(select(PlanningVersion.name, PlanningVersion.version)).all()
    found = {name: int(version) for name, version in rows}
    return {FACILITIES: found.get(FACILITIES, 0), POPULATION: found.get(POPULATION, 0)}


def delete_rows(statement: Delete, *, session: Session) -> int:
    """Run a DELETE; the number of rows it removed."""
    result = cast(CursorResult[Any], session.execute(statement))
    return int(result.rowcount or 0)


def insert_rows(
    model: type[Base],
    rows: list[dict[str, Any]],
    *,
    session: Session,
    on_progress: Callable[[int], None] | None = None,
) -> None:
    """Insert rows with one executemany per chunk (Core: no objects for big imports)."""
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[start : start + INSERT_CHUNK]
        session.execute(insert(model), chunk)
        if on_progress is not None:
            on_progress(len(chunk))
