"""Work repeated in a background thread of its own (keys renewed, other workers' cases
followed), stopped by setting the event it returns."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

log = logging.getLogger("wangge")


def every(
    interval_s: float, work: Callable[[], object], *, name: str, failed: str
) -> threading.Event:
    """Call ``work`` every ``interval_s`` seconds in a daemon thread named ``name`` until the
    returned event is set. A call that raises is logged with ``failed`` (e.g. the database
    away for a moment) and tried again next time."""
    stop = threading.Event()

    def run() -> None:
        while not stop.wait(interval_s):
            try:
                work()
            except Exception:
                log.warning(failed, exc_info=True)

    threading.Thread(target=run, name=name, daemon=True).start()
    return stop
