"""Queen contiguity weights of a level's unit polygons (libpysal), cached per boundary version.

Units that share a vertex are neighbours (so those sharing an edge too): libpysal's
``Queen.from_dataframe`` rule, whose vertex sets are found here with shapely and pandas over
all units at once (libpysal walks them in Python: a minute over 150,000 micro-grids), the
answer a libpysal ``W`` with the same neighbours (``tests/api/analytics/test_lattice.py``).
Islands (a unit touching no other, e.g. a campus grid drawn apart) keep no neighbours; the
statistics treat them as their own neighbourhood only and never class them (see
:mod:`api.analytics.hotspots`).
"""

from __future__ import annotations

import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray

from api.analytics.errors import TooFewUnits
from geo.units import BoundarySet

if TYPE_CHECKING:
    from libpysal.graph import Graph
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

    @cached_property
    def star(self) -> Graph:
        """The weights with each unit its own neighbour (weight 1): binary Gi*'s, built once
        (esda would add the diagonal again on every call), as a libpysal ``Graph`` (esda
        transforms a ``W`` in place, rebuilding its sparse matrix on every call)."""
        from api.analytics.compiled import Graph

        others = self.others.tocoo()
        n = self.n
        focal = np.concatenate([np.arange(n), others.row])
        neighbor = np.concatenate([np.arange(n), others.col])
        order = np.lexsort((neighbor, focal))
        return Graph.from_arrays(focal[order], neighbor[order], np.ones(len(order)), is_sorted=True)

    def draws(self, permutations: int, seed: int) -> NDArray[np.int64]:
        """esda's table of conditional permutation ids for these units (its
        ``vec_permutations``), drawn once per number of permutations and seed."""
        from api.analytics.compiled import vec_permutations

        key = (permutations, seed)
        table = self._draws.get(key)
        if table is None:
            max_card = max(int(np.diff(self.others.indptr).max()) if self.n else 0, 1)
            table = np.asarray(vec_permutations(max_card, self.n, permutations, seed), np.int64)
            self._draws[key] = table
        return table

    @cached_property
    def _draws(self) -> dict[tuple[int, int], NDArray[np.int64]]:
        return {}

    @cached_property
    def others(self) -> Any:
        """The binary weights without the units themselves (CSR, rows in ``w``'s order)."""
        csr = self.w.sparse.tocsr()
        csr.sort_indices()
        return csr


def queen_weights(bset: BoundarySet, level: str) -> LevelWeights:
    """Build the queen weights of a level's units (vertex-sharing polygons are neighbours)."""
    from api.analytics.compiled import W

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
    neighbors = shared_vertices(units.geometry.to_numpy())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # islands and disconnected parts are expected here
        w = W(neighbors, id_order=list(range(len(positions))), silence_warnings=True)
    islands = np.zeros(len(positions), dtype=bool)
    islands[list(w.islands)] = True
    weights = LevelWeights(
        level=level,
        positions=positions,
        codes=units["code"].to_numpy(dtype=object),
        names=units["name"].to_numpy(dtype=object),
        w=w,
        islands=islands,
    )
    weights.star, weights.others  # noqa: B018 -- built here, once, with the rest
    return weights


def shared_vertices(geoms: NDArray[np.object_]) -> dict[int, list[int]]:
    """The units (positions in ``geoms``) that share a vertex with each unit, as
    ``Queen.from_dataframe`` finds them (exact coordinates, the unit itself left out)."""
    xy, owner = shapely.get_coordinates(geoms, return_index=True)
    n = len(geoms)
    # one id per distinct vertex: the exact pair of coordinates, as libpysal keys them
    xs = pd.factorize(xy[:, 0])[0].astype(np.int64)
    ys, y_values = pd.factorize(xy[:, 1])
    vertex = pd.factorize(xs * (len(y_values) + 1) + ys)[0].astype(np.int64)
    at = np.unique(vertex * n + owner)  # each (vertex, unit) once, by vertex
    v, u = at // n, at % n
    # every two units at the same vertex (a vertex joins a handful of units at most)
    found = []
    for step in range(1, len(v)):
        same = np.flatnonzero(v[step:] == v[:-step])
        if not len(same):
            break
        found += [u[same] * n + u[same + step], u[same + step] * n + u[same]]
    keys = np.unique(np.concatenate(found)) if found else np.zeros(0, dtype=np.int64)
    heads, tails = keys // n, keys % n
    neighbors: dict[int, list[int]] = {i: [] for i in range(len(geoms))}
    cuts = np.flatnonzero(np.diff(heads)) + 1
    for group in np.split(np.arange(len(heads)), cuts):
        if len(group):
            neighbors[int(heads[group[0]])] = tails[group].tolist()
    return neighbors


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
