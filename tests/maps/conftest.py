"""Fixtures for the map tests: the Hexi demo units (built once) and synthetic cases.

The cases' categories are the service's catalogue and their statuses its lifecycle, as the
service passes them to the maps (see tests/maps/pages.py).

The browser is in tests/conftest.py: one Playwright instance per session serves every page
test (a second one in the same process would refuse to start).
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import geopandas as gpd
import pytest

from api.cases.catalogue import DEFAULT_CATEGORIES
from api.cases.lifecycle import Status
from geo.units import BoundarySet
from maps.demo import DemoCategory, DemoLifecycle, synthetic_cases
from tests.conftest import read_layers

#: "Now" for every synthetic data set: cases are reported in the 30 days before it.
NOW = datetime(2024, 6, 1, 9, 0)
#: Share of the cases in each category of the catalogue: property and parking lead.
SHARES = {
    "property": 0.20,
    "parking": 0.17,
    "noise": 0.13,
    "flying_wires": 0.08,
    "leaking_pipe": 0.10,
    "building_repair": 0.09,
    "corridor_light": 0.09,
    "water_cut": 0.04,
    "rubbish": 0.10,
}
#: The catalogue's categories with their deadlines.
DEMO_CATEGORIES = [DemoCategory(c.code, c.sla_hours, SHARES[c.code]) for c in DEFAULT_CATEGORIES]
#: A case is submitted, assigned, accepted, in progress; some late ones escalate.
DEMO_LIFECYCLE = DemoLifecycle(
    steps=(Status.SUBMITTED, Status.ASSIGNED, Status.ACCEPTED, Status.IN_PROGRESS),
    late=Status.ESCALATED,
    done=((Status.RESOLVED, 0.62), (Status.CLOSED, 0.35), (Status.REJECTED, 0.03)),
)


@pytest.fixture(scope="session")
def hexi(hexi_gpkg: Path) -> BoundarySet:
    """The Hexi demo set: 14 streets, 149 communities, 1,441 grids, 13,989 micro-grids."""
    return BoundarySet.from_levels(read_layers(hexi_gpkg))


@pytest.fixture(scope="session")
def hexi_microgrids(hexi: BoundarySet) -> gpd.GeoDataFrame:
    return hexi.units.iloc[hexi.level_positions("microgrid")].reset_index(drop=True)


@pytest.fixture(scope="session")
def hexi_cases(hexi_microgrids: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """3,000 seeded cases in Hexi's micro-grids, with hot spots and a realistic category mix."""
    return synthetic_cases(
        hexi_microgrids,
        3000,
        categories=DEMO_CATEGORIES,
        lifecycle=DEMO_LIFECYCLE,
        seed=11,
        now=NOW,
    )
