"""Fixtures shared by all test packages: small real boundary files written to disk."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import pytest
import shapely

FIXTURES = Path(__file__).parent / "fixtures"


def tiny_layers() -> list[tuple[str, gpd.GeoDataFrame]]:
    """A 3-level set near Tianjin: district D, grids G1/G2, micro-grids with a hole and a gap."""

    def frame(rows):
        return gpd.GeoDataFrame(
            {
                "code": [r[0] for r in rows],
                "name": [r[1] for r in rows],
                "parent": [r[2] for r in rows],
                "leader_name": [r[3] for r in rows],
                "leader_phone": [f"100-0000-{i:04d}" if r[3] else None for i, r in enumerate(rows)],
                "households": [len(r[0]) * 10 for r in rows],
            },
            geometry=[r[4] for r in rows],
            crs=4326,
        )

    hole = shapely.box(117.206, 39.107, 117.207, 39.108)
    return [
        (
            "district",
            frame([("D", "河西区", "", "张伟", shapely.box(117.20, 39.10, 117.22, 39.11))]),
        ),
        (
            "grid",
            frame(
                [
                    ("G1", "第一网格", "D", "李娜", shapely.box(117.20, 39.10, 117.21, 39.11)),
                    ("G2", "第二网格", "D", None, shapely.box(117.21, 39.10, 117.22, 39.11)),
                ]
            ),
        ),
        (
            "microgrid",
            frame(
                [
                    ("M1", "微网格1", "G1", "王芳", shapely.box(117.20, 39.10, 117.205, 39.105)),
                    ("M2", "微网格2", "G1", "刘洋", shapely.box(117.205, 39.10, 117.21, 39.105)),
                    (
                        "M3",
                        "微网格3",
                        "G1",
                        None,
                        shapely.box(117.20, 39.105, 117.21, 39.11).difference(hole),
                    ),
                    ("M5", "微网格5", "G2", None, shapely.box(117.21, 39.10, 117.215, 39.11)),
                ]
            ),
        ),
    ]


@pytest.fixture(scope="session")
def tiny_gpkg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny set as a GeoPackage file, one layer per level, top first."""
    path = tmp_path_factory.mktemp("tiny") / "tiny.gpkg"
    for level, frame in tiny_layers():
        frame.to_file(path, layer=level, driver="GPKG", engine="pyogrio")
    return path


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    """Debian's headless chromium, offline, shared by every page test of the session.

    Skips only when chromium is missing, saying so; in CI (CI=true) that is a failure.
    """
    from tests.maps.browser import Browser, chromium_missing

    reason = chromium_missing()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    with Browser(viewport=(1400, 900)) as b:
        yield b


#: The modules that take longest (a minute or more of building data, servers and browsers),
#: run first: with the suite in two processes (./test.sh), the short modules then fill in
#: around them and both processes finish at about the same time.
LONGEST_FIRST = (
    "tests/boundaries/test_demo.py",
    "tests/api/cases/test_crash.py",
    "tests/api/pages/test_map_page.py",
    "tests/maps/test_city_browser.py",
    "tests/maps/test_analytics_layers.py",
    "tests/api/cases/test_workers.py",
    "tests/api/analytics/test_ground_truth.py",
    "tests/api/webhooks/test_crash.py",
    "tests/api/live/test_stream.py",
    "tests/api/demo/test_cases.py",
    "tests/geo/test_cluster.py",
    "tests/geo/test_assign.py",
    "tests/api/versions/test_sync.py",
    "tests/maps/test_live_browser.py",
    "tests/api/test_serve.py",
    "tests/test_code_quality.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {path: n for n, path in enumerate(LONGEST_FIRST)}
    root = Path(__file__).parent.parent

    def key(item: pytest.Item) -> int:
        path = Path(str(item.path)).relative_to(root).as_posix()
        return rank.get(path, len(rank))

    items.sort(key=key)  # stable: within a module, and for all the others, the usual order
