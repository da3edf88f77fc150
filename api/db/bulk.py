"""Statements on the database driver's own cursor, for the one hot writer (intake).

SQLAlchemy's Core ``insert`` spends more per row in Python than the database spends storing
it: each execution builds its parameters through the compiled statement, and an INSERT ...
RETURNING whose ids must come back in order runs row by row through the whole stack on SQLite.
The report writer holds the GIL that the event loop needs for every request, so its Python
time is intake's ceiling. :class:`RawInsert` compiles one table's INSERT once for the engine's
dialect (its SQL, parameter style and each column's bind processor, all SQLAlchemy's own) and
then runs it on the DBAPI cursor (PostgreSQL: one pipelined ``executemany``; SQLite: one
multi-row INSERT): the same stored values, without the per-row machinery.

Rows are plain dicts with exactly the columns given (Python-side column defaults are not
applied, so a table with one must be given that column; the constructor checks).
:func:`rows_with_keys` reads rows by one column's values the same way.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Table, bindparam, insert, select
from sqlalchemy.engine import Dialect


class RawInsert:
    """One table's INSERT of ``columns``, compiled for ``dialect``.

    On SQLite a batch is one multi-row ``INSERT ... VALUES (...), (...)``: one step of the
    database (the driver releases and retakes the GIL around each step, and a writer that
    must retake it after every row waits each time for the event loop's thread to give it
    up). New ids are given explicitly, after the largest id, inside a write transaction
    (:func:`begin_write`), so nothing else can take them.
    """

    def __init__(self, dialect: Dialect, table: Table, columns: Sequence[str]) -> None:
        missing = [
            c.name
            for c in table.columns
            if c.default is not None and not c.primary_key and c.name not in columns
        ]
        if missing:
            raise ValueError(f"{table.name}: columns with Python defaults not given: {missing}")
        self.table = table
        self.columns = list(columns)
        self._sqlite = dialect.name == "sqlite"
        self.sql, self.positional, self._processors = _compiled_insert(dialect, table, columns)
        self._returning_sql = f"{self.sql} RETURNING {table.c.id.name}" if "id" in table.c else ""
        # SQLite: the same with the id given (the ids are chosen here, see returning_ids)
        self._with_id = (
            _compiled_insert(dialect, table, [*columns, "id"])
            if self._sqlite and "id" in table.c
            else None
        )
        self._many: dict[tuple[bool, int], str] = {}

    def parameters(self, rows: Sequence[dict[str, Any]]) -> list[Any]:
        """The rows as the driver takes them: values bound as SQLAlchemy would bind them."""
        return _bound(rows, self._processors, self.positional)

    def execute(self, connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Insert the rows in the connection's transaction."""
        if not rows:
            return
        cursor = _cursor(connection)
        try:
            if self._sqlite:
                self._insert_sqlite(cursor, rows, with_id=False)
            else:
                cursor.executemany(self.sql, self.parameters(rows))
        finally:
            cursor.close()

    def returning_ids(self, connection: Connection, rows: Sequence[dict[str, Any]]) -> list[int]:
        """Insert the rows; their new ids, in the rows' order."""
        if not rows:
            return []
        if not self._returning_sql:
            raise ValueError(f"{self.table.name} has no id column")
        cursor = _cursor(connection)
        try:
            if self._sqlite:
                raw: Any = connection.connection.driver_connection
                if not raw.in_transaction:
                    raise RuntimeError("ids are chosen only inside begin_write()")
                cursor.execute(f"SELECT max(id) FROM {self.table.name}")
                last = cursor.fetchone()[0] or 0
                ids = list(range(last + 1, last + 1 + len(rows)))
                with_ids = [{**row, "id": i} for row, i in zip(rows, ids, strict=True)]
                self._insert_sqlite(cursor, with_ids, with_id=True)
                return ids
            # psycopg: one pipelined executemany, a result set per row, in order
            cursor.executemany(self._returning_sql, self.parameters(rows), returning=True)
            ids = []
            while True:
                ids.append(int(cursor.fetchone()[0]))
                if not cursor.nextset():
                    return ids
        finally:
            cursor.close()

    def _insert_sqlite(self, cursor: Any, rows: Sequence[dict[str, Any]], *, with_id: bool) -> None:
        if with_id:
            assert self._with_id is not None
            sql, _, processors = self._with_id
        else:
            sql, processors = self.sql, self._processors
        per = max(1, _sqlite_variables(cursor) // len(processors))
        for start in range(0, len(rows), per):
            chunk = rows[start : start + per]
            many = self._many.get((with_id, len(chunk)))
            if many is None:
                head, values = sql.split(" VALUES ", 1)
                many = self._many[(with_id, len(chunk))] = (
                    f"{head} VALUES {', '.join([values] * len(chunk))}"
                )
            flat = [v for one in _bound(chunk, processors, True) for v in one]
            cursor.execute(many, flat)


def begin_write(connection: Connection) -> None:
    """Begin the connection's transaction as a writer now (SQLite: BEGIN IMMEDIATE, which takes
    the database's write lock, so that what is read next cannot change before the writes);
    nothing elsewhere (PostgreSQL's transaction has begun)."""
    if connection.dialect.name != "sqlite":
        return
    raw: Any = connection.connection.driver_connection
    if not raw.in_transaction:
        raw.execute("BEGIN IMMEDIATE")


Processors = list[tuple[str, Any]]  # (column, its bind processor or None)


def _compiled_insert(
    dialect: Dialect, table: Table, columns: Sequence[str]
) -> tuple[str, bool, Processors]:
    """The INSERT's SQL for one row, whether its parameters are positional, and each
    parameter's column and bind processor in order."""
    # inline: no RETURNING of the new key added by the dialect (PostgreSQL)
    compiled = insert(table).inline().compile(dialect=dialect, column_keys=list(columns))
    positional = bool(compiled.positional)
    if positional:
        assert compiled.positiontup is not None
        order = list(compiled.positiontup)
    else:
        order = list(columns)
    # the compiled statement's bind names are the column keys here (one VALUES row)
    if sorted(order) != sorted(columns):
        raise ValueError(f"{table.name}: unexpected parameters {order}")
    processors = [(name, table.c[name].type._cached_bind_processor(dialect)) for name in order]
    return compiled.string, positional, processors


def _bound(rows: Sequence[dict[str, Any]], processors: Processors, positional: bool) -> list[Any]:
    if positional:
        return [
            tuple(p(row[n]) if p is not None else row[n] for n, p in processors) for row in rows
        ]
    return [{n: (p(row[n]) if p is not None else row[n]) for n, p in processors} for row in rows]


def _sqlite_variables(cursor: Any) -> int:
    """How many parameters one SQLite statement may have (32,766 since SQLite 3.32)."""
    try:
        return int(cursor.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER))
    except (AttributeError, sqlite3.Error):  # a driver without getlimit: SQLite's old default
        return 999


def _cursor(connection: Connection) -> Any:
    """A cursor of the DBAPI connection under ``connection`` (its transaction already begun)."""
    raw = connection.connection.driver_connection
    assert raw is not None
    return raw.cursor()


_SELECTS: dict[tuple[str, str, str, tuple[str, ...], int], tuple[str, bool, list[Any]]] = {}


def rows_with_keys(
    connection: Connection, table: Table, column: str, values: Sequence[Any], columns: Sequence[str]
) -> list[dict[str, Any]]:
    """The rows of ``table`` whose ``column`` is one of ``values`` (its index serves the
    search), with ``columns`` read as SQLAlchemy reads them (e.g. JSON decoded)."""
    if not values:
        return []
    dialect = connection.dialect
    key = (dialect.name, table.name, column, tuple(columns), len(values))
    found = _SELECTS.get(key)
    if found is None:
        statement = select(*(table.c[c] for c in columns)).where(
            table.c[column].in_([bindparam(f"v{i}") for i in range(len(values))])
        )
        compiled = statement.compile(dialect=dialect)
        processors = [table.c[c].type._cached_result_processor(dialect, None) for c in columns]
        found = _SELECTS[key] = (compiled.string, bool(compiled.positional), processors)
    sql, positional, processors = found
    parameters: Any = tuple(values) if positional else {f"v{i}": v for i, v in enumerate(values)}
    cursor = _cursor(connection)
    try:
        cursor.execute(sql, parameters)
        fetched = cursor.fetchall()
    finally:
        cursor.close()
    return [
        {
            name: (p(value) if p is not None else value)
            for name, p, value in zip(columns, processors, row, strict=True)
        }
        for row in fetched
    ]
