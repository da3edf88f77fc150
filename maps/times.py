"""Times as the map pages show them: "YYYY-MM-DD HH:MM", in a display time zone if given.

Aware times are shown in the display time zone when one is given, else as they are; naive
times are always shown as given.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
from numpy.typing import NDArray

#: How a time is written on the pages.
TIME_FORMAT = "%Y-%m-%d %H:%M"


def as_datetimes(values: pd.Series) -> pd.Series:
    """A column as datetimes; aware ones with different offsets are brought to UTC.

    Example
    -------
    >>> as_datetimes(pd.Series(["2024-06-01 09:00", None])).tolist()
    [Timestamp('2024-06-01 09:00:00'), NaT]
    """
    try:
        return pd.to_datetime(values)
    except (ValueError, TypeError):
        return pd.to_datetime(values, utc=True)


def instants_ns(values: pd.Series) -> NDArray[np.int64]:
    """Datetimes as int64 nanoseconds (instants when aware), for sorting; NaT sorts oldest.

    NaT becomes the smallest int64 plus one, so that its negation does not overflow.

    Example
    -------
    >>> ns = instants_ns(pd.Series([pd.Timestamp("2024-06-01 09:00"), None]))
    >>> bool(ns[1] < ns[0]), bool(-ns[1] > 0)
    (True, True)
    """
    stamps = as_datetimes(values)
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    out = stamps.to_numpy(dtype="datetime64[ns]").view(np.int64).copy()
    out[stamps.isna().to_numpy()] = np.iinfo(np.int64).min + 1
    return out


def format_times(values: pd.Series, tz: str | None) -> list[str]:
    """Each time of a column as "YYYY-MM-DD HH:MM" ("" when missing).

    Parameters
    ----------
    values : pandas.Series
        Datetimes (naive or aware) or what :func:`pandas.to_datetime` reads.
    tz : str, optional
        IANA time zone to show aware times in; None shows them as given.

    Returns
    -------
    list of str

    Example
    -------
    >>> utc = pd.Series([pd.Timestamp("2024-05-31 23:15", tz="UTC"), pd.NaT])
    >>> format_times(utc, "Asia/Shanghai")
    ['2024-06-01 07:15', '']
    """
    stamps = as_datetimes(values)
    if tz is not None and isinstance(stamps.dtype, pd.DatetimeTZDtype):
        stamps = stamps.dt.tz_convert(tz)
    text = stamps.dt.strftime(TIME_FORMAT)
    return text.where(stamps.notna(), "").tolist()


def format_instant(when: datetime, tz: str | None) -> str:
    """One time, e.g. when the page's data was read, with its UTC offset if it has one.

    Parameters
    ----------
    when : datetime
        Naive (shown as is) or aware.
    tz : str, optional
        IANA time zone to show an aware ``when`` in; None shows it as given.

    Returns
    -------
    str

    Example
    -------
    >>> from datetime import UTC
    >>> format_instant(datetime(2024, 6, 1, 1, 30, tzinfo=UTC), "Asia/Shanghai")
    '2024-06-01 09:30 UTC+08:00'
    >>> format_instant(datetime(2024, 6, 1, 9, 30), "Asia/Shanghai")
    '2024-06-01 09:30'
    """
    if tz is not None and when.tzinfo is not None:
        when = when.astimezone(ZoneInfo(tz))
    text = when.strftime(TIME_FORMAT)
    offset = when.strftime("%z")
    return f"{text} UTC{offset[:3]}:{offset[3:]}" if offset else text
