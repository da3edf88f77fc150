"""Queen contiguity weights of a level's unit polygons (libpysal), cached per boundary version.

Units that share a vertex or an edge are neighbours. Islands (a unit touching no other, e.g. a
campus grid drawn apart) keep no neighbours; the statistics treat them as their own
neighbourhood only and never class them (see :mod:`api.analytics.hotspots`).
"""

from __future__ import annotations

import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
from numpy.typing import NDArray

from api.analytics.errors import TooFewUnits
from geo.units import BoundarySet

if TYPE_CHECKING:
    from libpysal.weights import W

#: A local statistic needs a few units to compare a neighbourhood with the rest.
MIN_UNITS = 3


@dataclass(frozen=True)
class LevelWeights:
    """The weights of one level: ``positions`` are rows of the set's units, in ``w``'s order."""

    level: str
    positions: NDArray[np.intp]
    codes: NDArray[np.object_]
    names: NDArray[np.object_]
    w: W
    islands: NDArray[np.bool_]

    @property
    def n(self) -> int:
        return len(self.positions)


def queen_weights(bset: BoundarySet, level: str) -> LevelWeights:
    """Build the queen weights of a level's units (vertex-sharing polygons are neighbours)."""
    from api.analytics.compiled import Queen

    positions = bset.level_positions(level)
    if len(positions) < MIN_UNITS:
        raise TooFewUnits(
            f"level {level!r} has {len(positions)} unit(s); a local statistic needs at least "
            f"{MIN_UNITS}",
            allowed=", ".join(
                lv for lv in bset.levels if len(bset.level_positions(lv)) >= MIN_UNITS
            ),
        )
    units = bset.units.iloc[positions]
    frame = gpd.GeoDataFrame(geometry=units.geometry.to_numpy(), crs=4326)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # islands and disconnected parts are expected here
        w = Queen.from_dataframe(frame, use_index=False, silence_warnings=True)
    islands = np.zeros(len(positions), dtype=bool)
    islands[list(w.islands)] = True
    return LevelWeights(
        level=level,
        positions=positions,
        codes=units["code"].to_numpy(dtype=object),
        names=units["name"].to_numpy(dtype=object),
        w=w,
        islands=islands,
    )


class WeightsCache:
    """Weights per (boundary version id, level), built once each and kept for a few versions.

    A version's polygons never change (a change is a new version), so its weights never go
    stale; only the least recently used are dropped.
    """

    def __init__(self, size: int = 8) -> None:
        self._size = size
        self._items: OrderedDict[tuple[int, str], LevelWeights] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[tuple[int, str], threading.Lock] = {}

    def get(self, version_id: int, bset: BoundarySet, level: str) -> LevelWeights:
        key = (version_id, level)
        bset.depth_of(level)  # an unknown level is the caller's error, said here
        with self._lock:
            hit = self._items.get(key)
            if hit is not None:
                self._items.move_to_end(key)
                return hit
            building = self._building.setdefault(key, threading.Lock())
        with building:  # one build per key at a time; the others wait for it
            with self._lock:
                hit = self._items.get(key)
            if hit is not None:
                return hit
            weights = queen_weights(bset, level)
            with self._lock:
                self._items[key] = weights
                while len(self._items) > self._size:
                    self._items.popitem(last=False)
            return weights

    def __contains__(self, key: tuple[int, str]) -> bool:
        return key in self._items
