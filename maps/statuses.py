"""The case statuses a map is told about: which are open, how each is labelled and coloured.

The maps hold no lifecycle of their own: the caller passes its statuses as a sequence of
:class:`CaseStatus` (the service passes ``api.cases.lifecycle.Status``, open as in ``OPEN``).
Statuses in the data are matched to them ignoring case and surrounding spaces; one the
vocabulary does not name is taken as open and shown as it is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import cycle

from maps.inputs import MapInputError

#: Colours of the open statuses, in the order the vocabulary lists them (red is kept for
#: overdue cases).
OPEN_COLORS = ("#1f77b4", "#9467bd", "#ff7f0e", "#17becf", "#8c564b", "#e377c2", "#bcbd22")
#: Colours, in turn, of open statuses the vocabulary does not name or past :data:`OPEN_COLORS`.
SPARE_COLORS = ("#7f7f7f", "#2ca02c", "#393b79", "#637939", "#843c39", "#7b4173")


@dataclass(frozen=True)
class CaseStatus:
    """One status of the caller's case lifecycle.

    Attributes
    ----------
    code : str
        As written in the cases' ``status`` column, e.g. ``"in_progress"``.
    open : bool
        Whether a case in this status still needs work (and is drawn as a marker).
    label : str
        Shown on the page; the code when empty.

    Example
    -------
    >>> CaseStatus("in_progress", open=True).shown, CaseStatus("closed", False, "办结").shown
    ('in_progress', '办结')
    """

    code: str
    open: bool
    label: str = ""

    @property
    def shown(self) -> str:
        """What the page shows: the label, else the code."""
        return self.label or self.code


def _key(text: str) -> str:
    return text.strip().lower()


class StatusVocabulary:
    """Statuses by code, for reading a ``status`` column.

    Parameters
    ----------
    statuses : sequence of CaseStatus
        Every status of the lifecycle, open ones in the order a case goes through them (it
        sets their colours).

    Raises
    ------
    maps.inputs.MapInputError
        No status, or a code given twice.

    Example
    -------
    >>> words = StatusVocabulary([CaseStatus("submitted", True, "点单 submitted"),
    ...                           CaseStatus("closed", False)])
    >>> words.is_open(" Closed "), words.is_open("reported"), words.shown("submitted")
    (False, True, '点单 submitted')
    >>> words.colors(["reported", "submitted"])
    ['#7f7f7f', '#1f77b4']
    """

    def __init__(self, statuses: Iterable[CaseStatus]) -> None:
        self.statuses = tuple(statuses)
        if not self.statuses:
            raise MapInputError("no case status given; allowed: the statuses of the lifecycle")
        self._by_key: dict[str, CaseStatus] = {}
        for status in self.statuses:
            if _key(status.code) in self._by_key:
                raise MapInputError(
                    f"status {status.code!r} given twice; allowed: each status once"
                )
            self._by_key[_key(status.code)] = status
        open_keys = [_key(s.code) for s in self.statuses if s.open]
        self._color = dict(zip(open_keys, OPEN_COLORS, strict=False))

    def find(self, text: str) -> CaseStatus | None:
        """The status ``text`` names, or None."""
        return self._by_key.get(_key(text))

    def is_open(self, text: str) -> bool:
        """Whether a case in status ``text`` is open (one the vocabulary does not name is)."""
        status = self.find(text)
        return status is None or status.open

    def shown(self, text: str) -> str:
        """How the page shows status ``text``: its label, else as it is written."""
        status = self.find(text)
        return status.shown if status is not None else text

    def colors(self, texts: Sequence[str]) -> list[str]:
        """A colour for each of the open statuses ``texts``: the open statuses of the
        vocabulary by their place in it, any other from :data:`SPARE_COLORS` in turn."""
        spare = cycle(SPARE_COLORS)
        return [self._color.get(_key(t)) or next(spare) for t in texts]
