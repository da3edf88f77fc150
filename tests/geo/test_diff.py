"""geo.diff.compare_boundary_sets and the roster views of sets and indexes (with_leaders)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from geo.assign import BoundaryIndex
from geo.diff import DIFF_COLUMNS, compare_boundary_sets
from geo.units import BoundarySet
from tests.conftest import tiny_layers

WEST = shapely.box(117.20, 39.10, 117.21, 39.11)
EAST = shapely.box(117.21, 39.10, 117.22, 39.11)


def one_level(*units: tuple[str, str, str, shapely.Geometry]) -> BoundarySet:
    return BoundarySet.from_levels(
        [
            (
                "grid",
                gpd.GeoDataFrame(
                    {
                        "code": [u[0] for u in units],
                        "name": [u[1] for u in units],
                        "parent": [u[2] for u in units],
                    },
                    geometry=[u[3] for u in units],
                    crs=4326,
                ),
            )
        ]
    )


OLD = one_level(("A", "a", "", WEST), ("B", "b", "", EAST))


@pytest.mark.parametrize(
    ("new", "expected"),
    [
        # the same units: nothing to say
        (one_level(("A", "a", "", WEST), ("B", "b", "", EAST)), {}),
        # the same polygon drawn from another vertex, the other way round: still the same
        (
            one_level(
                ("A", "a", "", shapely.Polygon(list(WEST.exterior.coords)[::-1][1:])),
                ("B", "b", "", EAST),
            ),
            {},
        ),
        # a new name only
        (one_level(("A", "a2", "", WEST), ("B", "b", "", EAST)), {"A": {"renamed"}}),
        # another parent code only
        (one_level(("A", "a", "X", WEST), ("B", "b", "", EAST)), {"A": {"reparented"}}),
        # B gone, C new (in B's place: a code is an identity, not a place)
        (one_level(("A", "a", "", WEST), ("C", "c", "", EAST)), {"B": {"removed"}, "C": {"added"}}),
        # A shrinks by a quarter, B grows into it: both reshaped
        (
            one_level(
                ("A", "a", "", shapely.box(117.20, 39.10, 117.2075, 39.11)),
                ("B", "b", "", shapely.box(117.2075, 39.10, 117.22, 39.11)),
            ),
            {"A": {"reshaped"}, "B": {"reshaped"}},
        ),
    ],
    ids=["same", "redrawn-same", "renamed", "reparented", "replaced", "border-moved"],
)
def test_changes_are_named_per_unit(new, expected):
    changes = compare_boundary_sets(OLD, new)
    assert list(changes.columns) == list(DIFF_COLUMNS)
    flags = ("added", "removed", "renamed", "reparented", "reshaped")
    got = {row.code: {f for f in flags if getattr(row, f)} for row in changes.itertuples()}
    assert got == expected


def test_areas_are_metric_and_consistent():
    new = one_level(
        ("A", "a", "", shapely.box(117.20, 39.10, 117.2075, 39.11)),
        ("B", "b", "", shapely.box(117.2075, 39.10, 117.22, 39.11)),
    )
    changes = compare_boundary_sets(OLD, new).set_index("code")
    # the border moved 0.0025 degrees west: about 216 m x 1,111 m changed hands
    moved = 216 * 1111
    assert changes.at["A", "area_change_m2"] == pytest.approx(-moved, rel=0.02)
    assert changes.at["B", "area_change_m2"] == pytest.approx(moved, rel=0.02)
    assert changes.at["A", "changed_area_m2"] == pytest.approx(moved, rel=0.02)
    assert changes.at["A", "area_before_m2"] == pytest.approx(changes.at["B", "area_before_m2"])
    added_removed = compare_boundary_sets(OLD, one_level(("A", "a", "", WEST))).set_index("code")
    assert np.isnan(added_removed.at["B", "area_after_m2"])
    assert added_removed.at["B", "area_before_m2"] > 0


def test_with_leaders_replaces_the_leaders_and_keeps_the_rest():
    bset = BoundarySet.from_levels(tiny_layers())
    index = BoundaryIndex(bset)
    roster = pd.DataFrame(
        {
            "code": ["M3", "NOT-A-UNIT"],
            "leader_name": ["陈静", "nobody"],
            "leader_phone": ["139-0000-0000", None],
            "leader_id": ["p-3", None],
        }
    )
    led = index.with_leaders(roster)
    # M3 has a leader now; everyone else has none (the roster is the whole truth)
    m3 = led.describe(led.assign([117.2025], [39.1075]), 0)["leader"]
    assert (m3["name"], m3["id"], m3["unit_code"]) == ("陈静", "p-3", "M3")
    assert led.describe(led.assign([117.2025], [39.1025]), 0)["leader"] is None
    # the original answers as before, and the trees are shared, not rebuilt
    assert index.describe(index.assign([117.2025], [39.1025]), 0)["leader"]["name"] == "王芳"
    assert led._trees is index._trees
    assert led.bset.units.geometry.values is not None
    assert (led.bset.chains == bset.chains).all()
