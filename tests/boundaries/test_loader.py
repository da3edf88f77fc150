"""Reading boundary sets: GeoPackage layers, one file per level, coordinate systems, bad files."""

import geopandas as gpd
import numpy as np
import pytest
import shapely

from boundaries.loader import read_boundary_set, write_boundary_set
from geo.crs import wgs84_to_gcj02
from geo.errors import BoundaryFileError
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
