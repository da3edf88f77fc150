"""Boundary versions: ``wangge boundaries import | list | diff | activate``.

The same operations as the API's /boundaries/versions routes, on the configured database;
running servers answer from a version activated here within a second or two.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from api.cli.common import CrsOption, console, err_console, fail
from api.settings import Settings
from geo.errors import WanggeError

if TYPE_CHECKING:
    from api.services import Services

versions_app = typer.Typer(
    help="Boundary versions: import a new grid map, list, diff against the active one, "
    "activate (re-routes the open cases).",
    no_args_is_help=True,
)
#: Issues and changes printed on screen (the API lists more).
SHOWN = 30


def open_for_command() -> Services:
    """The services on the configured database for one command (no writer thread, no
    watching), or the error's message and exit 2."""
    from api.services import open_services

    try:
        return open_services(Settings(), writer=False, watch=False)
    except WanggeError as exc:
        raise fail(exc) from None


def _print_version(version: dict[str, Any]) -> None:
    table = Table(title=f"version {version['id']}: {escape(version['name'])} ({version['state']})")
    table.add_column("level")
    table.add_column("units", justify="right")
    for level, count in version["unit_counts"].items():
        table.add_row(escape(level), f"{count:,}")
    console.print(table)
    console.print(
        f"from {escape(version['source_name'])} ({version['source_crs']}), "
        f"sha256 {version['source_sha256'][:16]}…; "
        f"{version['errors']} error(s), {version['warnings']} warning(s)"
    )
    issues = version["validation"].get("issues", [])
    for issue in issues[:SHOWN]:
        colour = {"error": "red", "warning": "yellow"}.get(issue["severity"], "blue")
        console.print(
            f"[{colour}]{issue['severity']}[/] {issue['kind']} "
            f"{escape(', '.join(issue['codes'])[:60])}: {escape(issue['message'])}"
        )
    if len(issues) > SHOWN:
        console.print(f"... and {version['validation']['issues_total'] - SHOWN:,} more")


@versions_app.command("import")
def boundaries_import(
    file: Annotated[
        Path, typer.Argument(help="A .gpkg, a .zip of GeoJSON/Shapefile files, or a .geojson")
    ],
    crs: CrsOption = None,
    name: Annotated[str | None, typer.Option(help="A name for the version")] = None,
) -> None:
    """Import a boundary file as a new draft version, validated; nothing changes until it is
    activated."""
    from api.versions import CLI

    if not file.is_file():
        err_console.print(f"[bold red]error:[/] {escape(str(file))} does not exist")
        raise typer.Exit(2)
    services = open_for_command()
    progress = Progress(
        TextColumn("storing units"), BarColumn(), MofNCompleteColumn(), console=err_console
    )
    try:
        with progress, services.db.session() as session:
            task = progress.add_task("units", total=None)
            version = services.versions.import_file(
                session,
                file,
                crs=crs,
                name=name,
                actor=CLI,
                on_progress=lambda n: progress.advance(task, n),
            )
    except WanggeError as exc:
        raise fail(exc) from None
    finally:
        services.close()
    _print_version(version)
    ident = version["id"]
    if version["errors"]:
        hint = "fix the errors and import the file again"
    else:
        hint = f"wangge boundaries diff {ident}, then wangge boundaries activate {ident}"
    console.print(f"next: {hint}")


@versions_app.command("list")
def boundaries_list() -> None:
    """List the boundary versions, newest first."""
    services = open_for_command()
    try:
        with services.db.session() as session:
            versions = services.versions.list_versions(session)
    finally:
        services.close()
    table = Table()
    for column in ("id", "name", "state", "units", "errors", "warnings", "imported", "activated"):
        table.add_column(
            column, justify="right" if column in ("id", "units", "errors", "warnings") else "left"
        )
    for v in versions:
        table.add_row(
            str(v["id"]),
            escape(v["name"]),
            v["state"],
            f"{sum(v['unit_counts'].values()):,}",
            str(v["errors"]),
            str(v["warnings"]),
            f"{v['imported_at']:%Y-%m-%d %H:%M} by {escape(v['imported_by'])}",
            f"{v['activated_at']:%Y-%m-%d %H:%M}" if v["activated_at"] else "",
        )
    console.print(table)


@versions_app.command("diff")
def boundaries_diff(
    version_id: Annotated[int, typer.Argument(help="The version's id (wangge boundaries list)")],
    limit: Annotated[int, typer.Option(help="Changes listed per kind")] = SHOWN,
) -> None:
    """What activating a version would change against the active one (nothing is written)."""
    services = open_for_command()
    try:
        with services.db.session() as session:
            diff = services.versions.diff(session, version_id, limit=limit)
    except WanggeError as exc:
        raise fail(exc) from None
    finally:
        services.close()
    console.print(f"version {version_id} against the active version {diff['against_version_id']}")
    table = Table(title="units")
    table.add_column("change")
    table.add_column("units", justify="right")
    table.add_column("first of them")
    for kind, listing in diff["units"].items():
        codes = ", ".join(str(item["code"]) for item in listing["items"][:8])
        table.add_row(kind.replace("_", " "), f"{listing['count']:,}", escape(codes))
    console.print(table)
    cases = diff["cases"]
    console.print(
        f"open cases: {cases['open']:,}; would move {cases['moved']:,}, keep their unit "
        f"{cases['unchanged']:,} (of which {cases['parent_changed']:,} under other units above, "
        f"{cases['leader_changed']:,} with another leader), lose their unit {cases['unassigned']:,}"
    )
    if cases["moves"] or cases["unassigned_from"]:
        moves = Table(title="cases that would move")
        for column in ("from unit", "to unit", "cases"):
            moves.add_column(column, justify="right" if column == "cases" else "left")
        for move in cases["moves"]:
            moves.add_row(
                escape(move["from_unit"] or "(none)"), escape(move["to_unit"]), f"{move['cases']:,}"
            )
        for lost in cases["unassigned_from"]:
            moves.add_row(
                escape(lost["from_unit"] or "(none)"),
                "[red](no unit: the queue)[/]",
                f"{lost['cases']:,}",
            )
        console.print(moves)


@versions_app.command("activate")
def boundaries_activate(
    version_id: Annotated[int, typer.Argument(help="The version's id (wangge boundaries list)")],
) -> None:
    """Activate a version: open cases are re-routed (each move has its event); activating an
    older version rolls back."""
    from api.versions import CLI

    services = open_for_command()
    try:
        with services.db.session() as session, console.status("activating..."):
            answer = services.versions.activate(session, version_id, actor=CLI)
    except WanggeError as exc:
        raise fail(exc) from None
    finally:
        services.close()
    cases = answer["cases"]
    console.print(
        f"version {version_id} is active (was {answer['previous_version_id']}) in "
        f"{answer['seconds']:.1f} s: of {cases['open']:,} open cases {cases['moved']:,} moved, "
        f"{cases['unchanged']:,} kept their unit, {cases['unassigned']:,} went to the "
        f"dispatchers' queue; {answer['leaders_seeded']:,} leader(s) taken from the file"
    )
