"""Compare two boundary sets unit by unit: what a new version of the grid map changes.

Units are matched by code (a code is a unit's identity across versions, as in Beijing's grid
codes). A unit is

* ``added`` when its code is only in the new set, ``removed`` when only in the old one;
* ``renamed`` when its name differs, ``reparented`` when its parent code or its level differs;
* ``reshaped`` when its geometry differs (vertex order and ring start do not count), with the
  area before, after, the change, and the area that changed hands (the symmetric difference),
  all in m² in one projected CRS for both sets.

Leaders are not compared here: who leads a unit is a roster apart from the geometry.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import shapely

from geo.crs import parse_crs, transform_geometries
from geo.units import BoundarySet

#: The columns of :func:`compare_boundary_sets`' answer, in order.
DIFF_COLUMNS = (
    "code",
    "level",
    "old_name",
    "new_name",
    "old_parent",
    "new_parent",
    "added",
    "removed",
    "renamed",
    "reparented",
    "reshaped",
    "area_before_m2",
    "area_after_m2",
    "area_change_m2",
    "changed_area_m2",
)


def compare_boundary_sets(old: BoundarySet, new: BoundarySet) -> pd.DataFrame:
    """Every unit of either set that differs between them, one row per code.

    Parameters
    ----------
    old, new : BoundarySet
        The sets to compare (e.g. the active version and a draft).

    Returns
    -------
    DataFrame
        The columns of :data:`DIFF_COLUMNS`: the flags say what changed; names, parents and
        the level are None where the unit is not in that set; areas are in m², NaN where they
        do not apply (an added unit has no area before). Units that did not change are left
        out. Rows: removed units in the old set's order, then the others in the new set's.

    Example
    -------
    >>> import geopandas as gpd, shapely
    >>> def level(rows):
    ...     return [("grid", gpd.GeoDataFrame(
    ...         {"code": [r[0] for r in rows], "name": [r[1] for r in rows], "parent": ""},
    ...         geometry=[r[2] for r in rows], crs=4326))]
    >>> west = shapely.box(117.20, 39.10, 117.21, 39.11)
    >>> east = shapely.box(117.21, 39.10, 117.22, 39.11)
    >>> old = BoundarySet.from_levels(level([("A", "a", west), ("B", "b", east)]))
    >>> new = BoundarySet.from_levels(level([("A", "a2", west), ("C", "c", east)]))
    >>> compare_boundary_sets(old, new)[["code", "added", "removed", "renamed"]].values.tolist()
    [['B', False, True, False], ['A', False, False, True], ['C', True, False, False]]
    """
    old_units, new_units = old.units, new.units
    old_codes = old_units["code"].to_numpy(dtype=object)
    new_codes = new_units["code"].to_numpy(dtype=object)
    in_old = old.positions(new_codes)  # for each unit of the new set, its row in the old one
    in_new = new.positions(old_codes)
    removed = np.flatnonzero(in_new < 0)
    kept_new = np.flatnonzero(in_old >= 0)
    kept_old = in_old[kept_new]
    added = np.flatnonzero(in_old < 0)

    def column(units: pd.DataFrame, name: str, rows: np.ndarray) -> np.ndarray:
        return units[name].to_numpy(dtype=object)[rows]

    renamed = column(old_units, "name", kept_old) != column(new_units, "name", kept_new)
    reparented = (
        column(old_units, "parent", kept_old) != column(new_units, "parent", kept_new)
    ) | (column(old_units, "level", kept_old) != column(new_units, "level", kept_new))
    old_geoms = old_units.geometry.to_numpy()[kept_old]
    new_geoms = new_units.geometry.to_numpy()[kept_new]
    # normalised, two drawings of the same polygon compare equal whatever their vertex order
    reshaped = ~shapely.equals_exact(
        shapely.normalize(old_geoms), shapely.normalize(new_geoms), tolerance=1e-9
    )
    changed = renamed | reparented | reshaped

    # one metric CRS for both sets, so that areas before and after are comparable
    metric_new = new.metric_geometries
    if parse_crs(old.metric_crs) == parse_crs(new.metric_crs):
        metric_old = old.metric_geometries
    else:
        metric_old = transform_geometries(
            old_units.geometry.to_numpy(), "wgs84", parse_crs(new.metric_crs)
        )

    n_removed, n_kept, n_added = removed.size, int(changed.sum()), added.size
    kept_old, kept_new = kept_old[changed], kept_new[changed]
    before = np.concatenate(
        [
            shapely.area(metric_old[removed]),
            shapely.area(metric_old[kept_old]),
            np.full(n_added, np.nan),
        ]
    )
    after = np.concatenate(
        [
            np.full(n_removed, np.nan),
            shapely.area(metric_new[kept_new]),
            shapely.area(metric_new[added]),
        ]
    )
    moved_area = np.full(n_removed + n_kept + n_added, np.nan)
    shape_changed = reshaped[changed]
    moved_area[n_removed : n_removed + n_kept] = np.where(
        shape_changed,
        shapely.area(shapely.symmetric_difference(metric_old[kept_old], metric_new[kept_new])),
        0.0,
    )

    def stacked(removed_part: Any, kept_part: Any, added_part: Any) -> np.ndarray:
        """A column of the answer: removed units, then changed kept ones, then added ones."""
        return np.concatenate([removed_part, kept_part, added_part])

    old_text = {c: old_units[c].to_numpy(dtype=object) for c in ("level", "name", "parent")}
    new_text = {c: new_units[c].to_numpy(dtype=object) for c in ("level", "name", "parent")}
    no_removed, no_added = (
        np.full(n_removed, None, dtype=object),
        np.full(n_added, None, dtype=object),
    )
    columns: dict[str, np.ndarray] = {
        "code": stacked(old_codes[removed], new_codes[kept_new], new_codes[added]),
        "level": stacked(
            old_text["level"][removed], new_text["level"][kept_new], new_text["level"][added]
        ),
    }
    for name in ("name", "parent"):
        old_values, new_values = old_text[name], new_text[name]
        columns[f"old_{name}"] = stacked(old_values[removed], old_values[kept_old], no_added)
        columns[f"new_{name}"] = stacked(no_removed, new_values[kept_new], new_values[added])
    unflagged = (np.zeros(n_removed, dtype=bool), np.zeros(n_added, dtype=bool))
    columns["added"] = stacked(unflagged[0], np.zeros(n_kept, dtype=bool), ~unflagged[1])
    columns["removed"] = stacked(~unflagged[0], np.zeros(n_kept, dtype=bool), unflagged[1])
    for flag, values in (
        ("renamed", renamed[changed]),
        ("reparented", reparented[changed]),
        ("reshaped", shape_changed),
    ):
        columns[flag] = stacked(unflagged[0], values, unflagged[1])
    columns |= {
        "area_before_m2": before,
        "area_after_m2": after,
        "area_change_m2": after - before,
        "changed_area_m2": moved_area,
    }
    frame = pd.DataFrame(columns, columns=list(DIFF_COLUMNS))
    return frame
