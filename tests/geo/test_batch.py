"""Batch assignment of a table: every row kept, bad rows with their reason."""

from __future__ import annotations

import pandas as pd
import pytest

from geo.assign import BoundaryIndex
from geo.batch import assign_table
from geo.units import BoundarySet
from tests.conftest import tiny_layers


@pytest.fixture(scope="module")
def index() -> BoundaryIndex:
    return BoundaryIndex(BoundarySet.from_levels(tiny_layers()))


@pytest.mark.parametrize(
    ("x", "y", "crs", "status", "reason"),
    [
        ("117.2025", "39.1025", "wgs84", "assigned", ""),  # inside micro-grid M1
        ("117.2065", "39.1075", "wgs84", "gap", "in no microgrid"),  # the hole in M3
        ("", "39.1", "wgs84", "invalid", "not a finite number"),  # empty cell
        ("117.2", "95", "wgs84", "invalid", "outside [-90, 90]"),  # out of range
        ("abc", "39.1", "gcj02", "invalid", "not a finite number"),  # not a number
        ("1e12", "1e12", "EPSG:3435", "invalid", "globe"),  # off the projection: kept
        ("1160000", "1900000", "EPSG:3435", "unassigned", "outside the boundary set"),  # Chicago
    ],
)
def test_each_row_gets_a_status_and_a_reason(index, x, y, crs, status, reason):
    rows = pd.DataFrame({"id": ["a", "b"], "lon": [x, "117.2025"], "lat": [y, "39.1025"]})
    out = assign_table(index, rows, crs="wgs84" if crs == "wgs84" else crs)
    assert out["id"].tolist() == ["a", "b"]  # every row, in order
    assert out["status"].iloc[0] == status
    assert reason in (out["reason"].iloc[0] or "")


def test_missing_columns_are_named(index):
    with pytest.raises(KeyError, match="x"):
        assign_table(index, pd.DataFrame({"x": [1]}), lon_column="x", lat_column="y")


def test_every_reason_names_the_line_of_the_file(index):
    rows = pd.DataFrame(
        {
            "lon": ["117.2025", "117.2065", "oops", "117.3", "117.2025"],
            "lat": ["39.1025", "39.1075", "39.1", "39.3", "39.1025"],
        }
    )
    # a quoted value over two lines moves the later rows down; the last row had a field too many
    lines = [2, 3, 5, 6, 9]
    refused = ["", "", "", "", "has 4 field(s); the header has 3"]
    out = assign_table(index, rows, lines=lines, refused=refused)
    assert out["status"].tolist() == ["assigned", "gap", "invalid", "unassigned", "invalid"]
    reasons = out["reason"].tolist()
    assert reasons[0] == ""  # assigned: nothing to say
    assert reasons[1] == "line 3: inside grid G1 but in no microgrid"
    assert reasons[2] == "line 5: lon is not a finite number"
    assert reasons[3].startswith("line 6: outside the boundary set")
    # refused as read, although its coordinates are fine
    assert reasons[4] == "line 9: has 4 field(s); the header has 3"
    assert pd.isna(out["microgrid_code"].iloc[4])


def test_an_empty_table_gives_the_columns(index):
    out = assign_table(index, pd.DataFrame({"lon": [], "lat": []}, dtype=object), lines=[])
    assert len(out) == 0
    assert {"district_code", "microgrid_name", "status", "reason"} <= set(out.columns)
