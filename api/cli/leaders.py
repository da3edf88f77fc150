"""The leader roster: ``wangge leaders import roster.csv``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import console, err_console, fail
from geo.errors import WanggeError

leaders_app = typer.Typer(help="The leader roster: import appointments.", no_args_is_help=True)


@leaders_app.command("import")
def leaders_import(
    file: Annotated[
        Path, typer.Argument(help="CSV: code, leader_name, leader_phone, leader_id, since")
    ],
    report: Annotated[
        Path | None, typer.Option("--report", help="Write every bad row to this CSV")
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check the file, store nothing")
    ] = False,
) -> None:
    """Appoint the leaders of a roster file (each row ends the unit's appointment before it;
    ``since`` empty: now). Every bad row is named by its line, and a file with one imports
    nothing (exit 1). Open cases whose leader changes get a leader_changed event."""
    from api.cli.planning import _print_check
    from api.cli.versions import open_for_command
    from api.planning import InvalidRows
    from api.versions import CLI

    if not file.is_file():
        raise fail(InvalidRows(f"{file} does not exist", allowed="a roster CSV file"))
    services = open_for_command()
    try:
        parsed = services.versions.read_roster(file)
        _print_check(parsed, report, "rows")
        if parsed.problems:
            err_console.print(f"[bold red]{len(parsed.problems):,} bad row(s): nothing imported[/]")
            raise typer.Exit(1)
        if dry_run:
            console.print("dry run: nothing stored")
            return
        with services.db.session() as session:
            codes = services.versions.import_roster(session, parsed, actor=CLI)
    except WanggeError as exc:
        raise fail(exc) from None
    finally:
        services.close()
    console.print(f"{len(parsed.rows):,} appointment(s) stored for {len(codes):,} unit(s)")
