"""Coverage of service areas: hand-made sets with exact answers, nested lattices, the Hexi demo."""

from __future__ import annotations

import itertools
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import MultiPolygon, box

from geo.coverage import (
    DEFAULT_MINUTES,
    DEFAULT_SPEED_M_PER_MIN,
    coverage_by_unit,
    service_areas,
    suggest_sites,
    walking_distance_m,
)
from geo.errors import (
    InvalidGeometry,
    InvalidPopulation,
    InvalidServiceParameters,
    UnitNotFound,
    UnknownLevel,
)
from geo.units import BoundarySet
from tests.conftest import read_layers
from tests.geo.conftest import CAMBRIDGE, METRIC_CRS, ORIGIN_XY, metric_set, nested_lattice

# -- hand-made set, in metres from a corner in Tianjin ----------------------------------------
#
# Units are 200 m squares far apart (units need not tile), so a 1,000 m circle covers a unit
# wholly or not at all and every expected number is exact. C is one unit of two squares 3 km
# apart; each grid is one unit of two micro-grids, so a grid is also two far-apart parts.


def square(x: float, y: float) -> shapely.Polygon:
    return box(x, y, x + 200, y + 200)


A, B = square(0, 0), square(3000, 0)
C1, C2 = square(0, 3000), square(3000, 3000)
E = square(5700, 5700)
HAND_MADE_LAYERS = [
    ("district", [("D", "", box(0, 0, 6000, 6000))]),
    ("grid", [("G1", "D", MultiPolygon([A, B])), ("G2", "D", MultiPolygon([C1, C2, E]))]),
    (
        "micro",
        [("A", "G1", A), ("B", "G1", B), ("C", "G2", MultiPolygon([C1, C2])), ("E", "G2", E)],
    ),
]

#: Facilities in local metres.
F_A = (100, 100)  # centre of A
F_C = (100, 3100)  # centre of C's first square: half of C
F_OUT = (6300, 6300)  # outside the district, 849 m from E's far corner: covers E
F_FAR = (50_000, 50_000)  # 50 km away: covers nothing
F_EDGE = (1100, 100)  # a vertex of F_A's circle (east), inside D but in no grid


@pytest.fixture(scope="module")
def hand_made() -> BoundarySet:
    return metric_set(HAND_MADE_LAYERS)


def local_points(xy: list[tuple[float, float]], **columns) -> gpd.GeoDataFrame:
    """Points at local metres (EPSG:32650 from ORIGIN_XY), with extra columns."""
    x = np.array([p[0] for p in xy], dtype=float) + ORIGIN_XY[0]
    y = np.array([p[1] for p in xy], dtype=float) + ORIGIN_XY[1]
    return gpd.GeoDataFrame(columns, geometry=gpd.points_from_xy(x, y), crs=METRIC_CRS)


def unit_population(rows: dict[str, tuple[float, float]]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "code": list(rows),
            "residents": [r[0] for r in rows.values()],
            "residents_60": [r[1] for r in rows.values()],
        }
    )


MICRO = {"A": (100, 30), "B": (200, 50), "C": (400, 100), "E": (60, 20)}

# (facilities, population per unit code, level, expected {code: (population_60, covered_60)})
PER_UNIT = [
    # a unit inside a circle is counted whole; a unit 3 km away not at all
    pytest.param([F_A], MICRO, "micro",
                 {"A": (30, 30), "B": (50, 0), "C": (100, 0), "E": (20, 0)}, id="inside-whole"),
    # a unit half inside a circle (one of its two equal squares): half counted
    pytest.param([F_C], {"C": (400, 100)}, "micro",
                 {"A": (0, 0), "B": (0, 0), "C": (100, 50), "E": (0, 0)}, id="half-covered"),
    # a facility outside the set counts for what its circle reaches inside it
    pytest.param([F_OUT], MICRO, "micro",
                 {"A": (30, 0), "B": (50, 0), "C": (100, 0), "E": (20, 20)},
                 id="facility-outside-set"),
    # a facility far away covers nothing
    pytest.param([F_FAR], MICRO, "micro",
                 {"A": (30, 0), "B": (50, 0), "C": (100, 0), "E": (20, 0)}, id="facility-far"),
    # no facilities: everyone is uncovered
    pytest.param([], MICRO, "micro",
                 {"A": (30, 0), "B": (50, 0), "C": (100, 0), "E": (20, 0)}, id="no-facilities"),
    # a unit without population has zeros (and a NaN share)
    pytest.param([F_A], {"A": (100, 30)}, "micro",
                 {"A": (30, 30), "B": (0, 0), "C": (0, 0), "E": (0, 0)}, id="unit-no-population"),
    # population given for a grid is shared by area among its micro-grids (A and B: half each)
    pytest.param([F_A], {"G1": (300, 80)}, "micro",
                 {"A": (40, 40), "B": (40, 0), "C": (0, 0), "E": (0, 0)},
                 id="grid-population-spread-down"),
    # ... and reported at the grid level: half of the grid is inside the circle
    pytest.param([F_A], {"G1": (300, 80)}, "grid",
                 {"G1": (80, 40), "G2": (0, 0)}, id="grid-population-at-grid"),
    # micro-grid population summed up to the grids and to the district
    pytest.param([F_A, F_C, F_OUT], MICRO, "grid",
                 {"G1": (80, 30), "G2": (120, 70)}, id="aggregated-to-grid"),
    pytest.param([F_A, F_C, F_OUT], MICRO, "district", {"D": (200, 100)},
                 id="aggregated-to-district"),
    # two circles over the same unit do not count it twice
    pytest.param([F_A, (150, 150)], MICRO, "micro",
                 {"A": (30, 30), "B": (50, 0), "C": (100, 0), "E": (20, 0)}, id="overlapping"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("population", "level"),
    [
        ({"D": (3600, 360)}, "micro"),  # the district spread over micro-grids that leave gaps
        ({"D": (3600, 360)}, "grid"),  # ... over grids that leave gaps
        ({"G2": (500, 100)}, "micro"),  # a grid whose micro-grids cover all of it
    ],
)
def test_population_above_the_level_is_never_lost(hand_made, population, level):
    result = coverage_by_unit(hand_made, level, local_points([F_A]), unit_population(population))
    given = sum(r60 for _, r60 in population.values())
    in_units = result.units["population_60"].sum()
    outside = result.summary["residents_60_outside_level"]
    assert in_units + outside == pytest.approx(given)
    assert result.summary["covered_60"] + result.summary["uncovered_60"] == pytest.approx(in_units)


@pytest.mark.parametrize("facilities, population, level, expected", PER_UNIT)
def test_per_unit_population(hand_made, facilities, population, level, expected):
    result = coverage_by_unit(
        hand_made, level, local_points(facilities), unit_population(population)
    )
    units = result.units.set_index("code")
    assert list(units.index) == list(expected)
    for code, (population_60, covered_60) in expected.items():
        assert units.loc[code, "population_60"] == pytest.approx(population_60, abs=1e-6)
        assert units.loc[code, "covered_60"] == pytest.approx(covered_60, abs=1e-6)
        assert units.loc[code, "uncovered_60"] == pytest.approx(
            population_60 - covered_60, abs=1e-6
        )
        if population_60 == 0:
            assert math.isnan(units.loc[code, "share_covered_60"])
        else:
            assert units.loc[code, "share_covered_60"] == pytest.approx(covered_60 / population_60)
    # residents of all ages: the same arithmetic
    assert np.allclose(units["uncovered"], units["population"] - units["covered"])
    assert (units["covered"] <= units["population"] + 1e-9).all()
    # the gap pieces hold every uncovered resident
    assert result.gaps["residents_60"].sum() == pytest.approx(
        result.summary["uncovered_60"], abs=1e-6
    )
    assert result.gaps["residents"].sum() == pytest.approx(result.summary["uncovered"], abs=1e-6)
    assert result.summary["covered_60"] + result.summary["uncovered_60"] == pytest.approx(
        sum(p for p, _ in expected.values())
    )
    assert result.gaps.crs.to_epsg() == 4326 and result.demand.crs.to_epsg() == 4326


def test_half_covered_unit_gap_is_the_other_half(hand_made):
    result = coverage_by_unit(
        hand_made, "micro", local_points([F_C]), unit_population({"C": (400, 100)})
    )
    gaps = result.gaps.set_index("unit")
    c = gaps.loc["C"]
    assert c["area_m2"] == pytest.approx(200 * 200, rel=1e-6)  # the far square, whole
    assert (c["residents"], c["residents_60"]) == pytest.approx((200, 50))
    far_square = shapely.centroid(gpd.GeoSeries([c.geometry], crs=4326).to_crs(METRIC_CRS)[0])
    assert (far_square.x - ORIGIN_XY[0], far_square.y - ORIGIN_XY[1]) == pytest.approx(
        (3100, 3100), abs=0.01
    )
    units = result.units.set_index("code")
    assert units.loc["C", "covered_area_m2"] == pytest.approx(200 * 200, rel=1e-6)
    assert result.demand["residents_60"].tolist() == pytest.approx([50])


def test_served_means_the_representative_point_is_covered(hand_made):
    result = coverage_by_unit(hand_made, "micro", local_points([F_A, F_OUT]))
    assert result.units.set_index("code")["served"].to_dict() == {
        "A": True, "B": False, "C": False, "E": True
    }  # fmt: skip
    assert result.summary["units_served"] == 2 and result.summary["residents_60"] == 0


def test_gaps_at_an_upper_level_are_cut_by_unit(hand_made):
    result = coverage_by_unit(hand_made, "grid", local_points([F_A, F_C]), unit_population(MICRO))
    # G1 keeps B; G2 keeps C's far square and E: three pieces, each within one grid
    by_unit = result.gaps.groupby("unit")["area_m2"].agg(["count", "sum"])
    assert by_unit.loc["G1"].tolist() == pytest.approx([1, 40_000], rel=1e-6)
    assert by_unit.loc["G2"].tolist() == pytest.approx([2, 80_000], rel=1e-6)
    assert sorted(result.gaps["residents_60"].round(6)) == [20, 50, 50]


# (population points as (x, y, residents, residents_60), level, expected {code: (pop60, covered60)},
#  60+ outside every unit of the level)
POINTS = [
    # in A (inside the circle), on the circle's edge, just outside it, and in B:
    # at district level all four count; the edge point is covered (covers)
    pytest.param([(100, 100, 4, 1), (1100, 100, 2, 2), (1101, 100, 8, 4), (3100, 100, 16, 8)],
                 "district", {"D": (15, 3)}, 0, id="district-edge-covered"),
    # at micro-grid level the two points between the grids are in no micro-grid
    pytest.param([(100, 100, 4, 1), (1100, 100, 2, 2), (1101, 100, 8, 4), (3100, 100, 16, 8)],
                 "micro", {"A": (1, 1), "B": (8, 0), "C": (0, 0), "E": (0, 0)}, 6,
                 id="micro-outside-level"),
    # a point on the edge shared by nothing else, in C's far square: uncovered
    pytest.param([(3000, 3100, 10, 10)], "micro",
                 {"A": (0, 0), "B": (0, 0), "C": (10, 0), "E": (0, 0)}, 0, id="on-unit-edge"),
]  # fmt: skip


@pytest.mark.parametrize("points, level, expected, outside", POINTS)
def test_point_population_counted_exactly(hand_made, points, level, expected, outside):
    population = local_points(
        [(x, y) for x, y, _, _ in points],
        residents=[r for _, _, r, _ in points],
        residents_60=[r for _, _, _, r in points],
    )
    result = coverage_by_unit(hand_made, level, local_points([F_A]), population)
    units = result.units.set_index("code")
    for code, (population_60, covered_60) in expected.items():
        assert (units.loc[code, "population_60"], units.loc[code, "covered_60"]) == (
            population_60,
            covered_60,
        )
    assert result.summary["residents_60_outside_level"] == outside
    assert result.gaps["residents_60"].sum() == pytest.approx(result.summary["uncovered_60"])
    assert result.summary["population"] == "points"


def test_service_area_is_speed_times_minutes():
    assert walking_distance_m() == 1000.0  # GB 50180-2018: 15 minutes, 800-1,000 m
    assert DEFAULT_MINUTES * DEFAULT_SPEED_M_PER_MIN == pytest.approx(1000.0)
    assert walking_distance_m(10, 50) == 500.0
    [circle] = service_areas(local_points([(0, 0)]), minutes=5, speed_m_per_min=60)
    # a 64-gon inscribed in the circle of radius 300 m
    assert circle.area == pytest.approx(32 * 300**2 * math.sin(2 * math.pi / 64), rel=1e-9)
    assert shapely.get_num_coordinates(circle) == 65


@pytest.mark.parametrize(
    "call, error",
    [
        # unknown level
        (lambda s: coverage_by_unit(s, "block", local_points([])), UnknownLevel),
        # population code not in the set
        (lambda s: coverage_by_unit(s, "micro", local_points([]), unit_population({"Z": (1, 1)})),
         UnitNotFound),
        # population for a grid and for a micro-grid inside it: counted twice
        (lambda s: coverage_by_unit(s, "micro", local_points([]),
                                    unit_population({"G1": (9, 1), "A": (5, 1)})),
         InvalidPopulation),
        # more residents aged 60+ than residents
        (lambda s: coverage_by_unit(s, "micro", local_points([]), unit_population({"A": (1, 2)})),
         InvalidPopulation),
        # a negative count
        (lambda s: coverage_by_unit(s, "micro", local_points([]),
                                    unit_population({"A": (-1, 0)})), InvalidPopulation),
        # a missing column
        (lambda s: coverage_by_unit(s, "micro", local_points([]), pd.DataFrame({"code": ["A"]})),
         InvalidPopulation),
        # zero minutes
        (lambda s: coverage_by_unit(s, "micro", local_points([]), minutes=0),
         InvalidServiceParameters),
        # network mode without a network
        (lambda s: coverage_by_unit(s, "micro", local_points([]), mode="network"),
         InvalidServiceParameters),
        # an unknown mode
        (lambda s: coverage_by_unit(s, "micro", local_points([]), mode="isochrone"),
         InvalidServiceParameters),
        # a facility that is not a point
        (lambda s: coverage_by_unit(s, "micro", gpd.GeoSeries([A], crs=METRIC_CRS)),
         InvalidGeometry),
        # a facility layer without a CRS
        (lambda s: coverage_by_unit(s, "micro", gpd.GeoSeries([shapely.Point(0, 0)])),
         InvalidGeometry),
    ],
)  # fmt: skip
def test_bad_input_is_refused(hand_made, call, error):
    with pytest.raises(error):
        call(hand_made)


# -- nested lattices: aggregation and the plain geopandas approach ----------------------------


@pytest.fixture(scope="module")
def lattice_case():
    bset = nested_lattice([("street", (2, 2)), ("grid", (3, 3)), ("micro", (4, 4))], cell_m=60)
    rng = np.random.default_rng(7)
    micro = bset.level_positions("micro")
    residents = rng.integers(0, 120, micro.size)
    population = pd.DataFrame(
        {
            "code": bset.codes[micro],
            "residents": residents,
            "residents_60": rng.binomial(residents, 0.25),
        }
    )
    x0, y0, x1, y1 = gpd.GeoSeries(bset.metric_geometries, crs=METRIC_CRS).total_bounds
    facilities = gpd.GeoSeries(
        gpd.points_from_xy(rng.uniform(x0, x1, 6), rng.uniform(y0, y1, 6)), crs=METRIC_CRS
    )
    return bset, population, facilities


KW = {"minutes": 3, "speed_m_per_min": 50}  # 150 m circles over a 1.44 km square


@pytest.mark.parametrize("upper_level, lower_level", [("grid", "micro"), ("street", "grid")])
def test_upper_level_equals_sum_of_children(lattice_case, upper_level, lower_level):
    bset, population, facilities = lattice_case
    upper = coverage_by_unit(bset, upper_level, facilities, population, **KW).units
    upper = upper.set_index("code")
    lower = coverage_by_unit(bset, lower_level, facilities, population, **KW).units
    parent = bset.units.set_index("code").loc[lower["code"], "parent"].to_numpy()
    columns = ["population", "population_60", "covered", "covered_60", "uncovered_60"]
    summed = lower[columns].groupby(parent).sum()
    assert np.allclose(summed.loc[upper.index].to_numpy(), upper[columns].to_numpy(), atol=1e-6)


def test_lattice_matches_plain_geopandas(lattice_case):
    bset, population, facilities = lattice_case
    result = coverage_by_unit(bset, "street", facilities, population, **KW)
    micro = bset.level_positions("micro")
    units = gpd.GeoDataFrame(
        population, geometry=bset.units.geometry.to_numpy()[micro], crs=4326
    ).to_crs(bset.metric_crs)
    units["unit_area"] = units.area
    cover = gpd.GeoDataFrame(
        geometry=[facilities.to_crs(bset.metric_crs).buffer(150).union_all()], crs=bset.metric_crs
    )
    pieces = gpd.overlay(units, cover, how="intersection")
    expected = (pieces["residents_60"] * pieces.area / pieces["unit_area"]).sum()
    assert 0 < result.summary["covered_60"] < result.summary["residents_60"]
    assert result.summary["covered_60"] == pytest.approx(expected, rel=1e-6)
    assert result.gaps["residents_60"].sum() == pytest.approx(result.summary["uncovered_60"])


def test_children_drawn_outside_their_parent(cambridge):
    """Cambridge blocks with a population each, reported by block group: four block groups are
    drawn differently from their blocks, so some uncovered parts of blocks lie outside their
    block group's gaps. They become pieces of their own: the pieces still hold everyone."""
    facilities = gpd.read_file(CAMBRIDGE / "LANDMARK_ElderlyFacilities.geojson")
    blocks = cambridge.level_positions("block")
    aland = np.array([p.get("aland", 0.0) for p in cambridge.units["properties"].iloc[blocks]])
    population = pd.DataFrame(
        {
            "code": cambridge.codes[blocks],
            "residents": np.round(aland / 100),  # one resident per 100 m² of land
            "residents_60": np.round(aland / 500),
        }
    )
    by_block = coverage_by_unit(cambridge, "block", facilities, population, minutes=6)
    by_group = coverage_by_unit(cambridge, "block_group", facilities, population, minutes=6)
    for result in (by_block, by_group):
        assert 0 < result.summary["share_covered_60"] < 1
        assert result.gaps["residents_60"].sum() == pytest.approx(result.summary["uncovered_60"])
    assert by_group.summary["covered_60"] == pytest.approx(by_block.summary["covered_60"])
    assert set(by_group.gaps["unit"]) <= set(by_group.units["code"])


# -- suggesting new sites ---------------------------------------------------------------------

#: Uncovered 60+ residents in three clusters along a line (x, y, residents_60 per point).
CLUSTERS = (
    [(0 + dx, 0 + dy, 50) for dx, dy in itertools.product((-100, 0, 100), (-100, 0, 100))]
    + [(3000 + dx, 0, 30) for dx in (-50, 0, 50, 100, 150)]
    + [(6000, 0, 10), (6000, 100, 10), (6100, 0, 10)]
)


@pytest.fixture(scope="module")
def cluster_coverage():
    layers = [("district", [("D", "", box(-2000, -2000, 9000, 2000))])]
    bset = metric_set(layers)
    population = local_points(
        [(x, y) for x, y, _ in CLUSTERS],
        residents=[2 * r for _, _, r in CLUSTERS],
        residents_60=[r for _, _, r in CLUSTERS],
    )
    return coverage_by_unit(bset, "district", local_points([]), population)


# (candidates in local metres, k, expected picks by label, expected gains)
GREEDY = [
    # the densest cluster first, then the others by size; gains never increase
    pytest.param([(6000, 0), (3000, 0), (0, 0)], 3, ["c2", "c1", "c0"], [450, 150, 30],
                 id="densest-first"),
    # fewer sites than asked when nobody is left to cover
    pytest.param([(6000, 0), (3000, 0), (0, 0)], 5, ["c2", "c1", "c0"], [450, 150, 30],
                 id="stops-when-all-covered"),
    # a second site next to the first adds nothing it already covers: it is skipped
    pytest.param([(0, 0), (50, 0), (3000, 0)], 2, ["c0", "c2"], [450, 150], id="no-double-count"),
    # a site between two clusters (1,500 m from each) covers neither with a 1 km circle
    pytest.param([(1500, 0), (3050, 0)], 2, ["c1"], [150], id="between-clusters"),
]  # fmt: skip


@pytest.mark.parametrize("candidates, k, picks, gains", GREEDY)
def test_greedy_sites(cluster_coverage, candidates, k, picks, gains):
    frame = local_points(candidates, code=[f"c{i}" for i in range(len(candidates))])
    sites = suggest_sites(cluster_coverage, k, candidates=frame)
    assert sites["site"].tolist() == picks
    assert sites["gain_60"].tolist() == pytest.approx(gains)
    assert sites["gain"].tolist() == pytest.approx([2 * g for g in gains])
    assert np.all(np.diff(sites["gain_60"]) <= 0)
    assert sites["cumulative_60"].tolist() == pytest.approx(np.cumsum(gains))
    assert sites["rank"].tolist() == list(range(1, len(picks) + 1))
    assert sites.crs.to_epsg() == 4326


def test_greedy_never_double_counts_and_meets_its_bound():
    """On random instances the k sites' gains add up to what their circles cover together,
    and reach at least (1 - 1/e) of the best k sites found by trying every combination."""
    rng = np.random.default_rng(3)
    bset = metric_set([("district", [("D", "", box(-500, -500, 5500, 5500))])])
    for _ in range(5):
        xy = rng.uniform(0, 5000, (60, 2))
        weight = rng.integers(1, 20, 60).astype(float)
        population = local_points([tuple(p) for p in xy], residents=weight * 3, residents_60=weight)
        coverage = coverage_by_unit(bset, "district", local_points([]), population, minutes=12)
        cand = rng.uniform(0, 5000, (9, 2))
        sites = suggest_sites(
            coverage, 3, candidates=local_points([tuple(p) for p in cand], code=list(range(9)))
        )
        reach = np.hypot(*(cand[:, None, :] - xy[None, :, :]).transpose(2, 0, 1)) <= 800.0
        chosen = reach[sites["site"].to_numpy(dtype=int)].any(axis=0)
        assert sites["gain_60"].sum() == pytest.approx(weight[chosen].sum())
        best = max(
            weight[reach[list(c)].any(axis=0)].sum() for c in itertools.combinations(range(9), 3)
        )
        assert sites["gain_60"].sum() >= (1 - 1 / math.e) * best
        assert np.all(np.diff(sites["gain_60"]) <= 0)


def test_default_candidates_are_deepest_units(lattice_case):
    bset, population, facilities = lattice_case
    coverage = coverage_by_unit(bset, "grid", facilities, population, **KW)
    sites = suggest_sites(coverage, 4)
    micro_codes = set(bset.codes[bset.level_positions("micro")])
    assert set(sites["site"]) <= micro_codes and len(sites) == 4
    assert set(sites["unit"]) <= set(coverage.units["code"])
    assert sites["cumulative_60"].iloc[-1] <= coverage.summary["uncovered_60"] + 1e-6
    assert np.all(np.diff(sites["gain_60"]) <= 0)
    with pytest.raises(InvalidServiceParameters):
        suggest_sites(coverage, 0)


# -- the Hexi demo: 13,989 micro-grids, 45 facilities, about 200,000 residents aged 60+ ---------


@pytest.fixture(scope="module")
def hexi(hexi_gpkg):
    bset = BoundarySet.from_levels(read_layers(hexi_gpkg), name="hexi")
    micro = bset.level_positions("microgrid")
    rng = np.random.default_rng(2023)
    residents = rng.poisson(60, micro.size)  # about 840,000 residents (Hexi: about 820,000)
    population = pd.DataFrame(
        {
            "code": bset.codes[micro],
            "residents": residents,
            "residents_60": rng.binomial(residents, 0.238),
        }
    )
    weight = population["residents_60"].to_numpy(dtype=float)
    chosen = rng.choice(micro.size, 45, replace=False, p=weight / weight.sum())
    facilities = gpd.GeoDataFrame(
        {"name": [f"居家养老服务中心 {i + 1}" for i in range(45)]},
        geometry=shapely.point_on_surface(bset.units.geometry.to_numpy()[micro[chosen]]),
        crs=4326,
    )
    return bset, population, facilities


@pytest.mark.slow
def test_hexi_demo(hexi):
    bset, population, facilities = hexi
    assert population["residents_60"].sum() == pytest.approx(200_000, rel=0.02)
    result = coverage_by_unit(bset, "community", facilities, population)
    summary = result.summary
    assert len(result.units) == 149 and summary["facilities"] == 45
    assert summary["residents_60"] == population["residents_60"].sum()
    assert 0.3 < summary["share_covered_60"] < 1.0
    assert result.gaps["residents_60"].sum() == pytest.approx(summary["uncovered_60"])
    assert result.units["share_covered_60"].between(0, 1).all()

    # the same covered total as the plain geopandas approach
    micro = bset.level_positions("microgrid")
    units = gpd.GeoDataFrame(
        population, geometry=bset.units.geometry.to_numpy()[micro], crs=4326
    ).to_crs(bset.metric_crs)
    units["unit_area"] = units.area
    circles = facilities.to_crs(bset.metric_crs).buffer(1000)
    cover = gpd.GeoDataFrame(geometry=[circles.union_all()], crs=bset.metric_crs)
    pieces = gpd.overlay(units, cover, how="intersection")
    plain = (pieces["residents_60"] * pieces.area / pieces["unit_area"]).sum()
    assert summary["covered_60"] == pytest.approx(plain, rel=1e-3)

    # streets hold the sum of their communities
    streets = coverage_by_unit(bset, "street", facilities, population).units
    assert len(streets) == 14
    assert streets["covered_60"].sum() == pytest.approx(summary["covered_60"])

    sites = suggest_sites(result, 5)
    assert len(sites) == 5 and np.all(np.diff(sites["gain_60"]) <= 0)
    assert sites["gain_60"].iloc[0] > 0
    assert set(sites["unit"]) <= set(result.units["code"])
