"""The ``wangge`` command: one module per command group; input and output only."""

from api.cli.main import app, main

__all__ = ["app", "main"]
