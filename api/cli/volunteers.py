"""Volunteer services: ``wangge volunteers import FILE`` and ``wangge points statement ID``."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from api.cli.common import console, database, err_console, fail
from api.settings import Settings
from geo.errors import WanggeError

volunteers_app = typer.Typer(help="Volunteer teams and volunteers.", no_args_is_help=True)
points_app = typer.Typer(help="Volunteers' points (积分).", no_args_is_help=True)


@volunteers_app.command("import")
def volunteers_import(
    path: Annotated[
        Path,
        typer.Argument(
            help="teams.csv (name, services, capacity_per_day, units and/or lon, lat, "
            "radius_m) or volunteers.csv (name, phone, team_id, skills); UTF-8 or GB 18030",
            exists=True,
            dir_okay=False,
        ),
    ],
) -> None:
    """Import teams or volunteers: the good rows are stored, every bad one named by its line
    (exit 2 when there is any)."""
    from api.services import load_index
    from api.volunteers.catalogue import load_service_types, sync_service_types
    from api.volunteers.imports import import_csv

    settings = Settings()
    try:
        bset = load_index(settings).bset
        with database(settings).session() as session:
            sync_service_types(session, load_service_types(settings.service_types_file))
            done = import_csv(session, bset, path, datetime.now(UTC))
    except WanggeError as exc:
        raise fail(exc) from None
    for line, problem in done.problems:
        err_console.print(f"[bold red]line {line}:[/] {escape(problem)}")
    first = f" (ids {done.ids[0]}-{done.ids[-1]})" if done.ids else ""
    console.print(
        f"{len(done.ids)} {done.kind} imported{first} from {path.name} ({done.encoding}); "
        f"{len(done.problems)} row(s) refused"
    )
    if done.problems:
        raise typer.Exit(2)


@points_app.command("statement")
def points_statement(
    volunteer: Annotated[int, typer.Argument(help="The volunteer's id", min=1)],
) -> None:
    """A volunteer's balance and every line of the ledger."""
    from api.volunteers.points import statement

    try:
        with database().session() as session:
            found = statement(session, volunteer, None)
    except WanggeError as exc:
        raise fail(exc) from None
    table = Table(title=f"volunteer {volunteer}")
    for column in ("at", "kind", "points", "order", "hours", "reason", "by"):
        table.add_column(column)
    for e in found["entries"]:
        table.add_row(
            f"{e.at:%Y-%m-%d %H:%M}",
            e.kind,
            f"{e.points:+g}",
            str(e.order_id or ""),
            f"{e.hours:g}" if e.hours is not None else "",
            escape(e.reason),
            escape(e.author),
        )
    console.print(table)
    console.print(f"balance: {found['balance']:g}")
