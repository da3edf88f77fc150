"""Statements on the database driver's own cursor, for the one hot writer (intake).

SQLAlchemy's Core ``insert`` spends more per row in Python than the database spends storing
it: each execution builds its parameters through the compiled statement, and an INSERT ...
RETURNING whose ids must come back in order runs row by row through the whole stack on SQLite.
The report writer holds the GIL that the event loop needs for every request, so its Python
time is intake's ceiling. :class:`RawInsert` compiles one table's INSERT once for the engine's
dialect (its SQL, parameter style and each column's bind processor, all SQLAlchemy's own) and
then runs ``executemany`` on the DBAPI cursor: the same SQL and the same stored values, without
the per-row machinery.

Rows are plain dicts with exactly the columns given (Python-side column defaults are not
applied, so a table with one must be given that column; the constructor checks).
:func:`rows_with_keys` reads rows by one column's values the same way.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Connection, Table, bindparam, insert, select
from sqlalchemy.engine import Dialect


class RawInsert:
    """One table's INSERT of ``columns``, compiled for ``dialect``."""

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
        # inline: no RETURNING of the new key added by the dialect (PostgreSQL), added below
        compiled = insert(table).inline().compile(dialect=dialect, column_keys=self.columns)
        self.sql = compiled.string
        self.positional = bool(compiled.positional)
        if self.positional:
            assert compiled.positiontup is not None
            order = list(compiled.positiontup)
        else:
            order = self.columns
        # the compiled statement's bind names are the column keys here (one VALUES row)
        if sorted(order) != sorted(self.columns):
            raise ValueError(f"{table.name}: unexpected parameters {order}")
        self._order = order
        self._processors: list[tuple[str, Callable[[Any], Any] | None]] = [
            (name, table.c[name].type._cached_bind_processor(dialect)) for name in order
        ]
        self._returning_sql = f"{self.sql} RETURNING {table.c.id.name}" if "id" in table.c else ""
        self._sqlite = dialect.name == "sqlite"

    def parameters(self, rows: Sequence[dict[str, Any]]) -> list[Any]:
        """The rows as the driver takes them: values bound as SQLAlchemy would bind them."""
        processors = self._processors
        if self.positional:
            return [
                tuple(p(row[n]) if p is not None else row[n] for n, p in processors) for row in rows
            ]
        return [
            {n: (p(row[n]) if p is not None else row[n]) for n, p in processors} for row in rows
        ]

    def execute(self, connection: Connection, rows: Sequence[dict[str, Any]]) -> None:
        """Insert the rows in the connection's transaction."""
        if not rows:
            return
        cursor = _cursor(connection)
        try:
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
            parameters = self.parameters(rows)
            if self._sqlite:  # one row a step: the id the database gave it, never a guess
                ids = []
                for one in parameters:
                    cursor.execute(self.sql, one)
                    ids.append(int(cursor.lastrowid))
                return ids
            # psycopg: one pipelined executemany, a result set per row, in order
            cursor.executemany(self._returning_sql, parameters, returning=True)
            ids = []
            while True:
                ids.append(int(cursor.fetchone()[0]))
                if not cursor.nextset():
                    return ids
        finally:
            cursor.close()


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
