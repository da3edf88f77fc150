"""Boundary files handed in for a new version: what is read (GeoPackage, zips of GeoJSON or
Shapefile files in either order, one GeoJSON) and what is refused with a clear 4xx."""

from __future__ import annotations

import io
import json
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from api.schemas import ErrorBody
from api.versions.schemas import VersionOut
from tests.api.conftest import make_client
from tests.api.versions.conftest import error, upload, zip_of
from tests.conftest import tiny_layers


@pytest.fixture(scope="module")
def served(app_settings):
    client, keys = make_client(
        app_settings.model_copy(update={"max_boundary_upload_bytes": 300_000})
    )
    try:
        yield client, keys
    finally:
        client.__exit__(None, None, None)


@pytest.fixture(scope="module")
def api(served):
    return served[0]


@pytest.fixture(scope="module")
def admin(served):
    return served[1]["admin"]


def geojson_of(frame: gpd.GeoDataFrame) -> bytes:
    return frame.to_json(drop_id=True).encode()


def shapefile_parts(frame: gpd.GeoDataFrame, folder: Path, stem: str) -> dict[str, bytes]:
    frame.to_file(folder / f"{stem}.shp", engine="pyogrio")
    return {p.name: p.read_bytes() for p in folder.glob(f"{stem}.*")}


def created(response) -> VersionOut:
    assert response.status_code == 201, response.text
    return VersionOut.model_validate(response.json())


def refused(response, status, code) -> ErrorBody:
    body = error(response, status, code)
    assert body.allowed
    return body


def test_a_zip_of_geojson_files_in_the_order_of_their_prefixes(api, admin, tmp_path):
    layers = tiny_layers()
    files = {
        f"{n}_{level}.geojson": geojson_of(frame) for n, (level, frame) in enumerate(layers, 1)
    }
    # stored in the archive bottom level first: the prefixes give the order
    archive = zip_of(dict(reversed(list(files.items()))), tmp_path / "levels.zip")
    version = created(upload(api, admin, archive))
    assert version.levels == ["district", "grid", "microgrid"]
    assert version.unit_counts == {"district": 1, "grid": 2, "microgrid": 4}
    assert version.errors == 0


# Shapefile cuts leader_name to leader_nam (the loader maps it back): what writing one warns
@pytest.mark.filterwarnings("ignore:Normalized/laundered field name", "ignore:Column names longer")
def test_a_zip_of_shapefiles_ordered_by_their_parent_codes(api, admin, tmp_path):
    parts: dict[str, bytes] = {}
    for level, frame in reversed(tiny_layers()):
        parts |= shapefile_parts(frame, tmp_path, level)
    version = created(upload(api, admin, zip_of(parts, tmp_path / "shapes.zip"), crs="wgs84"))
    assert version.levels == ["district", "grid", "microgrid"]


def test_one_geojson_file_is_a_one_level_set(api, admin, tmp_path):
    path = tmp_path / "street.geojson"
    path.write_bytes(geojson_of(tiny_layers()[0][1]))
    version = created(upload(api, admin, path, name="一个街道"))
    assert version.levels == ["street"] and version.name == "一个街道"


@pytest.mark.parametrize(
    ("name", "content", "status", "code"),
    [
        # not a boundary file at all
        ("notes.txt", b"hello", 422, "invalid_boundary_file"),
        # a GeoPackage that is not one
        ("broken.gpkg", b"SQLite format 3\x00 but not really", 422, "invalid_boundary_file"),
        # a zip that is not one
        ("broken.zip", b"PK\x03\x04 truncated", 422, "invalid_boundary_file"),
        # GeoJSON that is not JSON
        (
            "broken.geojson",
            b'{"type": "FeatureCollection", "features": [',
            422,
            "invalid_boundary_file",
        ),
    ],
    ids=["txt", "gpkg", "zip", "geojson"],
)
def test_unreadable_files_are_refused(api, admin, tmp_path, name, content, status, code):
    path = tmp_path / name
    path.write_bytes(content)
    refused(upload(api, admin, path), status, code)


def test_metres_declared_as_degrees_are_refused_with_a_projected_crs_suggested(
    api, admin, tmp_path
):
    frame = tiny_layers()[0][1]
    # the district drawn in CGCS2000 / 3-degree Gauss-Kruger (metres), but labelled WGS84
    projected = frame.to_crs(4547).set_crs(4326, allow_override=True)
    path = tmp_path / "district.geojson"
    path.write_bytes(geojson_of(projected))
    body = refused(upload(api, admin, path), 422, "invalid_boundary_file")
    assert "cannot be longitude and latitude" in body.message
    assert "EPSG:4547" in (body.allowed or "")
    # told what it is, the same file is read
    created(upload(api, admin, path, crs="EPSG:4547"))


def test_degrees_declared_as_metres_are_refused(api, admin, tmp_path):
    path = tmp_path / "district.geojson"
    path.write_bytes(geojson_of(tiny_layers()[0][1]))
    body = refused(upload(api, admin, path, crs="EPSG:4547"), 422, "invalid_boundary_file")
    assert "look like degrees" in body.message


def test_an_unknown_crs_is_refused(api, admin, tmp_path):
    path = tmp_path / "district.geojson"
    path.write_bytes(geojson_of(tiny_layers()[0][1]))
    refused(upload(api, admin, path, crs="mars"), 422, "unknown_crs")


def test_a_zip_bomb_is_refused_before_it_is_unpacked(api, admin, tmp_path):
    # 12 MB of spaces compress to a few kilobytes: far beyond 5 times the archive's size
    bomb = {"1_district.geojson": b" " * 12_000_000}
    refused(upload(api, admin, zip_of(bomb, tmp_path / "bomb.zip")), 422, "invalid_boundary_file")


def test_zip_entries_cannot_escape_the_upload_folder(api, admin, tmp_path):
    layers = tiny_layers()
    files = {f"../../{n}_{lv}.geojson": geojson_of(f) for n, (lv, f) in enumerate(layers, 1)}
    version = created(upload(api, admin, zip_of(files, tmp_path / "sneaky.zip")))
    assert version.levels == ["district", "grid", "microgrid"]
    assert not (tmp_path.parent.parent / "1_district.geojson").exists()


def test_levels_whose_order_cannot_be_told_are_refused(api, admin, tmp_path):
    top = tiny_layers()[0][1]
    twin = top.assign(code=["E"])
    files = {"a.geojson": geojson_of(top), "b.geojson": geojson_of(twin)}
    body = refused(
        upload(api, admin, zip_of(files, tmp_path / "twins.zip")), 422, "invalid_boundary_file"
    )
    assert "order" in body.message


def test_uploads_beyond_the_boundary_limit_are_refused(api, admin, tmp_path):
    path = tmp_path / "huge.geojson"
    frame = gpd.GeoDataFrame(
        {"code": ["D"], "name": ["x" * 400_000], "parent": [""]},
        geometry=[shapely.box(117.2, 39.1, 117.21, 39.11)],
        crs=4326,
    )
    path.write_bytes(geojson_of(frame))
    response = upload(api, admin, path)
    assert response.status_code == 413, response.text
    assert ErrorBody.model_validate(response.json()).code == "body_too_large"


def test_the_upload_needs_a_file(api, admin):
    response = api.post(
        "/boundaries/versions",
        files={"other": ("x.gpkg", io.BytesIO(b"x"))},
        headers={"Authorization": f"Bearer {admin}"},
    )
    assert response.status_code == 422, response.text
    assert json.loads(response.text)["code"] == "invalid_request"
