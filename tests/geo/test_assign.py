"""Assignment rules: inside, shared edges and vertices, holes, gaps, snapping, bad input."""

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely

from geo.assign import ASSIGNED, GAP, SNAPPED, UNASSIGNED, BoundaryIndex
from geo.crs import wgs84_to_bd09, wgs84_to_gcj02
from geo.errors import InvalidCoordinates, UnknownCRS
from geo.kernel import _SORT_MIN
from geo.units import BoundarySet

# One metre in degrees near Tianjin (lat 39.1).
M_LON = 1 / (111_320 * math.cos(math.radians(39.1)))
M_LAT = 1 / 110_990


def _frame(rows):
    return gpd.GeoDataFrame(
        {
            "code": [r[0] for r in rows],
            "name": [r[0].lower() for r in rows],
            "parent": [r[1] for r in rows],
            "leader_name": [r[2] for r in rows],
            "leader_phone": [f"100-0000-{i:04d}" if r[2] else None for i, r in enumerate(rows)],
        },
        geometry=[r[3] for r in rows],
        crs=4326,
    )


@pytest.fixture(scope="module")
def index():
    hole = shapely.box(117.206, 39.107, 117.207, 39.108)
    district = [("D", "", "District leader", shapely.box(117.20, 39.10, 117.22, 39.11))]
    grids = [
        ("G1", "D", "Grid 1 leader", shapely.box(117.20, 39.10, 117.21, 39.11)),
        ("G2", "D", None, shapely.box(117.21, 39.10, 117.22, 39.11)),
    ]
    micro = [
        ("M2", "G1", "Micro 2 leader", shapely.box(117.205, 39.10, 117.21, 39.105)),
        ("M1", "G1", "Micro 1 leader", shapely.box(117.20, 39.10, 117.205, 39.105)),
        ("M3", "G1", None, shapely.box(117.20, 39.105, 117.21, 39.11).difference(hole)),
        # G2 is only half covered: its east half is a gap
        ("M5", "G2", None, shapely.box(117.21, 39.10, 117.215, 39.11)),
    ]
    bset = BoundarySet.from_levels(
        [("district", _frame(district)), ("grid", _frame(grids)), ("micro", _frame(micro))]
    )
    return BoundaryIndex(bset, snap_tolerance_m=50)


# (lon, lat, status, chain codes top first, responsible unit code, distance in metres or None)
RULES = [
    # interior of M1: the full chain and M1's own leader
    (117.2025, 39.1025, ASSIGNED, ["D", "G1", "M1"], "M1", 0),
    # on the edge shared by M1 and M2: the smaller code, M1
    (117.205, 39.102, ASSIGNED, ["D", "G1", "M1"], "M1", 0),
    # on the vertex shared by M1, M2 and M3: M1 again
    (117.205, 39.105, ASSIGNED, ["D", "G1", "M1"], "M1", 0),
    # on the edge between M2 (grid G1) and M5 (grid G2): M2, and the chain follows M2's parents
    (117.21, 39.102, ASSIGNED, ["D", "G1", "M2"], "M2", 0),
    # on the outer edge of the district, inside M1's edge: boundary counts as inside
    (117.20, 39.1025, ASSIGNED, ["D", "G1", "M1"], "M1", 0),
    # in M3, which has no leader: the grid's leader answers
    (117.202, 39.109, ASSIGNED, ["D", "G1", "M3"], "G1", 0),
    # in the hole of M3 (no micro-grid there): gap, gets grid G1
    (117.2065, 39.1075, GAP, ["D", "G1"], "G1", 0),
    # in the uncovered east half of G2: gap; G2 has no leader, so the district's leader
    (117.218, 39.105, GAP, ["D", "G2"], "D", 0),
    # in M5, no leader in M5 nor G2: the district's
    (117.212, 39.105, ASSIGNED, ["D", "G2", "M5"], "D", 0),
    # 20 m south of M1, outside the district: snapped to M1
    (117.2025, 39.10 - 20 * M_LAT, SNAPPED, ["D", "G1", "M1"], "M1", 20),
    # 20 m east of the district, beside the gap: nearest micro-grid is far, so grid G2
    (117.22 + 20 * M_LON, 39.105, SNAPPED, ["D", "G2"], "D", 20),
    # 49 m west: still snapped
    (117.20 - 49 * M_LON, 39.1025, SNAPPED, ["D", "G1", "M1"], "M1", 49),
    # 51 m west: beyond the tolerance
    (117.20 - 51 * M_LON, 39.1025, UNASSIGNED, [], None, 51),
    # 2 km north: unassigned with the distance
    (117.21, 39.11 + 2000 * M_LAT, UNASSIGNED, [], None, 2000),
    # Paris: nothing within 100 km
    (2.35, 48.85, UNASSIGNED, [], None, None),
]


@pytest.mark.parametrize(("lon", "lat", "status", "chain", "leader", "dist"), RULES)
def test_assignment_rules(index, lon, lat, status, chain, leader, dist):
    result = index.assign([lon], [lat])
    got = index.describe(result, 0)
    assert got["status"] == status
    assert [u["code"] for u in got["units"]] == chain
    assert (got["leader"]["unit_code"] if got["leader"] else None) == leader
    if dist is None:
        assert got["distance_m"] is None
    else:
        assert got["distance_m"] == pytest.approx(dist, abs=0.5)
    if status != ASSIGNED:
        assert got["reason"]


def test_levels_follow_chain_and_reason_names_the_gap(index):
    got = index.describe(index.assign([117.218], [39.105]), 0)
    assert [u["level"] for u in got["units"]] == ["district", "grid"]
    assert got["reason"] == "inside grid G2 but in no micro"


@pytest.mark.parametrize(
    ("convert", "crs"),
    [
        (wgs84_to_gcj02, "gcj02"),  # phone location from Amap / WeChat
        (wgs84_to_bd09, "bd09"),  # Baidu
        (None, "EPSG:32650"),  # UTM 50N metres
    ],
)
def test_input_systems_land_in_the_same_unit(index, convert, crs):
    lon, lat = 117.2025, 39.1025  # middle of M1 in WGS84 (M1 is about 430 m x 555 m)
    if convert is None:
        import pyproj

        x, y = pyproj.Transformer.from_crs(4326, 32650, always_xy=True).transform(lon, lat)
    else:
        x, y = convert(lon, lat)
    got = index.describe(index.assign([x], [y], crs=crs), 0)
    assert [u["code"] for u in got["units"]] == ["D", "G1", "M1"]
    if convert is not None:
        # read as WGS84 by mistake, the same numbers fall elsewhere: the shift is larger than M1
        wrong = index.describe(index.assign([x], [y]), 0)
        assert [u["code"] for u in wrong["units"]] != ["D", "G1", "M1"]


@pytest.mark.parametrize(
    ("lon", "lat"),
    [
        (float("nan"), 39.1),  # NaN longitude
        (117.2, float("nan")),  # NaN latitude
        (float("inf"), 39.1),  # infinity
        (181.0, 39.1),  # longitude out of range
        (117.2, -91.0),  # latitude out of range
    ],
)
def test_invalid_coordinates_raise(index, lon, lat):
    with pytest.raises(InvalidCoordinates) as info:
        index.assign([117.2, lon], [39.1, lat])
    assert info.value.details["invalid"][0]["index"] == 1
    assert "lon" in (info.value.allowed or "")


def test_projected_nan_raises(index):
    with pytest.raises(InvalidCoordinates):
        index.assign([float("nan")], [4_330_000.0], crs="EPSG:32650")


def test_unknown_crs_raises(index):
    with pytest.raises(UnknownCRS):
        index.assign([117.2], [39.1], crs="mars")


def test_empty_batch(index):
    result = index.assign([], [])
    assert len(result) == 0


def test_assignment_rules_in_one_large_batch(index):
    # the rule points repeated past the size from which a batch is sorted by cell and shared
    # among the cores: each answer as the point's own
    lon, lat = (np.tile([row[k] for row in RULES], 1 + _SORT_MIN // len(RULES)) for k in (0, 1))
    batch = index.assign(lon, lat)
    assert lon.size >= _SORT_MIN
    for k, (x, y, *_rest) in enumerate(RULES):
        one = index.assign([x], [y])
        same = np.arange(k, lon.size, len(RULES))
        assert (batch.status[same] == one.status[0]).all(), k
        assert (batch.unit[same] == one.unit[0]).all(), k
        assert (batch.chain[same] == one.chain[0]).all(), k
        assert np.allclose(batch.distance_m[same], one.distance_m[0], equal_nan=True), k


# -- batch equals single ---------------------------------------------------------------------

STEP = 2.0**-10  # lattice spacing in degrees, exactly representable, so edges are exact


def _lattice_set() -> BoundarySet:
    """3 levels of nested lattice cells with exact binary coordinates; some leaders missing."""
    x0, y0 = 117.0, 39.0
    levels = []
    for name, cells, parent_cells in [("top", 4, None), ("mid", 16, 4), ("leaf", 64, 16)]:
        size = STEP * 64 / cells
        rows = []
        for ix in range(cells):
            for iy in range(cells):
                if name == "leaf" and (ix * 7 + iy * 3) % 23 == 0:
                    continue  # leave holes: gaps inside "mid" cells
                code = f"{name}-{ix:03d}-{iy:03d}"
                parent = ""
                if parent_cells:
                    f = cells // parent_cells
                    parent = f"{levels[-1][0]}-{ix // f:03d}-{iy // f:03d}"
                leader = None if (ix + iy) % 5 == 0 else f"L{code}"
                box = shapely.box(
                    x0 + ix * size, y0 + iy * size, x0 + (ix + 1) * size, y0 + (iy + 1) * size
                )
                rows.append((code, parent, leader, box))
        levels.append((name, _frame(rows)))
    return BoundarySet.from_levels(levels)


def _lattice_points(seed: int, n: int) -> tuple[np.ndarray, np.ndarray]:
    """A quarter of the points on the lattice's lines (edges and vertices), the rest anywhere,
    including a margin outside the set for snapping and unassigned points."""
    rng = np.random.default_rng(seed)
    span = STEP * 64
    lon = 117.0 + rng.uniform(-0.002, span + 0.002, n)
    lat = 39.0 + rng.uniform(-0.002, span + 0.002, n)
    on_grid = rng.random(n) < 0.25
    lon[on_grid] = 117.0 + rng.integers(0, 257, on_grid.sum()) * (STEP / 4)
    lat[on_grid] = 39.0 + rng.integers(0, 257, on_grid.sum()) * (STEP / 4)
    return lon, lat


def test_batch_equals_single_point_on_100k_points():
    index = BoundaryIndex(_lattice_set())
    n = 100_000
    lon, lat = _lattice_points(42, n)
    batch = index.assign(lon, lat)
    assert set(np.unique(batch.status)) == {ASSIGNED, GAP, SNAPPED, UNASSIGNED}
    for k in range(n):
        one = index.assign(lon[k : k + 1], lat[k : k + 1])
        assert one.status[0] == batch.status[k], k
        assert one.unit[0] == batch.unit[k], k
        assert one.leader[0] == batch.leader[k], k
        np.testing.assert_array_equal(one.chain[0], batch.chain[k])
        assert np.isclose(one.distance_m[0], batch.distance_m[k], equal_nan=True), k


def test_batch_agrees_with_brute_force_covers():
    bset = _lattice_set()
    index = BoundaryIndex(bset)
    rng = np.random.default_rng(3)
    n = 5_000
    lon = 117.0 + rng.integers(0, 257, n) * (STEP / 4)
    lat = 39.0 + rng.integers(0, 257, n) * (STEP / 4)
    result = index.assign(lon, lat)
    leaf = bset.level_positions("leaf")
    leaf_geoms = bset.units.geometry.to_numpy()[leaf]
    codes = bset.units["code"].to_numpy()
    for k in range(n):
        hits = leaf[shapely.covers(leaf_geoms, shapely.Point(lon[k], lat[k]))]
        if hits.size:
            assert result.status[k] == ASSIGNED
            assert codes[result.unit[k]] == min(codes[hits])
        else:
            assert result.status[k] in (GAP, SNAPPED, UNASSIGNED)


def test_a_point_placed_without_arrays_is_answered_as_assign_answers_it():
    """place() answers the points plainly inside a unit, exactly as describe(assign()) does
    (in WGS84 and GCJ-02), and leaves every other point to assign()."""
    index = BoundaryIndex(_lattice_set())
    n = 20_000
    lon, lat = _lattice_points(7, n)
    glon, glat = wgs84_to_gcj02(lon, lat)
    placed = {ASSIGNED: 0, GAP: 0}
    for crs, xs, ys in (("wgs84", lon, lat), ("gcj02", glon, glat)):
        for k in range(n):
            x, y = float(xs[k]), float(ys[k])
            found = index.place(x, y, crs)
            result = index.assign([x], [y], crs=crs)
            if found is None:
                continue
            answer, wlon, wlat = found
            assert answer == index.describe(result, 0), (crs, k)
            assert (wlon, wlat) == (result.lon[0], result.lat[0]), (crs, k)
            placed[answer["status"]] += 1
    # most points are inside a unit (some in gaps); those on edges and outside are not placed
    assert placed[ASSIGNED] > n and placed[GAP] > 100
    assert index.place(float("nan"), 39.0, "wgs84") is None
    assert index.place(117.0 - 1.0, 39.0, "wgs84") is None  # outside
    with pytest.raises(UnknownCRS):
        index.place(117.0, 39.0, "mars")
