"""The ``wangge`` command line: one module per command group, registered here."""

from __future__ import annotations

import typer
from pydantic import ValidationError
from rich.markup import escape

from api.cli import boundaries, demo, service
from api.cli.analytics import analytics_app
from api.cli.common import err_console
from api.cli.keys import keys_app
from api.cli.leaders import leaders_app
from api.cli.maps import map_app
from api.cli.planning import register as register_planning
from api.cli.versions import versions_app
from api.cli.volunteers import points_app, volunteers_app
from api.cli.webhooks import webhooks_app
from api.settings import Settings

app = typer.Typer(
    help="Wangge: geospatial grid management (boundaries, assignment, service).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command()(service.serve)
app.command()(demo.demo)
app.command()(boundaries.validate)
app.command(context_settings=boundaries.COORDINATE_ARGUMENTS)(boundaries.lookup)
app.command()(boundaries.assign)
app.add_typer(map_app, name="map")
app.add_typer(keys_app, name="keys")
app.add_typer(service.db_app, name="db")
app.add_typer(versions_app, name="boundaries")
app.add_typer(leaders_app, name="leaders")
app.add_typer(volunteers_app, name="volunteers")
app.add_typer(points_app, name="points")
app.add_typer(webhooks_app, name="webhooks")
register_planning(app)
app.add_typer(analytics_app, name="analytics")


def main() -> None:
    """Entry point of the ``wangge`` console script. A setting out of its range (from the
    environment or .env) is said by its variable's name, with exit 2, not a traceback."""
    try:
        app()
    except ValidationError as exc:
        if exc.title != Settings.__name__:
            raise
        for error in exc.errors():
            name = "WANGGE_" + "_".join(str(part) for part in error["loc"]).upper()
            err_console.print(
                f"[bold red]error:[/] setting {name}: {escape(error['msg'])} "
                f"(got {escape(repr(error.get('input')))})"
            )
        raise SystemExit(2) from None


if __name__ == "__main__":
    main()
