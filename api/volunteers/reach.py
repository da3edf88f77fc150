"""Where a team serves: by unit codes (a code reaches everything below it) and/or a base with
a radius. Distances are geodesic metres on the WGS84 ellipsoid; a team's disc against a unit's
polygon is measured in the boundary set's projected CRS (metres)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyproj
import shapely
from numpy.typing import NDArray

from api.db.models import VolunteerTeam
from geo.units import BoundarySet

_GEOD = pyproj.Geod(ellps="WGS84")


def distance_m(lon1: float, lat1: float, lon2: float, lat2: float) -> float:
    """Geodesic distance in metres between two WGS84 points."""
    return float(_GEOD.inv(lon1, lat1, lon2, lat2)[2])


def served_unit(team: VolunteerTeam, chain: Sequence[str]) -> str | None:
    """The team's unit that contains a place lying in these units (top first), if any: the
    deepest match, a code reaching everything below it."""
    codes = set(team.units or ())
    for code in reversed(list(chain)):
        if code in codes:
            return code
    return None


def within_radius(team: VolunteerTeam, lon: float, lat: float) -> tuple[bool, float | None]:
    """Whether a place lies within the team's radius of its base, and the distance (None: no
    base)."""
    if team.lon is None or team.lat is None:
        return False, None
    far = distance_m(team.lon, team.lat, lon, lat)
    return team.radius_m is not None and far <= team.radius_m, far


def reached_positions(bset: BoundarySet, team: VolunteerTeam, level: str) -> NDArray[np.intp]:
    """Positions of the units of a level the team reaches: those below (or above) one of its
    units, and those its disc touches."""
    positions = bset.level_positions(level)
    depth = bset.depth_of(level)
    reached = np.zeros(len(positions), dtype=bool)
    own = bset.positions(list(team.units or ()))
    own = own[own >= 0]
    if len(own):
        chains = bset.chains
        # a unit below one of the team's (its chain holds it), or above one (the team's chain
        # holds the unit): the team serves at least part of it
        below = np.isin(chains[positions], own).any(axis=1)
        above = np.isin(positions, chains[own, depth])
        reached |= below | above
    if team.lon is not None and team.lat is not None and team.radius_m:
        to_metric = pyproj.Transformer.from_crs(4326, bset.metric_crs, always_xy=True)
        x, y = to_metric.transform(team.lon, team.lat)
        geoms = bset.metric_geometries[positions]
        reached |= shapely.dwithin(geoms, shapely.Point(x, y), team.radius_m)
    return positions[reached]
