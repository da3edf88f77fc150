"""Alembic environment: runs on the connection handed over by api.db.engine.migrate."""

from alembic import context

from api.db.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run migrations through api.db.engine.migrate (wangge db upgrade)")
context.configure(connection=connection, target_metadata=Base.metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
