"""A team's room in an order's wanted window, counted per calendar day of the city's time.

A team takes at most ``capacity_per_day`` orders on each day; an order it holds (dispatched or
accepted) takes one place on one day of its own window, the team choosing which. So the
orders a team can still take in a window ``W`` is the most that can be added to what it holds
with every order still on a day of its window: by Hall's theorem for windows of consecutive
days, the least, over the spans of days ``[a, b]`` holding ``W``, of the places of the span
(``capacity_per_day * days``) minus the held orders whose windows lie within it. A held order
on another day of a longer window does not take a place from this one's days; two orders on
the same day of a one-day window do.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, tzinfo

import numpy as np

#: How far around a window held orders are looked at: a window is at most 31 days long, so
#: orders beyond that reach into a span holding it only through a chain of full days.
HORIZON = timedelta(days=31)


def service_days(start: datetime, end: datetime, tz: tzinfo) -> tuple[int, int]:
    """The first and last calendar day (ordinals, in ``tz``) a window ``[start, end)`` touches.

    >>> from zoneinfo import ZoneInfo
    >>> shanghai = ZoneInfo("Asia/Shanghai")
    >>> a, b = service_days(datetime(2026, 12, 7, 1, tzinfo=UTC),
    ...                     datetime(2026, 12, 7, 16, tzinfo=UTC), shanghai)
    >>> b - a  # 09:00 to 24:00 in Shanghai: one day
    0
    """
    first = _local(start, tz).date()
    # the window ends before ``end``: one ending at midnight does not touch the next day
    last = _local(end - timedelta(microseconds=1), tz).date()
    return first.toordinal(), max(first, last).toordinal()


def free_places(per_day: int, window: tuple[int, int], held: Sequence[tuple[int, int]]) -> int:
    """Orders with this window (first and last day) a team with ``per_day`` places a day can
    still take beside the orders it holds (their first and last days).

    >>> free_places(1, (1, 2), [(1, 1)])  # day 1 is taken, day 2 is free
    1
    >>> free_places(1, (2, 2), [(1, 2), (1, 1)])  # the two-day order must go on day 2
    0
    >>> free_places(2, (1, 1), [(1, 1)])
    1
    """
    first, last = window
    if not held:
        return per_day * (last - first + 1)
    starts = np.array([a for a, _ in held])
    ends = np.array([b for _, b in held])
    # the spans worth trying begin at the window's first day or a held order's earlier one,
    # and end at its last day or a held order's later one
    lows = np.unique(np.append(starts[starts < first], first))
    highs = np.unique(np.append(ends[ends > last], last))
    inside = (starts[None, None, :] >= lows[:, None, None]) & (
        ends[None, None, :] <= highs[None, :, None]
    )
    places = per_day * (highs[None, :] - lows[:, None] + 1)
    room = places - inside.sum(axis=2)
    return max(0, int(room.min()))


def _local(at: datetime, tz: tzinfo) -> datetime:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(tz)
