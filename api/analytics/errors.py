"""Errors of the analytics, and their HTTP statuses (composed in api.main)."""

from __future__ import annotations

from geo.errors import WanggeError


class InvalidWindow(WanggeError):
    """A time window that cannot be analysed: its start not before its end."""

    code = "invalid_window"


class NoCases(WanggeError):
    """No case in the window (and category): a statistic of nothing is not zero, it is
    undefined."""

    code = "no_cases"


class TooFewUnits(WanggeError):
    """A level with too few units for a local statistic (the top level, a single district)."""

    code = "too_few_units"


ANALYTICS_STATUS_CODES: dict[type[WanggeError], int] = {
    InvalidWindow: 422,
    NoCases: 422,
    TooFewUnits: 422,
}
