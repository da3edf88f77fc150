"""Hot and cold spots: Getis-Ord Gi* (esda ``G_Local``, ``star=True``) with permutation
p-values, classed after a false-discovery-rate correction over all units (esda ``fdr``,
Benjamini-Hochberg).

A unit is hot at 99% when its p-value is at or below the FDR threshold for alpha 0.01 and its
z-score is positive (cold when negative); else at 95%, then 90%; else not significant. The
smallest permutation p-value is 1 / (permutations + 1), so over n units a class at alpha needs
enough units that significant together: more permutations make rarer hot spots findable.
Islands (units without neighbours) are never classed.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from esda import G_Local, fdr
from numpy.typing import NDArray

from api.analytics.weights import LevelWeights

#: The classes, strongest first; each hot class has its cold mirror.
CLASSES = ("hot_99", "hot_95", "hot_90", "cold_99", "cold_95", "cold_90", "not_significant")
#: Confidence (percent) and the FDR alpha that goes with it.
CONFIDENCES = ((99, 0.01), (95, 0.05), (90, 0.10))
PERMUTATIONS_RANGE = (99, 9999)


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

    >>> import libpysal, numpy as np
    >>> from api.analytics.weights import LevelWeights
    >>> w = libpysal.weights.lat2W(5, 5)
    >>> lw = LevelWeights("cell", np.arange(25), np.arange(25).astype(object),
    ...                   np.arange(25).astype(object), w, np.zeros(25, bool))
    >>> counts = np.ones(25); counts[[0, 1, 5, 6]] = 20
    >>> result = gi_star(counts, lw, permutations=999)
    >>> str(result.classes[0]).startswith("hot")
    True
    """
    y = np.asarray(counts, dtype=np.float64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # esda warns about inferring the star weights
        g = G_Local(
            y,
            weights.w,
            transform="R",
            star=True,
            permutations=permutations,
            keep_simulations=False,
            n_jobs=1,
            seed=seed,
        )
    z = np.asarray(g.Zs, dtype=np.float64)
    p = np.asarray(g.p_sim, dtype=np.float64)
    usable = np.isfinite(z) & np.isfinite(p) & ~weights.islands
    z = np.where(usable, z, np.nan)
    p = np.where(usable, p, np.nan)
    return GiStar(z, p, *classify(z, p))


def classify(
    z: NDArray[np.float64], p: NDArray[np.float64]
) -> tuple[NDArray[np.object_], dict[int, float]]:
    """The class of each unit after the FDR correction over the units with a p-value."""
    classes = np.full(len(z), "not_significant", dtype=object)
    usable = np.isfinite(p)
    thresholds: dict[int, float] = {}
    if not usable.any():
        return classes, thresholds
    # weakest first, so that a stronger class overwrites a weaker one
    for confidence, alpha in reversed(CONFIDENCES):
        threshold = float(fdr(p[usable], alpha))
        thresholds[confidence] = threshold
        significant = usable & (np.nan_to_num(p, nan=1.0) <= threshold)
        classes[significant & (z > 0)] = f"hot_{confidence}"
        classes[significant & (z < 0)] = f"cold_{confidence}"
    return classes, thresholds
