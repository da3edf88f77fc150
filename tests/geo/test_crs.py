"""Coordinate systems: parsing, the published GCJ-02/BD-09 reference pairs, round trips."""

import doctest

import numpy as np
import pyproj
import pytest
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

import geo.crs
from geo.crs import (
    MAX_DENSIFIED_VERTICES,
    MAX_EDGE_VERTICES,
    bd09_to_gcj02,
    bd09_to_wgs84,
    check_densify,
    check_lonlat,
    densify_length,
    gcj02_to_bd09,
    gcj02_to_wgs84,
    invalid_lonlat,
    local_metric_crs,
    parse_crs,
    points_to_wgs84,
    transform_coords,
    transform_geometries,
    wgs84_to_bd09,
    wgs84_to_gcj02,
)
from geo.errors import InvalidCoordinates, InvalidGeometry, UnknownCRS

# (function, input lon, input lat, published lon, published lat, tolerance in degrees)
REFERENCE_PAIRS = [
    # googollee/eviltransform test table: Shanghai, WGS84 -> GCJ-02
    (wgs84_to_gcj02, 121.5272106, 31.1774276, 121.531541859215, 31.17530398364597, 1e-9),
    # same table: Shenzhen
    (wgs84_to_gcj02, 113.912316, 22.543847, 113.9171764808363, 22.540796131694766, 1e-9),
    # same table: Beijing
    (wgs84_to_gcj02, 116.377817, 39.911954, 116.38404722455657, 39.91334545536069, 1e-9),
    # wandergis/coordtransform README: WGS84 -> GCJ-02 at Tiananmen
    (wgs84_to_gcj02, 116.404, 39.915, 116.41024449916938, 39.91640428150164, 1e-9),
    # wandergis/coordtransform README: GCJ-02 -> BD-09
    (gcj02_to_bd09, 116.404, 39.915, 116.41036949371029, 39.92133699351021, 1e-9),
    # wandergis/coordtransform README: BD-09 -> GCJ-02 (theirs is the closed form; ours refines it)
    (bd09_to_gcj02, 116.404, 39.915, 116.39762729119315, 39.90865673957631, 1e-6),
    # wandergis/coordtransform README: GCJ-02 -> WGS84 (theirs is one step; ours iterates)
    (gcj02_to_wgs84, 116.404, 39.915, 116.39775550083061, 39.91359571849836, 2e-5),
    # geotool test constants (Jiaxing): WGS84 -> BD-09
    (wgs84_to_bd09, 121.0917077, 30.6107779, 121.10271732371203, 30.61484572185035, 1e-6),
]


@pytest.mark.parametrize(("func", "lon", "lat", "ref_lon", "ref_lat", "tol"), REFERENCE_PAIRS)
def test_published_reference_pairs(func, lon, lat, ref_lon, ref_lat, tol):
    got_lon, got_lat = func(lon, lat)
    assert abs(float(got_lon) - ref_lon) < tol
    assert abs(float(got_lat) - ref_lat) < tol


def _metres(lon1, lat1, lon2, lat2):
    geod = pyproj.Geod(ellps="WGS84")
    return geod.inv(lon1, lat1, lon2, lat2)[2]


def test_round_trips_under_a_metre_across_china():
    rng = np.random.default_rng(7)
    lon = rng.uniform(73.5, 135.0, 20_000)
    lat = rng.uniform(18.0, 53.5, 20_000)
    for forward, backward in [(wgs84_to_gcj02, gcj02_to_wgs84), (wgs84_to_bd09, bd09_to_wgs84)]:
        back_lon, back_lat = backward(*forward(lon, lat))
        err = _metres(lon, lat, back_lon, back_lat)
        assert err.max() < 1.0, f"{forward.__name__}: round trip error {err.max():.3g} m"
        # and in fact far better than required
        assert err.max() < 0.01


def test_offset_in_tianjin_is_hundreds_of_metres():
    # the reason every coordinate must name its system: the shift dwarfs a micro-grid
    lon, lat = np.array([117.2]), np.array([39.1])
    g_lon, g_lat = wgs84_to_gcj02(lon, lat)
    b_lon, b_lat = wgs84_to_bd09(lon, lat)
    assert 300 < _metres(lon, lat, g_lon, g_lat)[0] < 700
    assert _metres(lon, lat, b_lon, b_lat)[0] > 700


def test_outside_china_is_unchanged():
    lon, lat = wgs84_to_gcj02([2.35, -71.1], [48.85, 42.37])
    assert lon.tolist() == [2.35, -71.1] and lat.tolist() == [48.85, 42.37]
    lon, lat = gcj02_to_wgs84([2.35], [48.85])
    assert lon.tolist() == [2.35] and lat.tolist() == [48.85]


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("wgs84", "wgs84"),  # canonical
        ("WGS-84", "wgs84"),  # hyphen and case
        ("EPSG:4326", "wgs84"),  # WGS84 by code
        ("gcj02", "gcj02"),  # Amap / Tencent
        ("GCJ-02", "gcj02"),
        ("bd09", "bd09"),  # Baidu
        ("epsg:32650", "EPSG:32650"),  # UTM 50N
        ("4547", "EPSG:4547"),  # CGCS2000 3-degree GK, bare code
        (32650, "EPSG:32650"),  # integer
    ],
)
def test_parse_crs_accepts(text, name):
    assert parse_crs(text).name == name


@pytest.mark.parametrize("text", ["", "mars", "EPSG:999999", "EPSG:", "gcj03", None])
def test_parse_crs_rejects_with_allowed_list(text):
    with pytest.raises(UnknownCRS) as info:
        parse_crs(text)
    assert "EPSG" in (info.value.allowed or "")


def test_transform_coords_epsg_and_named():
    x, y = transform_coords([117.2], [39.1], "wgs84", "EPSG:32650")
    assert 480_000 < x[0] < 520_000 and 4_300_000 < y[0] < 4_350_000
    lon, lat = transform_coords(x, y, "EPSG:32650", "gcj02")
    ref_lon, ref_lat = wgs84_to_gcj02(117.2, 39.1)
    assert abs(lon[0] - ref_lon) < 1e-8 and abs(lat[0] - ref_lat) < 1e-8
    lon, lat = transform_coords(*gcj02_to_bd09(*wgs84_to_gcj02(117.2, 39.1)), "bd09", "wgs84")
    assert abs(lon - 117.2) < 1e-9 and abs(lat - 39.1) < 1e-9


@pytest.mark.parametrize(
    ("lon", "lat", "reason"),
    [
        (float("nan"), 39.1, "lon is not a finite number"),  # NaN
        (117.2, float("inf"), "lat is not a finite number"),  # infinity
        (180.5, 39.1, "outside [-180, 180]"),  # longitude just out of range
        (117.2, -90.01, "outside [-90, 90]"),  # latitude just out of range
    ],
)
def test_invalid_coordinates_are_named(lon, lat, reason):
    mask, why = invalid_lonlat([117.2, lon], [39.1, lat])
    assert mask.tolist() == [False, True]
    assert reason in why[1]
    with pytest.raises(InvalidCoordinates) as info:
        check_lonlat([117.2, lon], [39.1, lat])
    assert info.value.details["invalid"][0]["index"] == 1


def test_edges_of_range_are_valid():
    check_lonlat([-180, 180, 0], [-90, 90, 0])


def test_local_metric_crs_is_utm():
    assert local_metric_crs((117.19, 39.05, 117.28, 39.12)).to_epsg() == 32650
    assert local_metric_crs((-71.16, 42.35, -71.06, 42.40)).to_epsg() == 32619
    assert local_metric_crs((151.0, -34.0, 151.3, -33.8)).to_epsg() == 32756


# (x, y, crs, the reason it is refused: "" if it is not), one commented row per case
POINT_CASES = [
    (117.2, 39.1, "wgs84", ""),  # inside the range
    (-180.0, 90.0, "wgs84", ""),  # the corner of the range is valid
    (float("nan"), 39.1, "wgs84", "lon is not a finite number"),  # NaN
    (117.2, 95.0, "gcj02", "lat 95.0 is outside [-90, 90]"),  # checked before conversion
    (200.0, 39.1, "bd09", "lon 200.0 is outside [-180, 180]"),
    (517_294.0, 4_327_893.0, "EPSG:32650", ""),  # UTM 50N metres: projected x, y are not degrees
    (517_294.0, float("inf"), "EPSG:32650", "x or y is not a finite number"),
    (1e12, 4_327_893.0, "EPSG:32650", "outside the globe once converted from EPSG:32650"),
]


@pytest.mark.parametrize("x, y, crs, reason", POINT_CASES)
def test_points_to_wgs84_flags_each_point(x, y, crs, reason):
    lon, lat, why = points_to_wgs84([117.21, x], [39.11, y], crs, errors="flag")
    assert why.tolist() == ["", reason]
    if reason:
        assert np.isnan(lon[1]) and np.isnan(lat[1])
    else:
        expected = transform_coords([x], [y], crs, "wgs84")
        assert (lon[1], lat[1]) == pytest.approx((expected[0][0], expected[1][0]), abs=1e-12)


@pytest.mark.parametrize("x, y, crs, reason", [case for case in POINT_CASES if case[3]])
def test_points_to_wgs84_raises_naming_the_bad_point(x, y, crs, reason):
    with pytest.raises(InvalidCoordinates) as info:
        points_to_wgs84([117.21, x, x], [39.11, y, y], crs)
    assert info.value.details["invalid"] == [
        {"index": 1, "reason": reason},
        {"index": 2, "reason": reason},
    ]
    assert info.value.details["invalid_count"] == 2
    assert "first at index 1" in info.value.message


def test_points_to_wgs84_batch_equals_single_points():
    rng = np.random.default_rng(7)
    x = rng.uniform(-200, 200, 300)
    y = rng.uniform(-100, 100, 300)
    x[::17] = np.nan
    lon, lat, why = points_to_wgs84(x, y, "gcj02", errors="flag")
    for i in range(len(x)):
        one = points_to_wgs84([x[i]], [y[i]], "gcj02", errors="flag")
        assert one[2][0] == why[i]
        np.testing.assert_array_equal([one[0][0], one[1][0]], [lon[i], lat[i]])


def test_examples_in_docstrings_run():
    result = doctest.testmod(geo.crs)
    assert result.attempted > 0 and result.failed == 0


# -- densifying is bounded ------------------------------------------------------------------------

#: A Boston precinct in Massachusetts State Plane feet (EPSG:2249): 3,000 ft squares near City Hall
FEET = shapely.box(775_627.0, 2_956_522.0, 778_627.0, 2_959_522.0)

# (geometries, source system, which limit refuses them or None), one commented row per case
DENSIFY = [
    # feet read as degrees: 6 million vertices on each 3,000 "degree" edge
    pytest.param([FEET], "wgs84", "to one edge", id="feet-read-as-degrees"),
    # the same square in the system it is drawn in: 60 vertices an edge
    pytest.param([FEET], "EPSG:2249", None, id="feet-as-feet"),
    # a micro-grid in degrees: a few vertices
    pytest.param([shapely.box(117.2, 39.1, 117.201, 39.101)], "wgs84", None, id="micro-grid"),
    # a long, straight edge of 40 degrees (a border along a parallel): 80,000 vertices, allowed
    pytest.param([shapely.box(80.0, 40.0, 120.0, 40.001)], "wgs84", None, id="long-edge"),
    # many short edges in a large box: the bounding box alone does not refuse it
    pytest.param(
        [shapely.Point(0, 0).buffer(80.0, quad_segs=4096)], "wgs84", None, id="large-fine-ring"
    ),
    # 1,000 units of 10 x 10 degrees: no edge too long, 80 million vertices in all
    pytest.param([shapely.box(i % 30, i // 30, i % 30 + 10, i // 30 + 10) for i in range(1000)],
                 "wgs84", "in all", id="too-many-in-all"),
]  # fmt: skip


@pytest.mark.parametrize(("geoms", "source", "refused"), DENSIFY)
def test_densifying_is_bounded(geoms, source, refused):
    target = "EPSG:32619"
    if refused is None:
        out = transform_geometries(geoms, source, target)
        assert shapely.get_num_coordinates(out).sum() <= check_densify(
            geoms, densify_length(source)
        )
        return
    with pytest.raises(InvalidGeometry) as info:
        transform_geometries(geoms, source, target)
    assert info.value.code == "too_many_vertices"
    assert "at most" in info.value.message and info.value.allowed
    if refused == "in all":
        assert f"{MAX_DENSIFIED_VERTICES:,}" in info.value.message
    else:
        assert f"{MAX_EDGE_VERTICES:,}" in info.value.message


def test_densify_limits_can_be_set():
    square = [shapely.box(117.2, 39.1, 117.21, 39.11)]  # 20 pieces an edge at 0.0005
    transform_geometries(square, "wgs84", "EPSG:32650", max_edge_vertices=19)
    with pytest.raises(InvalidGeometry, match="at most 18"):
        transform_geometries(square, "wgs84", "EPSG:32650", max_edge_vertices=18)
    with pytest.raises(InvalidGeometry, match="at most 50"):
        transform_geometries(square, "wgs84", "EPSG:32650", max_vertices=50)


@settings(max_examples=300, deadline=None)
@given(
    lon=st.floats(-180, 180),
    lat=st.floats(-90, 90),
    crs=st.sampled_from(["wgs84", "gcj02", "bd09"]),
)
def test_one_point_converts_as_in_a_batch(lon, lat, crs):
    """A single point (a report's, a lookup's) takes a path without arrays: the same answer,
    to the bit, as the same point among others."""
    one = points_to_wgs84([lon], [lat], crs, errors="flag")
    many = points_to_wgs84(np.array([lon, 117.2]), np.array([lat, 39.1]), crs, errors="flag")
    np.testing.assert_array_equal(one[0], many[0][:1])  # NaN where refused, in both
    np.testing.assert_array_equal(one[1], many[1][:1])
    assert one[2].tolist() == many[2][:1].tolist() and one[0].shape == (1,)
