"""Emerging hot spots: the trend class of each unit over weekly windows, after ArcGIS Pro's
Emerging Hot Spot Analysis.

Each week gets its own Gi* (esda ``G_Local``, ``star=True``); a unit is a significant hot
(cold) spot in a week when its two-sided normal p-value passes the FDR correction over the
units at 90% confidence (as ArcGIS does per time step). The trend of each unit's weekly Gi*
z-scores is the Mann-Kendall test of ``pymannkendall.original_test`` at alpha 0.05.

The patterns (the cold ones mirror the hot ones, with hot and cold swapped):

- ``new``: hot in the final week and never before.
- ``consecutive``: an unbroken run of two or more hot weeks up to the final one, never hot
  before the run, hot in fewer than 90% of the weeks.
- ``intensifying``: hot in at least 90% of the weeks including the final one, the z-scores
  rising significantly.
- ``persistent``: hot in at least 90% of the weeks including the final one, no significant
  trend.
- ``diminishing``: hot in at least 90% of the weeks including the final one, the z-scores
  falling significantly.
- ``sporadic``: hot in the final week, on and off before, hot in fewer than 90% of the weeks,
  never a cold spot.
- ``oscillating``: hot in the final week, a cold spot in some earlier week, hot in fewer than
  90% of the weeks.
- ``historical``: not hot in the final week, but hot in at least 90% of the weeks.
- ``no_pattern``: none of the above.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray
from scipy.special import ndtr

from api.analytics.weights import LevelWeights

PATTERNS = (
    "new",
    "consecutive",
    "intensifying",
    "persistent",
    "diminishing",
    "sporadic",
    "oscillating",
    "historical",
    "no_pattern",
)
#: Share of the weeks a unit must be significant in for the "mostly" patterns.
MOSTLY = 0.9
WEEKS_RANGE = (4, 52)
TREND_ALPHA = 0.05
BIN_ALPHA = 0.10


@dataclass(frozen=True)
class Trend:
    """One unit's weekly picture and its pattern."""

    pattern: str
    spot: str | None  # "hot", "cold" or None (no pattern)
    trend: str  # "increasing", "decreasing" or "no trend" (Mann-Kendall on the z-scores)
    trend_p: float
    tau: float
    hot_weeks: int
    cold_weeks: int


def weekly_z(counts: NDArray[np.float64], weights: LevelWeights) -> NDArray[np.float64]:
    """Gi* z-scores of each week (rows) and unit (columns); 0 in a week without cases."""
    from api.analytics.compiled import G_Local

    z = np.zeros(counts.shape, dtype=np.float64)
    for week, row in enumerate(counts):
        if row.sum() == 0 or np.all(row == row[0]):
            continue
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            g = G_Local(
                row.astype(np.float64),
                weights.star,
                transform="B",
                star=True,
                permutations=0,
                keep_simulations=False,
            )
        z[week] = np.nan_to_num(np.asarray(g.Zs, dtype=np.float64))
    z[:, weights.islands] = 0.0
    return z


def significant(z: NDArray[np.float64]) -> tuple[NDArray[np.bool_], NDArray[np.bool_]]:
    """Hot and cold weeks of each unit: two-sided normal p-values, FDR at 90% per week."""
    from api.analytics.compiled import fdr

    p = 2 * ndtr(-np.abs(z))
    hot = np.zeros(z.shape, dtype=bool)
    cold = np.zeros(z.shape, dtype=bool)
    for week in range(z.shape[0]):
        if not np.any(z[week]):
            continue
        threshold = fdr(p[week], BIN_ALPHA)
        sig = p[week] <= threshold
        hot[week] = sig & (z[week] > 0)
        cold[week] = sig & (z[week] < 0)
    return hot, cold


def pattern_of(on: NDArray[np.bool_], other: NDArray[np.bool_], trend: str) -> str | None:
    """The pattern of a series of significant weeks ``on`` (hot, or cold), ``other`` the
    opposite kind, ``trend`` the Mann-Kendall trend in the direction of ``on``."""
    weeks = len(on)
    share = on.sum() / weeks
    if on[-1]:
        if not on[:-1].any():
            return "new"
        run = weeks - int(np.flatnonzero(~on)[-1]) - 1 if (~on).any() else weeks
        if share >= MOSTLY:
            if trend == "rising":
                return "intensifying"
            if trend == "falling":
                return "diminishing"
            return "persistent"
        if run >= 2 and not on[: weeks - run].any():
            return "consecutive"
        if other[:-1].any():
            return "oscillating"
        return "sporadic"
    if share >= MOSTLY:
        return "historical"
    return None


def classify_trends(z: NDArray[np.float64]) -> list[Trend]:
    """The pattern of every unit (columns of ``z``, weeks in rows, oldest first)."""
    import pymannkendall as mk

    hot, cold = significant(z)
    trends = []
    for unit in range(z.shape[1]):
        series = z[:, unit]
        if np.ptp(series) == 0:
            direction, p_value, tau = "no trend", 1.0, 0.0
        else:
            result = mk.original_test(series, alpha=TREND_ALPHA)
            direction, p_value, tau = result.trend, float(result.p), float(result.Tau)
        up = {"increasing": "rising", "decreasing": "falling"}.get(direction, "")
        down = {"increasing": "falling", "decreasing": "rising"}.get(direction, "")
        spot: str | None = None
        pattern = None
        if hot[-1, unit] or not cold[-1, unit]:
            pattern = pattern_of(hot[:, unit], cold[:, unit], up)
            spot = "hot" if pattern else None
        if pattern is None:
            pattern = pattern_of(cold[:, unit], hot[:, unit], down)
            spot = "cold" if pattern else None
        trends.append(
            Trend(
                pattern=pattern or "no_pattern",
                spot=spot,
                trend=direction,
                trend_p=round(p_value, 6),
                tau=round(tau, 4),
                hot_weeks=int(hot[:, unit].sum()),
                cold_weeks=int(cold[:, unit].sum()),
            )
        )
    return trends
