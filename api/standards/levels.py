"""The levels of the active boundaries, indexed once per boundary version for the standards.

OGC API items (bbox) and vector tiles both ask "which units of this level lie in this box";
each level gets its own STRtree on first use, kept with the index it was built from. The
cache is keyed by the :class:`~geo.assign.BoundaryIndex` object (weakly: an index swapped out
takes its levels with it) and named by :func:`version_key`.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from geo.assign import BoundaryIndex
from geo.units import BoundarySet


def version_key(index: BoundaryIndex) -> str:
    """The name of the boundary version an index answers with, for caches and ETags.

    Until boundary versions are stored, the loaded index is the version: its set's name and
    the object's identity (a reload is a new version). Switch to the version id then.
    """
    return f"{index.bset.name}@{id(index):x}"


@dataclass(eq=False)
class Level:
    """One level's units: their positions in the set, geometries and a tree over them."""

    name: str
    depth: int
    positions: NDArray[np.intp]
    geometries: NDArray[np.object_]

    @cached_property
    def tree(self) -> shapely.STRtree:
        return shapely.STRtree(self.geometries)

    @cached_property
    def bounds(self) -> tuple[float, float, float, float]:
        minx, miny, maxx, maxy = shapely.total_bounds(self.geometries)
        return float(minx), float(miny), float(maxx), float(maxy)

    def in_bbox(self, bbox: tuple[float, float, float, float]) -> NDArray[np.intp]:
        """Indices (into this level, in set order) of the units that intersect the box."""
        found = self.tree.query(shapely.box(*bbox), predicate="intersects")
        return np.sort(found.astype(np.intp))


@dataclass(eq=False)
class Levels:
    """Every level of one boundary version, each indexed on first use."""

    bset: BoundarySet
    version: str
    _built: dict[str, Level] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    #: Things other modules keep per version (the tile cache), by name.
    extras: dict[str, Any] = field(default_factory=dict)

    def level(self, name: str) -> Level:
        """A level by name (UnknownLevel names the levels)."""
        depth = self.bset.depth_of(name)
        with self._lock:
            found = self._built.get(name)
            if found is None:
                positions = self.bset.level_positions(depth)
                geometries = self.bset.units.geometry.to_numpy()[positions]
                found = Level(name, depth, positions, geometries)
                found.tree  # noqa: B018 - build it once, under the lock
                self._built[name] = found
        return found


_CACHE: weakref.WeakKeyDictionary[BoundaryIndex, Levels] = weakref.WeakKeyDictionary()
_CACHE_LOCK = threading.Lock()


def levels_of(index: BoundaryIndex) -> Levels:
    """The indexed levels of this boundary index (built once per index)."""
    with _CACHE_LOCK:
        found = _CACHE.get(index)
        if found is None:
            found = Levels(index.bset, version_key(index))
            _CACHE[index] = found
    return found
