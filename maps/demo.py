"""Seeded synthetic cases inside micro-grids, for demos, tests and benchmarks of the maps.

Nothing here is real: cases cluster around a few random hot spots (each with a typical
category, as parking clusters round a market and noise round a night street), over a
background spread by area; older cases are more often closed; due times follow a per-category
service time. The categories and the statuses are the caller's (:class:`DemoCategory`,
:class:`DemoLifecycle`): the service's catalogue and lifecycle, or a test's own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

#: Hours an open case spends in each step of :attr:`DemoLifecycle.steps`.
STEP_HOURS = 6.0


@dataclass(frozen=True)
class DemoCategory:
    """A category of synthetic cases.

    Attributes
    ----------
    code : str
        Written in the cases' ``category`` column.
    sla_hours : float
        Hours to handle a case: its ``due_at`` is that long after ``created_at``.
    share : float
        Its weight among the categories (they need not add up to 1).
    """

    code: str
    sla_hours: float
    share: float = 1.0


@dataclass(frozen=True)
class DemoLifecycle:
    """How synthetic cases move through the caller's statuses.

    Attributes
    ----------
    steps : sequence of str
        Open statuses in the order a new case goes through them, one every
        :data:`STEP_HOURS` hours, staying in the last.
    done : sequence of (str, float)
        Statuses of finished cases, each with its share of them.
    late : str, optional
        Open status of about a fifth of the open cases past their due time (e.g. escalated);
        None leaves them in their step.
    """

    steps: Sequence[str]
    done: Sequence[tuple[str, float]]
    late: str | None = None


def synthetic_cases(
    microgrids: gpd.GeoDataFrame,
    n: int,
    *,
    categories: Sequence[DemoCategory],
    lifecycle: DemoLifecycle,
    seed: int = 7,
    now: datetime = datetime(2024, 6, 1, 9, 0),
    days: float = 30.0,
    hot_spots: int = 12,
) -> gpd.GeoDataFrame:
    """``n`` cases at random points inside the micro-grids, in the columns maps expect.

    Parameters
    ----------
    microgrids : geopandas.GeoDataFrame
        Polygons in EPSG:4326 with ``code`` and ``leader_name``.
    n : int
        Number of cases.
    categories : sequence of DemoCategory
        What the cases are about, with their service times and shares.
    lifecycle : DemoLifecycle
        The statuses the cases are in.
    seed : int
        Same seed, same cases.
    now : datetime
        Cases are reported in the ``days`` before it; ``overdue`` is judged at it.
    days : float
        How far back cases go.
    hot_spots : int
        Number of hot spots; about 60% of cases fall near one.

    Returns
    -------
    geopandas.GeoDataFrame
        Points in EPSG:4326 with ``id``, ``category``, ``status``, ``created_at``, ``due_at``,
        ``overdue``, ``unit_code``, ``leader_name`` and ``case_unit`` (= ``unit_code``).

    Example
    -------
    >>> grid = gpd.GeoDataFrame({"code": ["M1"], "leader_name": ["王芳"]},
    ...                         geometry=[shapely.box(117.2, 39.1, 117.21, 39.11)], crs=4326)
    >>> lifecycle = DemoLifecycle(steps=["new", "working"], done=[("closed", 1.0)])
    >>> cases = synthetic_cases(grid, 100, seed=1, lifecycle=lifecycle,
    ...                         categories=[DemoCategory("noise", 12), DemoCategory("parking", 4)])
    >>> len(cases), bool(cases.within(grid.geometry[0]).all())
    (100, True)
    >>> sorted(set(cases["status"])), sorted(set(cases["category"]))
    (['closed', 'working'], ['noise', 'parking'])
    """
    if not categories or not lifecycle.steps or not lifecycle.done:
        raise ValueError("synthetic cases need at least one category, step and done status")
    rng = np.random.default_rng(seed)
    hot_spots = min(hot_spots, len(microgrids))
    geoms = microgrids.geometry.to_numpy()
    centre = shapely.get_coordinates(shapely.centroid(geoms))
    # metres east/north of the first centroid: enough for kernel weights over a city
    kx = 111_320.0 * np.cos(np.radians(centre[:, 1].mean()))
    xy = (centre - centre[0]) * [kx, 110_574.0]
    area = shapely.area(geoms)

    shares = np.array([c.share for c in categories], dtype=float)
    shares = shares / shares.sum()
    spot_unit = rng.choice(len(geoms), size=hot_spots, replace=False)
    spot_category = rng.choice(len(categories), size=hot_spots, p=shares)
    spot_strength = rng.pareto(1.5, size=hot_spots) + 1.0
    spot_radius = rng.uniform(150.0, 600.0, size=hot_spots)

    n_hot = int(round(n * 0.6)) if hot_spots else 0
    unit = np.empty(n, dtype=np.intp)
    category = rng.choice(len(categories), size=n, p=shares)
    unit[n_hot:] = rng.choice(len(geoms), size=n - n_hot, p=area / area.sum())
    if n_hot:
        spot = rng.choice(hot_spots, size=n_hot, p=spot_strength / spot_strength.sum())
        for h in range(hot_spots):
            mine = np.flatnonzero(spot == h)
            d2 = ((xy - xy[spot_unit[h]]) ** 2).sum(axis=1)
            w = np.exp(-d2 / (2 * spot_radius[h] ** 2)) + 1e-12
            unit[mine] = rng.choice(len(geoms), size=mine.size, p=w / w.sum())
            typical = rng.random(mine.size) < 0.6
            category[mine[typical]] = spot_category[h]

    lon, lat = _points_inside(geoms, unit, rng)

    # reported in the last `days`, more by day than by night
    day = rng.uniform(0, days, n)
    hour_weights = np.array(
        [1, 1, 1, 1, 1, 2, 4, 7, 9, 9, 8, 7, 6, 7, 8, 8, 8, 7, 6, 5, 4, 3, 2, 1]
    )
    hour = rng.choice(24, size=n, p=hour_weights / hour_weights.sum())
    age_h = np.floor(day) * 24 + ((now.hour - hour) % 24) + rng.uniform(0, 1, n)
    created = pd.Timestamp(now) - pd.to_timedelta(age_h, unit="h")
    created = created.floor("min")
    service_h = np.array([c.sla_hours for c in categories], dtype=float)[category]
    due = created + pd.to_timedelta(service_h, unit="h")

    # older cases are more often done; open ones advance a step every STEP_HOURS
    closed = rng.random(n) < 1 - np.exp(-age_h / 60.0)
    done_share = np.array([share for _, share in lifecycle.done], dtype=float)
    closed_kind = rng.choice(len(lifecycle.done), size=n, p=done_share / done_share.sum())
    open_names = [str(s) for s in lifecycle.steps]
    open_kind = np.minimum((age_h / STEP_HOURS).astype(int), len(open_names) - 1)
    late = (age_h > service_h) & (rng.random(n) < 0.2)
    if lifecycle.late is not None:
        open_names.append(str(lifecycle.late))
        open_kind[late] = len(open_names) - 1
    status = np.where(
        closed,
        np.array([str(s) for s, _ in lifecycle.done], dtype=object)[closed_kind],
        np.array(open_names, dtype=object)[open_kind],
    )
    overdue = ~closed & (due < pd.Timestamp(now))

    codes = microgrids["code"].astype(str).to_numpy(dtype=object)[unit]
    leaders = microgrids["leader_name"].to_numpy(dtype=object)[unit]
    ids = np.char.add("C", np.char.zfill(np.arange(1, n + 1).astype(str), 7))
    return gpd.GeoDataFrame(
        {
            "id": ids.astype(object),
            "category": np.array([c.code for c in categories], dtype=object)[category],
            "status": status,
            "created_at": created,
            "due_at": due,
            "overdue": np.asarray(overdue, dtype=bool),
            "unit_code": codes,
            "leader_name": leaders,
            "case_unit": codes,
        },
        geometry=gpd.points_from_xy(lon, lat),
        crs=4326,
    )


def _points_inside(
    geoms: np.ndarray, unit: np.ndarray, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """A uniform random point inside geoms[unit[i]] for every i (rejection in the bounds)."""
    shapely.prepare(geoms)
    bounds = shapely.bounds(geoms)
    lon = np.empty(unit.size)
    lat = np.empty(unit.size)
    todo = np.arange(unit.size)
    for _ in range(100):
        if todo.size == 0:
            break
        b = bounds[unit[todo]]
        x = rng.uniform(b[:, 0], b[:, 2])
        y = rng.uniform(b[:, 1], b[:, 3])
        inside = shapely.intersects_xy(geoms[unit[todo]], x, y)
        lon[todo[inside]], lat[todo[inside]] = x[inside], y[inside]
        todo = todo[~inside]
    if todo.size:  # slivers: fall back to a point known to be inside
        rep = shapely.get_coordinates(shapely.point_on_surface(geoms[unit[todo]]))
        lon[todo], lat[todo] = rep[:, 0], rep[:, 1]
    return lon, lat
