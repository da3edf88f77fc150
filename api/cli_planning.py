"""Planning commands: facilities, population, coverage."""

from __future__ import annotations

import typer

app = typer.Typer(help="Planning: facilities, population and coverage.", no_args_is_help=True)
