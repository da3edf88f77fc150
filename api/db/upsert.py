"""Insert-or-update by key in one statement, safe when several processes do it at once."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session


def upsert(
    executor: Session | Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    update: Sequence[str] | None = None,
) -> None:
    """``INSERT ... ON CONFLICT (keys) DO UPDATE`` the ``update`` columns (default: every
    column of the rows but the keys). Two workers starting on a new database each write the
    same rows: the second updates what the first inserted instead of failing on the key."""
    if not rows:
        return
    bind = executor.get_bind() if isinstance(executor, Session) else executor
    insert = pg_insert if bind.dialect.name == "postgresql" else sqlite_insert
    statement = insert(table)
    columns = update if update is not None else [c for c in rows[0] if c not in keys]
    executor.execute(
        statement.on_conflict_do_update(
            index_elements=list(keys),
            set_={c: statement.excluded[c] for c in columns},
        ),
        list(rows),
    )
