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
