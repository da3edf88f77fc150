"""Demo planning data for Hexi: 45 elderly-care centres and a population table (seeded).

Made up, like the grids (see ``PROVENANCE.md``), to the district's published figures: 45
home-care centres for the elderly and about 200,000 residents aged 60+, in a population of
about 870,000. Everything is deterministic for a seed.

* **Population**, per micro-grid: micro-grids are drawn by households, so they hold similar
  numbers of residents (each community gets a density factor, each micro-grid its own
  spread); the total is exact. The share aged 60+ rises from about 17% in the newer estates
  of the south to about 27% in the old north, plus some variation per community; the 60+
  total is about 200,000.
* **Facilities**: 38 centres near the middle of communities drawn in proportion to their 60+
  residents (two southern streets, Liulin and Meijiang, drawn at a fifth of that, so the
  planners' map has real gaps), each within 150 m of the community's representative point
  and inside it; 7 more within 250-500 m of one of those (centres cluster in busy old areas).
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from geo.units import BoundarySet

#: Hexi's published figures (see the product brief) and the demo's totals.
CENTRES = 45
CLUSTERED = 7
RESIDENTS = 870_000
RESIDENTS_60 = 200_000
#: Streets whose communities are drawn less often for a centre (柳林街道, 梅江街道).
UNDERSERVED_STREETS = ("120103011", "120103013")
UNDERSERVED_WEIGHT = 0.2
SOURCE = "demo"


def demo_population(bset: BoundarySet, seed: int = 20231) -> pd.DataFrame:
    """Residents and residents aged 60+ per unit of the deepest level: code, residents,
    residents_60 (whole numbers; residents sum to exactly :data:`RESIDENTS`)."""
    rng = np.random.default_rng([seed, 7])
    deepest = len(bset.levels) - 1
    micro = bset.level_positions(deepest)
    parent_depth = max(deepest - 2, 0)  # the community, in a five-level set
    owner = bset.chains[micro, parent_depth]
    community_factor = rng.lognormal(0.0, 0.35, len(bset))
    weight = community_factor[owner] * rng.gamma(8.0, 1 / 8.0, micro.size)
    residents = rng.multinomial(RESIDENTS, weight / weight.sum())
    # older in the north (the old town), younger in the south (new estates)
    y = shapely.get_y(shapely.point_on_surface(bset.units.geometry.to_numpy()[micro]))
    north = (y - y.min()) / max(float(y.max() - y.min()), 1e-12)
    share = 0.17 + 0.10 * north + rng.normal(0.0, 0.015, len(bset))[owner]
    share = np.clip(share, 0.08, 0.45)
    share *= RESIDENTS_60 / float((residents * share).sum())
    residents_60 = rng.binomial(residents, np.clip(share, 0.0, 1.0))
    return pd.DataFrame(
        {"code": bset.codes[micro], "residents": residents, "residents_60": residents_60}
    )


def demo_facilities(
    bset: BoundarySet, population: pd.DataFrame, seed: int = 20231
) -> gpd.GeoDataFrame:
    """:data:`CENTRES` elderly-care centres (EPSG:4326): name, type, capacity."""
    rng = np.random.default_rng([seed, 8])
    levels = bset.levels
    community_depth = levels.index("community") if "community" in levels else len(levels) - 2
    community_depth = max(community_depth, 0)
    communities = bset.level_positions(community_depth)
    crs = bset.metric_crs
    metric = bset.metric_geometries
    # 60+ residents per community, from the population of the units below it
    pos = bset.positions(population["code"].to_numpy(dtype=object))
    owner = bset.chains[pos, community_depth]
    per_unit = np.bincount(
        owner[owner >= 0],
        population["residents_60"].to_numpy(dtype=float)[owner >= 0],
        minlength=len(bset),
    )
    weight = per_unit[communities] + 1.0
    street_depth = max(community_depth - 1, 0)
    streets = bset.codes[bset.chains[communities, street_depth]]
    weight[np.isin(streets, UNDERSERVED_STREETS)] *= UNDERSERVED_WEIGHT
    anchors = rng.choice(
        communities.size, CENTRES - CLUSTERED, replace=False, p=weight / weight.sum()
    )
    points: list[shapely.Point] = []
    homes: list[int] = []
    for a in anchors:
        area = metric[communities[a]]
        points.append(_near(shapely.point_on_surface(area), 0.0, 150.0, area, rng))
        homes.append(int(communities[a]))
    district = shapely.union_all(metric[bset.level_positions(0)])
    for i in rng.choice(len(points), CLUSTERED, replace=False):
        points.append(_near(points[i], 250.0, 500.0, district, rng))
        homes.append(homes[i])
    names = bset.units["name"].to_numpy(dtype=object)
    short = [_short_name(str(names[h])) for h in homes]
    seen: dict[str, int] = {}
    labels = []
    for name in short:
        seen[name] = seen.get(name, 0) + 1
        labels.append(f"{name}居家养老服务中心" + ("" if seen[name] == 1 else f"({seen[name]})"))
    capacity = rng.integers(3, 13, len(points)) * 5  # 15 to 60 places
    return gpd.GeoDataFrame(
        {"name": labels, "type": "elderly_care", "capacity": capacity},
        geometry=gpd.GeoSeries(points, crs=crs).to_crs(4326).to_numpy(),
        crs=4326,
    )


def _near(
    centre: shapely.Point,
    low: float,
    high: float,
    inside: shapely.Geometry,
    rng: np.random.Generator,
) -> shapely.Point:
    """A point ``low`` to ``high`` metres from ``centre`` and inside ``inside`` (else centre)."""
    for _ in range(50):
        angle = rng.uniform(0.0, 2 * np.pi)
        distance = rng.uniform(low, high)
        point = shapely.Point(
            centre.x + distance * np.cos(angle), centre.y + distance * np.sin(angle)
        )
        if shapely.contains(inside, point):
            return point
    return centre


def _short_name(community: str) -> str:
    """九江路社区居委会 -> 九江路社区 (the committee suffix dropped)."""
    for suffix in ("居民委员会", "居委会", "村民委员会", "村委会", "委员会"):
        if community.endswith(suffix):
            return community[: -len(suffix)]
    return community
