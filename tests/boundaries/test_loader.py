"""Reading boundary sets: GeoPackage layers, one file per level, coordinate systems, bad files."""

import json

import geopandas as gpd
import numpy as np
import pytest
import shapely

from boundaries.loader import load_boundary_set, read_boundary_set, write_boundary_set
from geo.crs import wgs84_to_gcj02
from geo.errors import BoundaryFileError
from geo.units import BoundarySet
from tests.conftest import tiny_layers


def test_geopackage_layers_are_levels_in_order(tiny_gpkg):
    bset = read_boundary_set(tiny_gpkg)
    assert bset.levels == ("district", "grid", "microgrid")
    assert bset.units["code"].tolist() == ["D", "G1", "G2", "M1", "M2", "M3", "M5"]
    assert bset.source_crs.name == "wgs84"
    assert bset.units.set_index("code").loc["G1", "properties"] == {"households": 20}
    assert bset.units.set_index("code").loc["G2", "leader_name"] is None


@pytest.mark.parametrize(
    ("suffix", "driver"),
    [
        (".geojson", "GeoJSON"),  # one GeoJSON file per level
        (".shp", "ESRI Shapefile"),  # one Shapefile per level
    ],
)
def test_one_file_per_level(tmp_path, suffix, driver):
    paths = []
    for level, frame in tiny_layers():
        path = tmp_path / f"{level}{suffix}"
        frame.to_file(path, driver=driver, engine="pyogrio")
        paths.append(path)
    bset = read_boundary_set(paths)
    assert bset.levels == ("district", "grid", "microgrid")
    assert len(bset) == 7
    m1 = bset.units.set_index("code").loc["M1"]
    assert m1["name"] == "微网格1"
    # Shapefile cuts column names to 10 characters; the leader columns are still found
    assert (m1["leader_name"], m1["leader_phone"]) == ("王芳", "100-0000-0000")


def test_level_names_override(tiny_gpkg):
    bset = read_boundary_set(tiny_gpkg, level_names=["qu", "wangge", "wei"])
    assert bset.levels == ("qu", "wangge", "wei")


def test_gcj02_file_is_converted_to_wgs84(tmp_path):
    """A set drawn on an Amap base map: coordinates in GCJ-02, declared with crs='gcj02'."""
    layers = tiny_layers()
    path = tmp_path / "gcj.gpkg"

    def to_gcj(coords):
        lon, lat = wgs84_to_gcj02(coords[:, 0], coords[:, 1])
        return np.column_stack([lon, lat])

    for level, frame in layers:
        shifted = frame.set_geometry(shapely.transform(frame.geometry.values, to_gcj))
        shifted.to_file(path, layer=level, driver="GPKG", engine="pyogrio")
    bset = read_boundary_set(path, crs="gcj02")
    assert bset.source_crs.name == "gcj02"
    original = read_boundary_set(_write(tmp_path / "wgs.gpkg", layers))
    # back within 0.2 m of the WGS84 original (vertices added along the GCJ-02 edges follow
    # that system's straight lines, which bow by centimetres in WGS84)
    dist = shapely.hausdorff_distance(bset.units.geometry.values, original.units.geometry.values)
    assert np.all(dist < 2e-6)


def test_projected_file(tmp_path):
    layers = [(lv, f.to_crs(32650)) for lv, f in tiny_layers()]
    bset = read_boundary_set(_write(tmp_path / "utm.gpkg", layers))
    assert bset.source_crs.name == "EPSG:32650"
    assert bset.units.crs.to_epsg() == 4326
    minx, miny, maxx, maxy = bset.bounds
    assert 117.19 < minx < maxx < 117.23 and 39.09 < miny < maxy < 39.12


def test_round_trip_write(tmp_path, tiny_gpkg):
    bset = read_boundary_set(tiny_gpkg)
    out = tmp_path / "copy.gpkg"
    write_boundary_set(bset, out)
    again = read_boundary_set(out)
    assert again.levels == bset.levels
    assert again.units["code"].tolist() == bset.units["code"].tolist()


def _write(path, layers):
    for level, frame in layers:
        frame.to_file(path, layer=level, driver="GPKG", engine="pyogrio")
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        # a file that does not exist
        (lambda tmp: [tmp / "missing.gpkg"], "does not exist"),
        # not a vector file at all
        (lambda tmp: [_text(tmp / "x.gpkg", "hello")], "cannot read"),
        # a level without the parent column
        (
            lambda tmp: [_geojson(tmp / "a.geojson", drop="parent")],
            "lacks column(s) ['parent']",
        ),
        # no CRS in the file and none given
        (lambda tmp: [_geojson(tmp / "a.geojson", crs=None, driver="ESRI Shapefile")], "no coord"),
        # a GeoPackage mixed with other files
        (
            lambda tmp: [_write(tmp / "t.gpkg", tiny_layers()), _geojson(tmp / "b.geojson")],
            "GeoPackage alone",
        ),
    ],
)
def test_bad_files_say_what_is_wrong(tmp_path, make, message):
    with pytest.raises(BoundaryFileError) as info:
        read_boundary_set(make(tmp_path))
    assert message in info.value.message
    assert info.value.allowed


def test_unknown_crs_override(tiny_gpkg):
    from geo.errors import UnknownCRS

    with pytest.raises(UnknownCRS):
        read_boundary_set(tiny_gpkg, crs="mars")


def _text(path, text):
    path.write_text(text)
    return path


def _geojson(path, drop=None, crs=4326, driver="GeoJSON"):
    frame = gpd.GeoDataFrame(
        {"code": ["A"], "name": ["a"], "parent": [""]},
        geometry=[shapely.box(117.2, 39.1, 117.21, 39.11)],
        crs=crs,
    )
    if drop:
        frame = frame.drop(columns=[drop])
    if driver != "GeoJSON":
        path = path.with_suffix(".shp")
    frame.to_file(path, driver=driver, engine="pyogrio")
    return path


# -- coordinates that cannot be in the system they are read in ------------------------------------

#: Boston City Hall in Massachusetts State Plane feet (EPSG:2249).
BOSTON_FT = (775_627.0, 2_956_522.0)
#: A point in Chicago in Illinois East State Plane feet (EPSG:3435).
CHICAGO_FT = (1_160_000.0, 1_900_000.0)


def _feature_collection(path, origin, size, codes, *, parent="", crs=None):
    """A GeoJSON as a city's GIS exports it: squares of ``size`` feet from ``origin``, with no
    ``crs`` member unless one is given (then the pre-RFC 7946 form)."""
    x0, y0 = origin
    features = [
        {
            "type": "Feature",
            "properties": {"code": code, "name": f"Precinct {code}", "parent": parent},
            "geometry": shapely.geometry.mapping(
                shapely.box(x0 + k * size, y0, x0 + (k + 1) * size, y0 + size)
            ),
        }
        for k, code in enumerate(codes)
    ]
    body = {"type": "FeatureCollection", "features": features}
    if crs:
        body["crs"] = {"type": "name", "properties": {"name": crs}}
    path.write_text(json.dumps(body))
    return path


def test_feet_without_a_crs_are_refused_naming_the_fix(tmp_path):
    """Boston's precincts in State Plane feet with no crs member: GDAL reads them as WGS84."""
    precincts = _feature_collection(
        tmp_path / "precinct.geojson", BOSTON_FT, 3000, ["0101", "0102"]
    )
    with pytest.raises(BoundaryFileError) as info:
        read_boundary_set(precincts)
    error = info.value
    assert error.code == "wrong_crs"
    assert error.details["level"] == "precinct"
    assert "no longitude/latitude can have" in error.message
    assert "x from 775,627.00 to 781,627.00" in error.message
    assert "declares it or none" in error.message  # the likely cause
    assert "first '0101'" in error.message
    for fix in ("WANGGE_BOUNDARIES_CRS=EPSG:<code>", "--crs EPSG:<code>", "--boundaries-crs"):
        assert fix in error.message  # a service's log shows the message alone
    assert "EPSG:2249" in error.allowed
    # the fix: the file's real system
    bset = read_boundary_set(precincts, crs="EPSG:2249")
    minx, miny, maxx, maxy = bset.bounds
    assert -71.07 < minx < maxx < -71.03 and 42.35 < miny < maxy < 42.38


def test_a_level_in_feet_among_levels_in_degrees(tmp_path):
    """Chicago: community areas in WGS84, wards in Illinois East feet without a crs member; the
    service used to start with bounds of [-87.94, 41.64, 1205198.85, 1951669.02]."""
    area = gpd.GeoDataFrame(
        {"code": ["CA1"], "name": ["Rogers Park"], "parent": [""]},
        geometry=[shapely.box(-87.94, 41.64, -87.52, 42.02)],
        crs=4326,
    )
    area.to_file(tmp_path / "community.geojson", driver="GeoJSON", engine="pyogrio")
    wards = _feature_collection(tmp_path / "ward.geojson", CHICAGO_FT, 5000, ["W1"], parent="CA1")
    with pytest.raises(BoundaryFileError) as info:
        read_boundary_set([tmp_path / "community.geojson", wards])
    assert info.value.details["level"] == "ward"
    assert "x from 1,160,000.00 to 1,165,000.00" in info.value.message


@pytest.mark.parametrize(
    ("crs_member", "given", "cause"),
    [
        (None, "wgs84", "because that crs was given"),  # said to be WGS84 on the command line
        ("urn:ogc:def:crs:OGC:1.3:CRS84", None, "because the file declares it"),  # the file
    ],
)
def test_the_message_names_where_the_wrong_crs_came_from(tmp_path, crs_member, given, cause):
    path = _feature_collection(tmp_path / "p.geojson", BOSTON_FT, 3000, ["A"], crs=crs_member)
    with pytest.raises(BoundaryFileError, match=cause):
        read_boundary_set(path, crs=given)


def test_degrees_read_as_feet_are_refused(tmp_path):
    """The other way round: longitude/latitude said to be State Plane feet would shrink every
    unit to a speck (validate said "0.0 m² outside its parent")."""
    path = _write(tmp_path / "lonlat.gpkg", tiny_layers())
    with pytest.raises(BoundaryFileError) as info:
        read_boundary_set(path, crs="EPSG:2249")
    assert info.value.code == "wrong_crs"
    assert info.value.details["level"] == "district"
    assert "These are longitude/latitude" in info.value.message
    assert "0.02 US survey foot across" in info.value.message


def test_points_off_the_globe_once_converted(tmp_path):
    frame = gpd.GeoDataFrame(
        {"code": ["A"], "name": ["a"], "parent": [""]},
        geometry=[shapely.box(1e9, 1e9, 1e9 + 100, 1e9 + 100)],
        crs=32650,
    )
    frame.to_file(tmp_path / "far.gpkg", layer="area", driver="GPKG", engine="pyogrio")
    with pytest.raises(BoundaryFileError, match="off the globe once converted from EPSG:32650"):
        read_boundary_set(tmp_path / "far.gpkg")


def test_a_set_too_large_to_densify_is_refused_when_read():
    """700 squares of 10 degrees: in range, but 56 million vertices once densified to 50 m, which
    the first snapped lookup or validation would have to make."""
    squares = [shapely.box(k % 30, k // 30, k % 30 + 10, k // 30 + 10) for k in range(700)]
    frame = gpd.GeoDataFrame(
        {"code": [str(k) for k in range(700)], "name": "x", "parent": ""},
        geometry=squares,
        crs=4326,
    )
    with pytest.raises(BoundaryFileError) as info:
        BoundarySet.from_levels([("square", frame)], name="squares.gpkg")
    assert info.value.code == "wrong_crs"
    assert "squares.gpkg is too large" in info.value.message
    assert "at most 50,000,000" in info.value.message


def test_a_crs_without_epsg_code_is_refused_clearly(tmp_path):
    custom = "+proj=tmerc +lat_0=0 +lon_0=117.3 +k=0.9999 +x_0=123456 +y_0=-3000000 +ellps=krass"
    frame = gpd.GeoDataFrame(
        {"code": ["A"], "name": ["a"], "parent": [""]},
        geometry=[shapely.box(100_000, 1_300_000, 101_000, 1_301_000)],
        crs=custom,
    )
    frame.to_file(tmp_path / "local.gpkg", layer="area", driver="GPKG", engine="pyogrio")
    with pytest.raises(BoundaryFileError) as info:
        read_boundary_set(tmp_path / "local.gpkg")
    assert info.value.code == "wrong_crs"
    assert "has no EPSG code" in info.value.message
    assert "WANGGE_BOUNDARIES_CRS" in info.value.message


# -- loading for use: refused when answers would be wrong -----------------------------------------


def _with(layers, level, **changes):
    """The tiny set with some cells of one level changed: {(row, column): value}."""
    out = []
    for name, frame in layers:
        frame = frame.copy()
        if name == level:
            for (row, column), value in changes["cells"].items():
                frame.loc[row, column] = value
        out.append((name, frame))
    return out


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        # M2 takes M1's code: its points would be answered as M1 (微网格1)
        ({(1, "code"): "M1"}, "code 'M1' is used by 2 units (level microgrid)"),
        # M5 drawn as its centre point
        ({(3, "geometry"): shapely.Point(117.2125, 39.105)}, "unit 'M5' is a Point"),
    ],
)
def test_load_refuses_sets_that_answer_wrongly(tmp_path, cells, message):
    path = _write(tmp_path / "bad.gpkg", _with(tiny_layers(), "microgrid", cells=cells))
    read_boundary_set(path)  # as it is, for the validator
    with pytest.raises(BoundaryFileError) as info:
        load_boundary_set(path)
    assert info.value.code == "boundary_set_refused"
    assert message in info.value.message
    assert "wangge validate" in info.value.allowed
    assert info.value.details["report"]["checks"] == "load"
    assert info.value.details["report"]["ok"] is False


def test_load_reports_the_rest(tmp_path):
    bowtie = shapely.Polygon([(117.21, 39.10), (117.215, 39.11), (117.215, 39.10), (117.21, 39.11)])
    path = _write(
        tmp_path / "warn.gpkg",
        _with(tiny_layers(), "microgrid", cells={(3, "geometry"): bowtie, (0, "parent"): "G9"}),
    )
    bset, report = load_boundary_set(path)
    assert len(bset) == 7
    assert {i.kind for i in report.issues} == {"invalid_geometry", "orphan"}
    assert report.refusing == []
    _, clean = load_boundary_set(_write(tmp_path / "clean.gpkg", tiny_layers()))
    assert clean.issues == []


def test_written_set_keeps_its_properties(tmp_path, tiny_gpkg):
    layers = tiny_layers()
    layers[0][1]["tags"] = [json.dumps(["老旧小区"])]  # text that looks like JSON stays text
    bset = read_boundary_set(_write(tmp_path / "in.gpkg", layers))
    write_boundary_set(bset, tmp_path / "out.gpkg")
    again = read_boundary_set(tmp_path / "out.gpkg")
    assert again.units["properties"].tolist() == bset.units["properties"].tolist()
    assert again.units.set_index("code").loc["G1", "properties"] == {"households": 20}
