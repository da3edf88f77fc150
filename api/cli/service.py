"""Running the service: ``wangge serve`` and ``wangge db upgrade``."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.common import console, database
from api.settings import Settings

if TYPE_CHECKING:
    from fastapi import FastAPI

db_app = typer.Typer(help="The database: migrations.", no_args_is_help=True)


def worker_app() -> FastAPI:
    """The application of one server process, its settings read from the environment (what
    each of ``--workers N`` processes builds for itself)."""
    from api.main import create_app

    # Report writes are group-committed by one thread while request threads do the rest; a
    # shorter GIL switch interval (default 5 ms) lets that thread back in sooner, which raises
    # intake throughput and cuts its tail latency under load (see bench/intake.py).
    sys.setswitchinterval(0.001)
    return create_app(Settings(), freeze_at_start=True)


def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
    workers: Annotated[
        int,
        typer.Option(
            min=1,
            max=64,
            help="Server processes sharing the port; state they share lives in the database",
        ),
    ] = 1,
) -> None:
    """Run the HTTP service (boundaries from WANGGE_BOUNDARIES, default the demo set)."""
    import uvicorn

    settings = Settings()
    if workers > 1:  # each key's rate counted across the workers (api.access.limits)
        os.environ["WANGGE_RATE_LIMIT_SHARED"] = "1"
    uvicorn.run(
        "api.cli.service:worker_app",
        factory=True,
        workers=workers if workers > 1 else None,
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
        # the event loop and HTTP parser in C (a quarter to a third less CPU a report than
        # asyncio's loop and h11): named, so that a missing install fails instead of slowing
        loop="uvloop",
        http="httptools",
        # one line per request costs more than a report's assignment; errors are still logged
        access_log=False,
        # the app reads X-Forwarded-* itself, from WANGGE_FORWARDED_ALLOW_IPS only (api.main):
        # uvicorn's own reading would trust its default, 127.0.0.1, besides
        proxy_headers=False,
    )


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the newest schema (WANGGE_DATABASE_URL)."""
    database().dispose()
    console.print(f"database at {Settings().database.split('@')[-1]} is up to date")
