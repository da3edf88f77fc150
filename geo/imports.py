"""Importing a library without one of its optional accelerators in sight."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, cast


@contextmanager
def hidden(module: str) -> Iterator[None]:
    """Within the block ``import module`` raises ImportError (a module imported already stays
    loaded, and visible again afterwards): for libraries that compile with numba at import or
    on first call when their plain NumPy path serves as well.

    >>> import json
    >>> with hidden("json"):
    ...     try:
    ...         import json
    ...     except ImportError:
    ...         print("hidden")
    hidden
    >>> import json  # visible again
    >>> json.dumps([1])
    '[1]'
    """
    modules = cast(dict[str, Any], sys.modules)
    before = modules.get(module)
    modules[module] = None
    try:
        yield
    finally:
        del modules[module]
        if before is not None:
            modules[module] = before
