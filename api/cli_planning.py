"""Planning commands: facilities, population, coverage (registered on the main CLI)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add the planning commands to the ``wangge`` CLI."""
