"""Fixtures shared by all test packages: small real boundary files written to disk, and the
Hexi demo (its boundaries, and a database of its cases) built once for the whole run."""

from __future__ import annotations

import fcntl
import os
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path

import geopandas as gpd
import pyogrio
import pytest
import shapely

#: Apps built inside the test process write reports in a thread of their own (a child process
#: each would add its start to every test); servers started as processes (tests/api/process.py)
#: use the service's default, a child process.
os.environ.setdefault("WANGGE_WRITER", "thread")

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


def built_once(
    tmp_path_factory: pytest.TempPathFactory, name: str, build: Callable[[Path], None]
) -> Path:
    """A folder built once for the whole run, by ``build(folder)``: with the suite in several
    processes (pytest-xdist) the first to ask builds it, under a lock, and the others wait
    for it and read it. Read it, never change it (copy it first)."""
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent  # the run's own folder, above each process's
    folder = root / f"shared-{name}"
    with (root / f"shared-{name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not folder.exists():
            partial = root / f"shared-{name}.partial"
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir()
            build(partial)
            partial.rename(folder)
    return folder


@pytest.fixture(scope="session")
def hexi_gpkg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Hexi demo set (``build_hexi()``: 14 streets, 149 communities, 1,441 grids, 13,989
    micro-grids) as a GeoPackage, built once for the run."""
    from boundaries.demo import build_hexi, write_gpkg

    def build(folder: Path) -> None:
        write_gpkg(build_hexi(), folder / "hexi.gpkg")

    return built_once(tmp_path_factory, "hexi", build) / "hexi.gpkg"


def read_layers(path: Path) -> list[tuple[str, gpd.GeoDataFrame]]:
    """The (level, frame) pairs of a GeoPackage written by ``write_gpkg``, top first."""
    return [
        (str(level), gpd.read_file(path, layer=str(level), engine="pyogrio"))
        for level, _ in pyogrio.list_layers(path)
    ]


#: The demo cases of :func:`hexi_demo_data`.
DEMO_CASES = 1000


@pytest.fixture(scope="session")
def hexi_demo_data(tmp_path_factory: pytest.TempPathFactory, hexi_gpkg: Path) -> Path:
    """A data folder (WANGGE_DATA_DIR, its SQLite database) of the Hexi demo: its planning
    data and :data:`DEMO_CASES` cases reported over 20 days and moved along their lives,
    built once for the run. Copy it (``copy_demo_data``) before serving it."""
    from api.demo.cases import seed_reports
    from api.demo.planning import seed_planning
    from api.services import open_services
    from api.settings import Settings

    def build(folder: Path) -> None:
        services = open_services(Settings(boundaries=str(hexi_gpkg), data_dir=folder))
        try:
            seed_planning(services.db.sessions, services.boundaries.bset)
            seed_reports(services.cases, count=DEMO_CASES, days=20, seed=9)
        finally:
            services.close()

    return built_once(tmp_path_factory, "hexi-demo-data", build)


def copy_demo_data(demo: Path, to: Path) -> Path:
    """A copy of :func:`hexi_demo_data` of one's own at ``to``."""
    shutil.copytree(demo, to)
    return to


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
