"""API keys: ``wangge keys create | list | revoke``."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from api.cli.common import console, database, err_console, fail
from api.settings import Settings
from geo.errors import WanggeError

keys_app = typer.Typer(help="API keys: create, list, revoke.", no_args_is_help=True)


@keys_app.command("create")
def keys_create(
    role: Annotated[
        str, typer.Option(help="reporter, grid_worker, dispatcher, planner, admin, team_lead")
    ],
    unit: Annotated[
        str | None, typer.Option(help="The unit a grid worker serves (its code)")
    ] = None,
    name: Annotated[str, typer.Option(help="Who or what the key is for")] = "",
    team: Annotated[
        int | None, typer.Option(help="The volunteer team of a team lead (its id)")
    ] = None,
) -> None:
    """Create an API key; the key is printed alone on the last line (and never stored)."""
    from api.access.keys import issue_key
    from api.services import load_index

    settings = Settings()
    try:
        # the boundaries are read only to check a unit (a key without one does not need them)
        bset = load_index(settings).bset if unit else None
        with database(settings).session() as session:
            row, key = issue_key(session, bset, role, unit_code=unit, name=name, team_id=team)
    except WanggeError as exc:
        raise fail(exc) from None
    err_console.print(
        f"key {row.id} for role {row.role}"
        + (f", unit {unit}" if unit else "")
        + (f", team {team}" if team else "")
    )
    print(key)


@keys_app.command("list")
def keys_list() -> None:
    """List keys (never the keys themselves)."""
    from api.access.keys import list_keys

    table = Table()
    for column in ("id", "role", "unit", "name", "created", "revoked"):
        table.add_column(column)
    with database().session() as session:
        for row in list_keys(session):
            table.add_row(
                str(row.id),
                row.role,
                row.unit_code or "",
                row.name,
                f"{row.created_at:%Y-%m-%d %H:%M}",
                f"{row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "",
            )
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[int, typer.Argument(help="The key's id (wangge keys list)")],
) -> None:
    """Revoke a key: it stops working at once here and within a second on running services."""
    from api.access.keys import revoke_key

    try:
        with database().session() as session:
            revoke_key(session, key_id)
    except WanggeError as exc:
        raise fail(exc) from None
    console.print(f"key {key_id} revoked")
