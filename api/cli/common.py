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
#: Messages are one line each, however long: a wrapped path or code would read as two.
err_console = Console(stderr=True, soft_wrap=True)

CrsOption = Annotated[
    str | None,
    typer.Option("--crs", help="Coordinate system: wgs84, gcj02, bd09 or EPSG:<code>"),
]
BoundariesOption = Annotated[
    list[Path] | None, typer.Option(help="Boundary file(s); default WANGGE_BOUNDARIES")
]
BoundariesCrsOption = Annotated[
    str | None,
    typer.Option(
        "--boundaries-crs",
        help="Coordinate system of the boundary files if they declare none or the wrong one "
        "(default WANGGE_BOUNDARIES_CRS)",
    ),
]


def fail(exc: WanggeError) -> typer.Exit:
    """Say what was wrong and what is allowed; exit 2."""
    err_console.print(f"[bold red]error:[/] {escape(exc.message)}")
    if exc.allowed:
        err_console.print(f"allowed: {escape(exc.allowed)}")
    return typer.Exit(2)


def read_boundaries(
    paths: list[Path] | None,
    crs: str | None = None,
    *,
    repair: bool = False,
    check: bool = True,
) -> BoundarySet:
    """Boundary files named on the command line, else the configured ones.

    With ``check`` (for lookups and assignment) the set goes through the same load checks as
    the service's: refused if its errors would make answers wrong, the other issues found
    printed as warnings. Without (``wangge validate``) it is read as it is.
    """
    from boundaries.loader import load_boundary_set, read_boundary_set

    settings = Settings()
    files = paths or settings.boundary_paths
    crs = crs or settings.boundaries_crs
    if not check:
        return read_boundary_set(files, crs=crs, repair=repair)
    bset, report = load_boundary_set(files, crs=crs, repair=repair)
    for line in report.summary(limit=10):
        err_console.print(f"[yellow]warning:[/] {escape(bset.name)}: {escape(line)}")
    return bset


_DATABASES: dict[str, Database] = {}


def database(settings: Settings | None = None) -> Database:
    """The configured database (migrated); one engine per database and process."""
    url = (settings or Settings()).database
    if url not in _DATABASES:
        _DATABASES[url] = Database(url)
    return _DATABASES[url]
