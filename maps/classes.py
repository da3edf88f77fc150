"""Classes of per-unit counts for a choropleth, with their colours and legend entries.

Zero is always its own class ("0", white); the positive counts are classed with mapclassify
and coloured from ColorBrewer's YlOrRd. Both map pages shade their units this way.
"""

from __future__ import annotations

import functools
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from geo.imports import hidden
from maps.inputs import MapInputError


@functools.cache
def _mapclassify() -> Any:
    """mapclassify, imported on the first classing rather than with this module (it brings
    scipy.stats: about a second of CPU in every process that serves maps, most of which never
    class anything). It compiles its Fisher-Jenks function with numba when it is imported,
    about 2.5 s more, though only that one scheme uses it: so it is imported with numba out of
    its sight, and that function compiled on the first Fisher-Jenks classing instead."""
    with hidden("numba"):
        import mapclassify
        import mapclassify.classifiers  # noqa: F401  (the module _compile_fisher_jenks patches)
    return mapclassify


@functools.cache
def _compile_fisher_jenks() -> None:
    """Put mapclassify's compiled Fisher-Jenks back (once per process) and silence its warning
    that numba is missing."""
    import numba

    _classifiers = _mapclassify().classifiers
    plain = _classifiers._fisher_jenks_means
    _classifiers._fisher_jenks_means = numba.njit("f8[:](f8[:], u2)")(
        getattr(plain, "__wrapped__", plain)
    )
    _classifiers.HAS_NUMBA = True


#: ColorBrewer YlOrRd (9 classes); k classes take k of them spread over the range.
YLORRD = (
    "#ffffcc",
    "#ffeda0",
    "#fed976",
    "#feb24c",
    "#fd8d3c",
    "#fc4e2a",
    "#e31a1c",
    "#bd0026",
    "#800026",
)
#: Fill of the class of units with nothing counted.
ZERO_COLOR = "#ffffff"
#: Most classes of positive counts: one colour of :data:`YLORRD` each.
MAX_CLASSES = len(YLORRD)


def check_class_count(k: int) -> None:
    """Raise :class:`~maps.inputs.MapInputError` unless ``1 <= k <=`` :data:`MAX_CLASSES`.

    Example
    -------
    >>> check_class_count(12)
    Traceback (most recent call last):
    ...
    maps.inputs.MapInputError: k=12 classes; allowed 1 to 9
    """
    if not 1 <= k <= MAX_CLASSES:
        raise MapInputError(f"k={k} classes; allowed 1 to {MAX_CLASSES}")


@dataclass(frozen=True)
class Classes:
    """Classes of the per-unit counts: class 0 is "no case", then the positive classes.

    Attributes
    ----------
    lowest, highest : list of int
        Smallest and largest count of the units in each class, class 0 included (0, 0).
    unit_class : ndarray of int
        Class of each unit: 0 for no case, i for the i-th positive class (1-based).
    colors : list of str
        Fill colour of class 0, 1, ...
    unit_counts : list of int
        Number of units in each class; only class 0 may be empty.
    scheme : str
        The scheme that set the bounds ("each value" when every count is its own class).
    """

    lowest: list[int]
    highest: list[int]
    unit_class: NDArray[np.intp]
    colors: list[str]
    unit_counts: list[int]
    scheme: str

    def legend(self) -> list[dict[str, Any]]:
        """One entry per class: label ("0", "5", "6–20"), colour and number of units."""
        return [
            {
                "label": str(low) if low == high else f"{low}–{high}",
                "color": color,
                "units": units,
            }
            for low, high, color, units in zip(
                self.lowest, self.highest, self.colors, self.unit_counts, strict=True
            )
        ]


def classify_counts(
    counts: NDArray[np.integer], *, scheme: str = "quantiles", k: int = 5
) -> Classes:
    """Class per-unit case counts for the choropleth.

    Zero is its own class. With at most ``k`` distinct positive counts, each is its own class.
    Otherwise the positive counts are classed:

    - ``"quantiles"`` (the default): classes of about equal numbers of units, as
      ``mapclassify.Quantiles``, but taken one class at a time from the bottom, each time over
      the counts not yet classed. Counts are whole numbers with many ties (thousands of
      micro-grids with one case); plain quantiles would give several classes the same bound
      and end with two or three classes. Here a tied count fills one class and the remaining
      classes split the counts above it, so there are always ``k`` classes.
    - any other mapclassify scheme name (``"natural_breaks"``, ``"equal_interval"``,
      ``"fisher_jenks_sampled"``, ``"headtail_breaks"``...): ``mapclassify.classify(counts,
      scheme, k)``, with the classes left empty dropped.

    A class is labelled with the smallest and largest count in it.

    Parameters
    ----------
    counts : ndarray of int
        Cases per unit.
    scheme : str
        ``"quantiles"`` or a mapclassify scheme name.
    k : int
        Wanted number of positive classes, 1 to :data:`MAX_CLASSES`.

    Returns
    -------
    Classes

    Raises
    ------
    maps.inputs.MapInputError
        ``k`` out of range.

    Example
    -------
    >>> c = classify_counts(np.array([0, 0, 1, 1, 2, 9, 30, 31, 70, 400]), k=3)
    >>> [e["label"] for e in c.legend()], c.unit_class.tolist()
    (['0', '1–2', '9–31', '70–400'], [0, 0, 1, 1, 1, 2, 2, 2, 3, 3])
    """
    check_class_count(k)
    counts = np.asarray(counts, dtype=np.int64)
    positive = counts > 0
    values = np.sort(counts[positive])
    distinct = np.unique(values)
    if distinct.size <= k:
        bins = distinct.astype(float)
        used = "each value"
    elif scheme == "quantiles":
        bins = _stepwise_quantiles(values, k)
        used = scheme
    else:
        if scheme == "fisher_jenks":
            _compile_fisher_jenks()
        with warnings.catch_warnings():  # mapclassify warns of ties; empty classes go below
            warnings.simplefilter("ignore", UserWarning)
            bins = np.asarray(_mapclassify().classify(values, scheme, k=k).bins, dtype=float)
        bins[-1] = max(bins[-1], distinct[-1])
        used = scheme
    raw = np.zeros(counts.size, dtype=np.intp)
    raw[positive] = 1 + np.searchsorted(bins, counts[positive], side="left")
    # renumber the classes that have units, in order, so none is empty
    present = np.unique(raw[positive])
    unit_class = np.zeros(counts.size, dtype=np.intp)
    unit_class[positive] = 1 + np.searchsorted(present, raw[positive])
    n = present.size
    lowest, highest = [0], [0]
    for c in range(1, n + 1):
        members = counts[unit_class == c]
        lowest.append(int(members.min()))
        highest.append(int(members.max()))
    picks = np.linspace(1, len(YLORRD) - 1, n).round().astype(int) if n > 1 else [5] * n
    colors = [ZERO_COLOR, *(YLORRD[i] for i in picks)]
    unit_counts = np.bincount(unit_class, minlength=n + 1).tolist()
    return Classes(lowest, highest, unit_class, colors, unit_counts, used)


def _stepwise_quantiles(values: NDArray[np.int64], k: int) -> NDArray[np.float64]:
    """Upper bounds of k quantile classes of sorted whole numbers, one class at a time."""
    bounds: list[float] = []
    rest = values
    while rest.size:
        left = k - len(bounds)
        distinct = np.unique(rest)
        if distinct.size <= left:
            bounds.extend(distinct.tolist())
            break
        with warnings.catch_warnings():  # ties: mapclassify warns and lowers k; we step on
            warnings.simplefilter("ignore", UserWarning)
            first = _mapclassify().Quantiles(rest.astype(float), k=left).bins[0]
        # whole counts: the class holds the counts up to the bound, and at least the smallest
        bound = max(float(np.floor(first)), float(rest[0]))
        bounds.append(bound)
        rest = rest[rest > bound]
    return np.asarray(bounds, dtype=float)
