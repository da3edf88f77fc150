"""``python -m api.cli``: the ``wangge`` command."""

from api.cli.main import main

main()
