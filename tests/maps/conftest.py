"""Fixtures for the map tests: the Hexi demo units (built once) and synthetic cases.

The browser is in tests/conftest.py: one Playwright instance per session serves every page
test (a second one in the same process would refuse to start).
"""

from __future__ import annotations

from datetime import datetime

import geopandas as gpd
import pytest

from boundaries.demo import build_hexi
from geo.units import BoundarySet
from maps.demo import synthetic_cases

#: "Now" for every synthetic data set: cases are reported in the 30 days before it.
NOW = datetime(2024, 6, 1, 9, 0)


@pytest.fixture(scope="session")
def hexi() -> BoundarySet:
    """The Hexi demo set: 14 streets, 149 communities, 1,441 grids, 13,989 micro-grids."""
    return BoundarySet.from_levels(build_hexi())


@pytest.fixture(scope="session")
def hexi_microgrids(hexi: BoundarySet) -> gpd.GeoDataFrame:
    return hexi.units.iloc[hexi.level_positions("microgrid")].reset_index(drop=True)


@pytest.fixture(scope="session")
def hexi_cases(hexi_microgrids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """3,000 seeded cases in Hexi's micro-grids, with hot spots and a realistic category mix."""
    return synthetic_cases(hexi_microgrids, 3000, seed=11, now=NOW)
