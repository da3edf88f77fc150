"""Permutation p-values of Gi*, as esda's conditional randomisation computes them, in a
compiled loop that stays linear in the units.

esda (``esda.crand``) draws one table of neighbour ids (``vec_permutations``: for each
permutation, ``max_card`` ids from the ``n - 1`` other units, without replacement) and, for
each unit, reads its neighbours' values from a copy of all values without the unit's own:
``n`` copies of ``n`` values, minutes over a city's 150,000 micro-grids. Here the same table
is used and the copy is skipped (id ``j`` of the others is unit ``j + (j >= i)``), so the
draws, the statistics and the p-values are esda's (``tests/api/analytics/test_lattice.py``
compares them), in a fraction of a second.

The loop is compiled with numba and cached on disk when ``api/analytics/__pycache__`` (or
``NUMBA_CACHE_DIR``) is writable: a simple function of arrays, compiled once.
"""

from __future__ import annotations

import numpy as np
from numba import njit
from numpy.typing import NDArray

from api.analytics.weights import LevelWeights
from geo.imports import numba_can_cache


@njit(cache=numba_can_cache(__file__), nogil=True)
def _larger(
    y: NDArray[np.float64],
    indptr: NDArray[np.int64],
    weights: NDArray[np.float64],
    self_weights: NDArray[np.float64],
    observed: NDArray[np.float64],
    ids: NDArray[np.int64],
    scaling: float,
) -> NDArray[np.int64]:
    """For each unit, the permutations whose statistic is at least the observed one."""
    n = len(y)
    permutations = ids.shape[0]
    larger = np.zeros(n, dtype=np.int64)
    for i in range(n):
        start = indptr[i]
        k = indptr[i + 1] - start
        own = self_weights[i] * y[i]
        count = 0
        for p in range(permutations):
            total = 0.0
            for j in range(k):
                other = ids[p, j]
                if other >= i:
                    other += 1
                total += y[other] * weights[start + j]
            if (total + own) / scaling >= observed[i]:
                count += 1
        larger[i] = count
    return larger


def gi_star_p_sim(
    y: NDArray[np.float64],
    weights: LevelWeights,
    self_weights: NDArray[np.float64],
    observed: NDArray[np.float64],
    *,
    permutations: int,
    seed: int,
) -> NDArray[np.float64]:
    """esda's ``p_sim`` of Gi* (``G_Local(..., star=True, permutations=...)``): the folded
    ("directed") pseudo p-value of each unit.

    ``weights``: the level's (their binary weights without the units themselves, and esda's
    draws); ``self_weights``: each unit's own weight (1 for binary Gi*); ``observed``: esda's
    ``Gs``.
    """
    csr = weights.others
    indptr = np.asarray(csr.indptr, dtype=np.int64)
    ids = weights.draws(permutations, seed)
    # esda reads the neighbours of a row in their stored order against the same columns of ids
    larger = _larger(
        np.asarray(y, dtype=np.float64),
        indptr,
        np.asarray(csr.data, dtype=np.float64),
        np.asarray(self_weights, dtype=np.float64),
        np.asarray(observed, dtype=np.float64),
        ids,
        float(np.sum(y)),
    )
    low = (permutations - larger) < larger
    larger = np.where(low, permutations - larger, larger)
    return np.asarray((larger + 1.0) / (permutations + 1.0), dtype=np.float64)
