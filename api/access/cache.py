"""A short-lived cache of answers another worker may change (keys revoked, sessions ended)."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")

#: How long a key's or a browser session's answer is kept: a key revoked on one worker (or
#: from the command line) is refused by every other within this time plus one database read,
#: well inside a second.
REVOCATION_TTL_S = 0.5


class ShortCache(Generic[V]):
    """Answers kept for ``ttl_s`` seconds: a change made by another worker (or the command
    line) is seen within that time; one made here is seen at once by dropping the entry.

    Reads never touch the database, so async code can try the cache first and do the read in
    a thread only on a miss. Thread-safe; cleared when it grows past ``max_entries``.
    """

    def __init__(self, *, ttl_s: float = REVOCATION_TTL_S, max_entries: int = 10_000) -> None:
        self.ttl_s = ttl_s
        self._max = max_entries
        self._entries: dict[str, tuple[float, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: str) -> tuple[bool, V | None]:
        """(hit, value): a miss says nothing of the value."""
        with self._lock:
            entry = self._entries.get(key)
        if entry is not None and time.monotonic() - entry[0] < self.ttl_s:
            return True, entry[1]
        return False, None

    def put(self, key: str, value: V) -> None:
        with self._lock:
            if len(self._entries) > self._max:
                self._entries.clear()
            self._entries[key] = (time.monotonic(), value)

    def entries(self) -> list[tuple[str, V]]:
        """Every entry still fresh, as (key, value)."""
        now = time.monotonic()
        with self._lock:
            return [(k, v) for k, (at, v) in self._entries.items() if now - at < self.ttl_s]

    def renew_many(self, renewals: list[tuple[str, V, V]]) -> None:
        """For each (key, seen, value): store ``value`` as of now, unless the entry changed or
        was dropped since ``seen`` was read from it (a revocation here must not be undone by
        a renewal)."""
        now = time.monotonic()
        with self._lock:
            for key, seen, value in renewals:
                entry = self._entries.get(key)
                if entry is not None and entry[1] is seen:
                    self._entries[key] = (now, value)

    def drop(self, where: Callable[[str, V], bool]) -> None:
        """Drop every entry for which ``where(key, value)`` holds."""
        with self._lock:
            for key in [k for k, (_, v) in self._entries.items() if where(k, v)]:
                del self._entries[key]
