"""Boundary sets for the geo tests: real Cambridge (MA) census geography and made-up lattices."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from math import prod
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import pytest
import shapely

from boundaries.loader import read_boundary_set
from geo.units import BoundarySet

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
CAMBRIDGE = FIXTURES / "cambridge"

#: Hand-made sets are drawn in metres in UTM zone 50N (EPSG:32650) from this corner, which lies
#: in Tianjin (about lon 117.197, lat 39.101): the zone the validator picks for the area, so
#: areas drawn here are the areas it measures.
METRIC_CRS = "EPSG:32650"
ORIGIN_XY = (517_000.0, 4_328_000.0)

#: One hand-made unit: (code, parent code, geometry in metres from ORIGIN_XY, or None).
UnitRow = tuple[str, str, shapely.Geometry | None]
Layers = Sequence[tuple[str, Sequence[UnitRow]]]


def metric_set(layers: Layers, *, repair: bool = False) -> BoundarySet:
    """A boundary set from levels of (code, parent, geometry in local metres) rows, top first."""
    frames = []
    for level, rows in layers:
        geoms = [
            None if g is None else shapely.transform(g, lambda xy: xy + np.asarray(ORIGIN_XY))
            for _, _, g in rows
        ]
        frame = gpd.GeoDataFrame(
            {
                "code": [code for code, _, _ in rows],
                "name": [f"{level} {code}" for code, _, _ in rows],
                "parent": [parent for _, parent, _ in rows],
            },
            geometry=gpd.GeoSeries(geoms, crs=METRIC_CRS),
        )
        frames.append((level, frame))
    return BoundarySet.from_levels(frames, name="hand-made", repair=repair)


def nested_lattice(
    levels: Sequence[tuple[str, tuple[int, int]]],
    *,
    cell_m: float = 60.0,
    edge_points: int = 2,
    jitter: float = 0.2,
    noise_m: float = 0.0,
    seed: int = 0,
) -> BoundarySet:
    """A clean nested set: a rectangle split level by level into (columns, rows) of cells.

    The vertices of the finest lattice are jittered, so the units are irregular quadrilaterals
    at the bottom and long jagged polygons at the top, and each parent's edge is exactly made of
    its children's edges. ``edge_points`` extra lattice steps per bottom cell add vertices along
    each edge; ``noise_m`` moves every unit's vertices independently (shared edges then no longer
    coincide exactly, as in digitised data).
    """
    rng = np.random.default_rng(seed)
    splits = [s for _, s in levels]
    nx = prod(s[0] for s in splits) * edge_points
    ny = prod(s[1] for s in splits) * edge_points
    step = cell_m / edge_points
    gx, gy = np.meshgrid(np.arange(nx + 1) * step, np.arange(ny + 1) * step, indexing="ij")
    # jitter interior vertices only, so the outline stays a rectangle
    gx[1:-1, :] += rng.uniform(-jitter, jitter, gx[1:-1, :].shape) * step
    gy[:, 1:-1] += rng.uniform(-jitter, jitter, gy[:, 1:-1].shape) * step
    gx += ORIGIN_XY[0]
    gy += ORIGIN_XY[1]

    frames = []
    codes = np.array([""], dtype=object)
    cols, rows = 1, 1
    for depth, (level, (sx, sy)) in enumerate(levels):
        parent_rows, parent_codes = rows, codes
        cols, rows = cols * sx, rows * sy
        w, h = nx // cols, ny // rows  # a unit's size in lattice steps
        # ring of lattice indices round a unit at (0, 0): bottom, right, top, left (CCW)
        di = np.concatenate([np.arange(w), np.full(h, w), np.arange(w, 0, -1), np.zeros(h + 1)])
        dj = np.concatenate([np.zeros(w), np.arange(h), np.full(w, h), np.arange(h, -1, -1)])
        a, b = np.meshgrid(np.arange(cols), np.arange(rows), indexing="ij")
        a, b = a.ravel(), b.ravel()
        ii = (a[:, None] * w + di[None, :]).astype(np.intp)
        jj = (b[:, None] * h + dj[None, :]).astype(np.intp)
        coords = np.stack([gx[ii, jj], gy[ii, jj]], axis=-1)
        if noise_m:
            coords = coords + rng.normal(0.0, noise_m, coords.shape)
            coords[:, -1] = coords[:, 0]
        geoms = shapely.polygons(coords)
        parent_index = (a // sx) * parent_rows + (b // sy)
        local = (a % sx) * sy + (b % sy)
        width = len(str(sx * sy - 1))
        codes = np.array(
            [f"{p}{k:0{width}d}" for p, k in zip(parent_codes[parent_index], local, strict=True)],
            dtype=object,
        )
        frame = gpd.GeoDataFrame(
            {
                "code": codes,
                "name": [f"{level} {c}" for c in codes],
                "parent": parent_codes[parent_index] if depth else "",
            },
            geometry=gpd.GeoSeries(geoms, crs=METRIC_CRS),
        )
        frames.append((level, frame))
    return BoundarySet.from_levels(frames, name=f"lattice {len(levels)} levels")


@pytest.fixture(scope="session")
def make_metric_set() -> Callable[..., BoundarySet]:
    return metric_set


def local_metres(where: tuple[float, float]) -> shapely.Point:
    """A WGS84 (lon, lat) point in the local metres the hand-made sets are drawn in."""
    x, y = pyproj.Transformer.from_crs(4326, METRIC_CRS, always_xy=True).transform(*where)
    return shapely.Point(x - ORIGIN_XY[0], y - ORIGIN_XY[1])


@pytest.fixture(scope="session")
def to_local_metres() -> Callable[[tuple[float, float]], shapely.Point]:
    return local_metres


@pytest.fixture(scope="session")
def make_lattice() -> Callable[..., BoundarySet]:
    return nested_lattice


def _geoid(frame: pd.DataFrame, parts: Sequence[str]) -> pd.Series:
    """The census GEOID of each row: GEOID20 when the file has it, else built from its parts."""
    if "GEOID20" in frame.columns:
        return frame["GEOID20"].astype(str)
    return frame[list(parts)].astype(str).agg("".join, axis=1)


@pytest.fixture(scope="session")
def cambridge_gpkg(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Cambridge 2020 census tracts -> block groups -> blocks as a 3-level GeoPackage.

    Codes follow the census GEOID scheme: state (2 digits) + county (3) + tract (6) make a
    tract's 11; a block group adds its digit (12); a block adds 4 digits, the first of which is
    its block group's (15). So a unit's parent is its code cut to 11 or 12 characters.
    """
    path = tmp_path_factory.mktemp("cambridge") / "cambridge_census.gpkg"
    county = ["STATEFP20", "COUNTYFP20"]
    layers = [
        ("tract", "DEMOGRAPHICS_Tracts2020.geojson", [*county, "TRACTCE20"], None),
        ("block_group", "DEMOGRAPHICS_BlockGroups2020.geojson",
         [*county, "TRACTCE20", "BLKGRPCE20"], 11),
        ("block", "DEMOGRAPHICS_Blocks2020.geojson", [*county, "TRACTCE20", "BLOCKCE20"], 12),
    ]  # fmt: skip
    for level, filename, parts, parent_len in layers:
        raw = gpd.read_file(CAMBRIDGE / filename, engine="pyogrio")
        code = _geoid(raw, parts)
        name = raw["NAMELSAD20"] if "NAMELSAD20" in raw.columns else raw["NAME20"]
        frame = gpd.GeoDataFrame(
            {
                "code": code,
                "name": name,
                "parent": code.str[:parent_len] if parent_len else "",
                "aland": raw["ALAND20"],
            },
            geometry=raw.geometry,
            crs=raw.crs,
        )
        frame.to_file(path, layer=level, driver="GPKG", engine="pyogrio")
    return path


@pytest.fixture(scope="session")
def cambridge(cambridge_gpkg: Path) -> BoundarySet:
    return read_boundary_set(cambridge_gpkg)


@pytest.fixture(scope="session")
def precincts() -> tuple[BoundarySet, pd.DataFrame]:
    """Wards -> precincts with their 2020 census population (TOTALPOP; no age split)."""
    raw = gpd.read_file(CAMBRIDGE / "ELECTIONS_WardsPrecincts.geojson", engine="pyogrio")
    wards = raw.dissolve("Ward").reset_index()
    bset = BoundarySet.from_levels(
        [
            ("ward", gpd.GeoDataFrame(
                {"code": "W" + wards["Ward"], "name": "Ward " + wards["Ward"], "parent": ""},
                geometry=wards.geometry, crs=raw.crs)),
            ("precinct", gpd.GeoDataFrame(
                {"code": raw["WardPrecinct"], "name": "Precinct " + raw["WardPrecinct"],
                 "parent": "W" + raw["Ward"]},
                geometry=raw.geometry, crs=raw.crs)),
        ]
    )  # fmt: skip
    # Only totals are published per precinct, so every resident is counted in both columns:
    # the "60" figures below are people of all ages.
    population = pd.DataFrame(
        {
            "code": raw["WardPrecinct"],
            "residents": raw["TOTALPOP"],
            "residents_60": raw["TOTALPOP"],
        }
    )
    return bset, population
