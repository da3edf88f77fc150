"""Hot and cold spots: Getis-Ord Gi* (esda ``G_Local``, ``star=True``) with permutation
p-values, classed after a false-discovery-rate correction over all units (esda ``fdr``,
Benjamini-Hochberg).

Weights are binary with the unit itself included (the classic Gi*, as ArcGIS computes it), so
``z`` is the Getis-Ord z-score. A unit is hot at 99% when its z-score is positive and both

- the two-sided normal p-value of ``z`` passes the FDR correction over all units at alpha 0.01
  (ArcGIS's Hot Spot Analysis with FDR), and
- its permutation p-value ``p`` (esda's conditional permutations: the unit's own count held,
  its neighbours drawn from the rest) is at most 0.01,

cold when negative; else the same at 95% (0.05), then 90% (0.10); else not significant. The
FDR runs on the normal p-values because the permutation ones cannot go below
1 / (permutations + 1), which over a thousand units no correction lets through; the
permutation test guards against a z-score that rests on a skewed count distribution alone.
Islands (units without neighbours) are never classed.

Counts tie a lot (many units have none or one case); ties are broken by a jitter far below one
case (seeded), as the rank p-value would otherwise put every unit of a quiet area at its
smallest value.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr

from api.analytics.weights import LevelWeights

#: The classes, strongest first; each hot class has its cold mirror.
CLASSES = ("hot_99", "hot_95", "hot_90", "cold_99", "cold_95", "cold_90", "not_significant")
#: Confidence (percent) and the FDR alpha that goes with it.
CONFIDENCES = ((99, 0.01), (95, 0.05), (90, 0.10))
PERMUTATIONS_RANGE = (99, 9999)
#: Ties between counts are broken by a jitter below this (a case is 1).
TIE_BREAK = 1e-6


@dataclass(frozen=True)
class GiStar:
    """Gi* of every unit of a level: z-scores, permutation p-values and classes."""

    z: NDArray[np.float64]
    p: NDArray[np.float64]
    classes: NDArray[np.object_]
    thresholds: dict[int, float]


def gi_star(
    counts: NDArray[np.float64],
    weights: LevelWeights,
    *,
    permutations: int = 999,
    seed: int | None = 12345,
) -> GiStar:
    """Gi* of ``counts`` (one value per unit, in the weights' order) with its classes.

    >>> import numpy as np
    >>> from api.analytics.compiled import libpysal
    >>> from api.analytics.weights import LevelWeights
    >>> w = libpysal.weights.lat2W(5, 5)
    >>> lw = LevelWeights("cell", np.arange(25), np.arange(25).astype(object),
    ...                   np.arange(25).astype(object), w, np.zeros(25, bool))
    >>> counts = np.ones(25); counts[[0, 1, 2, 5, 6, 7, 10, 11, 12]] = 20
    >>> result = gi_star(counts, lw, permutations=999)
    >>> str(result.classes[0]).startswith("hot")
    True
    """
    from api.analytics.compiled import G_Local
    from api.analytics.permutations import gi_star_p_sim

    y = np.asarray(counts, dtype=np.float64)
    jitter = np.random.default_rng(seed).uniform(0.0, TIE_BREAK, len(y))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # esda warns about islands
        g = G_Local(y + jitter, weights.star, transform="B", star=True, permutations=0)
    z = np.asarray(g.Zs, dtype=np.float64)
    # esda's own conditional permutations (its draws, its p_sim), without its copy of every
    # value for every unit (see api.analytics.permutations)
    p = gi_star_p_sim(
        y + jitter,
        weights,
        np.ones(len(y)),
        np.asarray(g.Gs, dtype=np.float64),
        permutations=permutations,
        seed=12345 if seed is None else seed,
    )
    usable = np.isfinite(z) & np.isfinite(p) & ~weights.islands
    z = np.where(usable, z, np.nan)
    p = np.where(usable, p, np.nan)
    return GiStar(z, p, *classify(z, p))


def classify(
    z: NDArray[np.float64], p: NDArray[np.float64]
) -> tuple[NDArray[np.object_], dict[int, float]]:
    """The class of each unit: FDR over the normal p-values of ``z``, confirmed by the
    permutation p-values ``p``; also the FDR threshold of each confidence."""
    from api.analytics.compiled import fdr

    classes = np.full(len(z), "not_significant", dtype=object)
    usable = np.isfinite(p) & np.isfinite(z)
    thresholds: dict[int, float] = {}
    if not usable.any():
        return classes, thresholds
    p_norm = np.where(usable, 2 * ndtr(-np.abs(np.nan_to_num(z))), 1.0)
    p_perm = np.nan_to_num(p, nan=1.0)
    # weakest first, so that a stronger class overwrites a weaker one
    for confidence, alpha in reversed(CONFIDENCES):
        threshold = float(fdr(p_norm[usable], alpha))
        thresholds[confidence] = threshold
        significant = usable & (p_norm <= threshold) & (p_perm <= alpha)
        classes[significant & (z > 0)] = f"hot_{confidence}"
        classes[significant & (z < 0)] = f"cold_{confidence}"
    return classes, thresholds
