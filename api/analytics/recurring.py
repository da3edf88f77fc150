"""Recurring places: where the same problem keeps being reported (scikit-learn DBSCAN in
metres, in the boundary set's projected CRS, per category).

A place is a DBSCAN cluster of at least ``min_reports`` reports of one category, each within
``radius_m`` of another of the place. ``recurs_after_closure`` counts the reports made after
an earlier report of the place was resolved or closed: the fix did not hold.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import numpy as np
import pandas as pd
import pyproj

RADIUS_RANGE = (5.0, 500.0)
MIN_REPORTS_RANGE = (2, 1000)
DAYS_RANGE = (1, 730)


def find_places(
    reports: pd.DataFrame, metric_crs: pyproj.CRS, *, radius_m: float, min_reports: int
) -> list[dict[str, Any]]:
    """Recurring places in ``reports`` (columns: category, lon, lat, created_at, done_at,
    open, unit_code; lon/lat in WGS84), most reports first."""
    if reports.empty:
        return []
    from sklearn.cluster import DBSCAN

    forward = pyproj.Transformer.from_crs(4326, metric_crs, always_xy=True)
    back = pyproj.Transformer.from_crs(metric_crs, 4326, always_xy=True)
    x, y = forward.transform(reports["lon"].to_numpy(), reports["lat"].to_numpy())
    frame = reports.assign(x=x, y=y)
    places: list[dict[str, Any]] = []
    for category, group in frame.groupby("category", sort=True):
        if len(group) < min_reports:
            continue
        labels = DBSCAN(eps=radius_m, min_samples=min_reports).fit_predict(
            group[["x", "y"]].to_numpy()
        )
        for label in np.unique(labels[labels >= 0]):
            members = group[labels == label].sort_values("created_at")
            places.append(_place(str(category), members, back))
    places.sort(key=lambda p: (-p["count"], p["category"], p["first"]))
    return places


def _place(category: str, members: pd.DataFrame, back: pyproj.Transformer) -> dict[str, Any]:
    lon, lat = back.transform(members["x"].mean(), members["y"].mean())
    created = members["created_at"].tolist()
    done = members["done_at"].tolist()
    # reports made after an earlier report of the place was resolved or closed
    after = 0
    earliest_done: datetime | None = None
    for made, finished in zip(created, done, strict=True):
        if earliest_done is not None and made > earliest_done:
            after += 1
        if finished is not None and not pd.isna(finished):
            earliest_done = finished if earliest_done is None else min(earliest_done, finished)
    hours = [
        (f - c).total_seconds() / 3600
        for c, f in zip(created, done, strict=True)
        if f is not None and not pd.isna(f)
    ]
    return {
        "category": category,
        "lon": round(float(lon), 6),
        "lat": round(float(lat), 6),
        "count": len(members),
        "first": created[0],
        "last": created[-1],
        "units": sorted({str(u) for u in members["unit_code"] if u}),
        "open": int(members["open"].sum()),
        "median_hours_to_resolve": round(float(np.median(hours)), 2) if hours else None,
        "recurs_after_closure": after,
    }
