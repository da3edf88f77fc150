"""Importing a library without one of its optional accelerators in sight, and whether numba
may keep what it compiles beside a module."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast


def numba_can_cache(module_file: str) -> bool:
    """Whether numba can keep the functions it compiles for this module on disk (in its
    ``__pycache__``, or in ``NUMBA_CACHE_DIR`` when set): ``njit(cache=...)`` off in a
    read-only install rather than a warning on every start.

    >>> numba_can_cache(__file__) in (True, False)
    True
    """
    if os.environ.get("NUMBA_CACHE_DIR"):
        return True
    folder = Path(module_file).parent / "__pycache__"
    try:
        folder.mkdir(exist_ok=True)
    except OSError:
        return False
    return os.access(folder, os.W_OK)


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
