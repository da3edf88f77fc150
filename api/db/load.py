"""How busy a group writer is (:class:`WriterLoad`), for /health."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


class WriterLoad:
    """How busy a writer is: the batches and jobs it wrote, and the share of the last
    ``window_s`` seconds it spent writing. A writer busy nearly all the time is intake's
    bottleneck: reports then wait for the batch before theirs, whatever the event loop does.
    Safe to read from any thread while the writer records."""

    def __init__(self, window_s: float = 10.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.window_s = window_s
        self._clock = clock
        self._lock = threading.Lock()
        self._spans: deque[tuple[float, float]] = deque()  # (started, ended) of recent batches
        self.batches = 0
        self.jobs = 0
        self._since = clock()

    def wrote(self, started: float, jobs: int) -> None:
        """A batch of ``jobs`` written from ``started`` (the clock's time) until now."""
        ended = self._clock()
        with self._lock:
            self.batches += 1
            self.jobs += jobs
            self._spans.append((started, ended))
            while self._spans and self._spans[0][1] < ended - self.window_s:
                self._spans.popleft()

    def busy(self) -> float:
        """The share (0 to 1) of the last ``window_s`` seconds (or of the time since the
        writer started, if shorter) spent writing batches."""
        now = self._clock()
        since = max(now - self.window_s, self._since)
        if now <= since:
            return 0.0
        with self._lock:
            spent = sum(end - max(start, since) for start, end in self._spans if end > since)
        return min(1.0, spent / (now - since))
