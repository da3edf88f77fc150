"""What every command group shares: the consoles, the error exit, the configured data."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape

from api.db import Database
from api.settings import Settings
from geo.errors import WanggeError
from geo.units import BoundarySet

console = Console()
err_console = Console(stderr=True)

CrsOption = Annotated[
    str | None,
    typer.Option("--crs", help="Coordinate system: wgs84, gcj02, bd09 or EPSG:<code>"),
]


def fail(exc: WanggeError) -> typer.Exit:
    """Say what was wrong and what is allowed; exit 2."""
    err_console.print(f"[bold red]error:[/] {escape(exc.message)}")
    if exc.allowed:
        err_console.print(f"allowed: {escape(exc.allowed)}")
    return typer.Exit(2)


def read_boundaries(
    paths: list[Path] | None, crs: str | None = None, *, repair: bool = False
) -> BoundarySet:
    """Boundary files named on the command line, else the configured ones."""
    from boundaries.loader import read_boundary_set

    settings = Settings()
    files = paths or settings.boundary_paths
    return read_boundary_set(files, crs=crs or settings.boundaries_crs, repair=repair)


_DATABASES: dict[str, Database] = {}


def database(settings: Settings | None = None) -> Database:
    """The configured database (migrated); one engine per database and process."""
    url = (settings or Settings()).database
    if url not in _DATABASES:
        _DATABASES[url] = Database(url)
    return _DATABASES[url]
