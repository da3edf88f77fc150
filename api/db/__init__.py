"""The database: engine and sessions, tables, the group writer, migrations (alembic)."""

from api.db.engine import Database, make_engine, migrate

__all__ = ["Database", "make_engine", "migrate"]
