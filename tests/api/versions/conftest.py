"""Next year's grid map for the tiny set, as real files: one grid's micro-grids redrawn, a
grid removed, a new grid, and a set with validation errors."""

from __future__ import annotations

import zipfile
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

from api.schemas import ErrorBody, ReportOut
from tests.api.conftest import auth
from tests.conftest import tiny_layers

HOLE = shapely.box(117.206, 39.107, 117.207, 39.108)

#: Places of the scenario (WGS84), and where each is in version 1 -> version 2:
#: in M3, north-west of G1: M3 -> M1 (G1's micro-grids are redrawn as west and east halves)
IN_M3 = (117.2025, 39.1075)
#: in M1 in both versions
IN_M1 = (117.2025, 39.1025)
#: in M5: G2 -> the new grid G3 above it, and a leader of its own from the new file
IN_M5 = (117.2125, 39.1050)
#: in G2 outside M5 (a gap): G2 is removed and the district shrinks: no unit at all
IN_G2_GAP = (117.2175, 39.1050)


def frame(rows: list[tuple]) -> gpd.GeoDataFrame:
    """A level: (code, name, parent, leader or None, geometry) per unit."""
    return gpd.GeoDataFrame(
        {
            "code": [r[0] for r in rows],
            "name": [r[1] for r in rows],
            "parent": [r[2] for r in rows],
            "leader_name": [r[3] for r in rows],
            "leader_phone": [f"100-0000-9{i:03d}" if r[3] else None for i, r in enumerate(rows)],
        },
        geometry=[r[4] for r in rows],
        crs=4326,
    )


def next_year_layers() -> list[tuple[str, gpd.GeoDataFrame]]:
    """Version 2: D shrinks to 117.20-117.215; G1 renamed; G2 removed; G3 new (M5 moves under
    it); G1's micro-grids redrawn: M1 the west half, M2 the east half (with the hole), M3 gone.
    The file names leaders: new ones (G3, M5) and others than the roster's (M1)."""
    return [
        (
            "district",
            frame([("D", "河西区", "", "张伟", shapely.box(117.20, 39.10, 117.215, 39.11))]),
        ),
        (
            "grid",
            frame(
                [
                    (
                        "G1",
                        "第一网格（调整）",
                        "D",
                        None,
                        shapely.box(117.20, 39.10, 117.21, 39.11),
                    ),
                    ("G3", "第三网格", "D", "赵强", shapely.box(117.21, 39.10, 117.215, 39.11)),
                ]
            ),
        ),
        (
            "microgrid",
            frame(
                [
                    ("M1", "微网格1", "G1", "别人", shapely.box(117.20, 39.10, 117.205, 39.11)),
                    (
                        "M2",
                        "微网格2",
                        "G1",
                        None,
                        shapely.box(117.205, 39.10, 117.21, 39.11).difference(HOLE),
                    ),
                    ("M5", "微网格5", "G3", "孙丽", shapely.box(117.21, 39.10, 117.215, 39.11)),
                ]
            ),
        ),
    ]


def write_gpkg(layers: list[tuple[str, gpd.GeoDataFrame]], path: Path) -> Path:
    for level, layer in layers:
        layer.to_file(path, layer=level, driver="GPKG", engine="pyogrio")
    return path


@pytest.fixture(scope="session")
def next_year_gpkg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_gpkg(next_year_layers(), tmp_path_factory.mktemp("v2") / "hexi-2027.gpkg")


@pytest.fixture(scope="session")
def overlapping_gpkg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny set with M2 drawn over half of M1: an overlap, a validation error."""
    layers = tiny_layers()
    micro = layers[2][1].copy()
    micro.loc[micro["code"] == "M2", "geometry"] = shapely.box(117.2025, 39.10, 117.21, 39.105)
    return write_gpkg(
        [*layers[:2], ("microgrid", micro)], tmp_path_factory.mktemp("bad") / "bad.gpkg"
    )


def zip_of(files: dict[str, bytes], path: Path) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return path


@pytest.fixture(scope="module")
def api(stored):  # type: ignore[no-untyped-def]
    """The app on the module's backend (a dispatcher's key by default)."""
    return stored[0]


@pytest.fixture(scope="module")
def keys(stored):  # type: ignore[no-untyped-def]
    return stored[1]


def error(response, status: int, code: str) -> ErrorBody:  # type: ignore[no-untyped-def]
    """The error body of a refused request, checked: its status, code, message."""
    assert response.status_code == status, response.text
    body = ErrorBody.model_validate(response.json())
    assert body.code == code, body
    assert body.message
    return body


def report_at(client, key: str, place: tuple[float, float], category: str = "noise") -> ReportOut:  # type: ignore[no-untyped-def]
    """A new report at a place (WGS84), as the given key."""
    body = {"lon": place[0], "lat": place[1], "category": category, "phone": "13800000000"}
    response = client.post("/reports", json=body, headers=auth(key))
    assert response.status_code == 201, response.text
    return ReportOut.model_validate(response.json())


def upload(client, key: str, path: Path, **form: str):  # type: ignore[no-untyped-def]
    """POST /boundaries/versions with a file, as the given key."""
    with path.open("rb") as f:
        return client.post(
            "/boundaries/versions",
            files={"file": (path.name, f, "application/octet-stream")},
            data=form,
            headers=auth(key),
        )
