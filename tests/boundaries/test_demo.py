"""Tests for the demo boundary sets generated inside Tianjin's real district outlines."""

from __future__ import annotations

import re
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from boundaries.demo import (
    COLUMNS,
    DATA_DIR,
    LEVELS,
    build_city,
    build_hexi,
    read_communities,
    read_streets,
    write_gpkg,
)

Layers = list[tuple[str, gpd.GeoDataFrame]]

pytestmark = pytest.mark.slow

# Measured in UTM 50N after densifying in degrees: stored edges are straight in degrees, and a
# long one projected vertex by vertex would bow by centimetres (square metres of false gap).
METRIC_CRS = "EPSG:32650"
DENSIFY_DEGREES = 0.0002


@pytest.fixture(scope="module")
def hexi() -> Layers:
    start = time.perf_counter()
    layers = build_hexi()
    # Speed is measured, not asserted (see bench/); print it for whoever runs with -s.
    print(f"\nbuild_hexi(): {time.perf_counter() - start:.1f} s")
    return layers


@pytest.fixture(scope="module")
def city() -> Layers:
    start = time.perf_counter()
    layers = build_city(microgrids_total=3000)
    print(f"\nbuild_city(microgrids_total=3000): {time.perf_counter() - start:.1f} s")
    return layers


def _metric(frame: gpd.GeoDataFrame) -> np.ndarray:
    dense = shapely.segmentize(frame.geometry.to_numpy(), DENSIFY_DEGREES)
    return gpd.GeoSeries(dense, crs=frame.crs).to_crs(METRIC_CRS).to_numpy()


def check_hierarchy(layers: Layers) -> None:
    """Shared checks: columns, codes, parents, containment, tiling, validity, leaders."""
    assert [level for level, _ in layers] == list(LEVELS)
    all_codes: list[str] = []
    for k, (level, frame) in enumerate(layers):
        assert list(frame.columns) == [*COLUMNS, "geometry"], level
        assert frame.crs.to_epsg() == 4326
        for column in COLUMNS:
            assert frame[column].map(type).eq(str).all(), (level, column)
        assert frame["code"].is_unique, level
        assert frame["name"].str.len().gt(0).all(), level
        assert frame.geometry.is_valid.all(), level
        assert not frame.geometry.is_empty.any(), level
        # Neighbours share their vertices exactly: a valid polygonal coverage per level.
        assert shapely.coverage_is_valid(frame.geometry.to_numpy()), level
        # Every unit has a leader; phones are 100-xxxx-xxxx, never a real mobile (1[3-9]...).
        assert frame["leader_name"].str.fullmatch(r"[\u4e00-\u9fff]{2,3}").all(), level
        assert frame["leader_phone"].str.fullmatch(r"100-\d{4}-\d{4}").all(), level
        assert frame["leader_id"].is_unique, level
        all_codes += frame["code"].tolist()
        if k == 0:
            assert frame["parent"].eq("").all()
            continue
        parents = layers[k - 1][1]
        assert frame["parent"].isin(parents["code"]).all(), level
        assert (frame["code"].str.slice(0, len(frame["parent"].iloc[0])) == frame["parent"]).all()
        # Containment and tiling, checked in metres.
        child = _metric(frame)
        parent_of = pd.Series(_metric(parents), index=parents["code"])
        # every child within 1 cm of its parent (a prepared parent grown by 1 cm covers it:
        # a hundred times quicker on real outlines than the area of child minus parent)
        grown = pd.Series(shapely.buffer(parent_of.to_numpy(), 0.01), index=parent_of.index)
        shapely.prepare(grown.to_numpy())
        covered = shapely.covers(grown.loc[frame["parent"]].to_numpy(), child)
        assert covered.all(), (level, frame["code"][~covered].tolist()[:5])
        child_area = pd.Series(shapely.area(child)).groupby(frame["parent"].to_numpy()).sum()
        parent_area = pd.Series(shapely.area(parent_of.to_numpy()), index=parent_of.index)
        assert set(child_area.index) == set(parent_area.index), level  # no childless parent
        relative = (child_area / parent_area.loc[child_area.index] - 1).abs()
        assert relative.max() < 1e-4, level
    assert len(set(all_codes)) == len(all_codes)


def test_hexi_counts_match_its_published_figures(hexi: Layers) -> None:
    assert [len(frame) for _, frame in hexi] == [1, 14, 149, 1441, 13989]


def test_hexi_hierarchy_is_consistent(hexi: Layers) -> None:
    check_hierarchy(hexi)


def test_the_hierarchy_check_finds_units_a_metre_outside_their_parents(hexi: Layers) -> None:
    """Micro-grids moved a metre east still tile without gaps or overlaps, but the ones on
    the edge of their grids stick out of them."""
    moved = [
        (
            level,
            frame.set_geometry(frame.geometry.translate(xoff=1e-5))
            if level == "microgrid"
            else frame,
        )
        for level, frame in hexi
    ]
    with pytest.raises(AssertionError, match="microgrid"):
        check_hierarchy(moved)


def test_hexi_streets_and_communities_are_the_official_ones(hexi: Layers) -> None:
    levels = dict(hexi)
    streets = read_streets().query("areaCode == '120103'")
    communities = read_communities().query("streetCode in @streets.code")

    assert levels["district"].iloc[0][["code", "name"]].tolist() == ["120103", "河西区"]
    assert dict(zip(levels["street"]["code"], levels["street"]["name"], strict=True)) == dict(
        zip(streets["code"], streets["name"], strict=True)
    )
    assert "大营门街道" in set(levels["street"]["name"])
    got = levels["community"].set_index("code")[["name", "parent"]]
    want = communities.set_index("code")[["name", "streetCode"]]
    want.columns = ["name", "parent"]
    pd.testing.assert_frame_equal(got.sort_index(), want.sort_index())


def test_hexi_generated_names_follow_their_community(hexi: Layers) -> None:
    levels = dict(hexi)
    grid = levels["grid"].set_index("code").loc["120103001001003"]
    micro = levels["microgrid"].set_index("code").loc["12010300100100302"]

    assert grid["name"] == "九江路社区第3网格"
    assert micro["name"] == "九江路社区第3网格第2微网格"
    assert re.fullmatch(r"\d{17}", micro.name)


def test_hexi_outline_is_converted_from_gcj02(hexi: Layers) -> None:
    raw = shapely.from_geojson((DATA_DIR / "districts" / "120103.geojson").read_text("utf-8"))
    gcj = gpd.GeoSeries([raw], crs=4326).to_crs(METRIC_CRS).iloc[0]
    wgs = _metric(dict(hexi)["district"])[0]
    # GCJ-02 is offset from WGS84 by a few hundred metres in Tianjin; the shape is unchanged.
    offset = shapely.distance(gcj.centroid, wgs.centroid)
    assert 200 < offset < 800
    assert wgs.area == pytest.approx(gcj.area, rel=1e-3)


def test_hexi_same_seed_gives_identical_geometry(hexi: Layers) -> None:
    again = build_hexi()
    for (level, first), (_, second) in zip(hexi, again, strict=True):
        assert list(shapely.to_wkb(first.geometry.to_numpy())) == list(
            shapely.to_wkb(second.geometry.to_numpy())
        ), level
        pd.testing.assert_frame_equal(
            first.drop(columns="geometry"), second.drop(columns="geometry")
        )


def test_geopackage_has_one_layer_per_level_top_first(hexi: Layers, tmp_path: Path) -> None:
    path = tmp_path / "hexi.gpkg"
    path.write_bytes(b"not a geopackage")  # an old file is replaced, not appended to

    write_gpkg(hexi, path)

    assert [str(name) for name, _ in pyogrio.list_layers(path)] == list(LEVELS)
    for level, frame in hexi:
        back = gpd.read_file(path, layer=level, engine="pyogrio")
        assert back.crs.to_epsg() == 4326
        assert back["code"].tolist() == frame["code"].tolist()
        assert back.geometry.geom_equals_exact(frame.geometry, tolerance=0).all()


def test_city_has_all_districts_streets_and_communities(city: Layers) -> None:
    levels = dict(city)
    districts = levels["district"]["code"].tolist()
    streets = read_streets().query("areaCode in @districts")
    communities = read_communities().query("streetCode in @streets.code")

    assert len(districts) == 16 and "120100" not in districts
    assert len(levels["street"]) == len(streets) == 299
    assert len(levels["community"]) == len(communities) == 5617
    # Every community gets at least one grid and every grid one micro-grid, so a target below
    # the number of communities (3,000 < 5,617) gives one of each per community.
    assert len(levels["grid"]) == 5617
    assert len(levels["microgrid"]) == max(3000, 5617)


def test_city_hierarchy_is_consistent(city: Layers) -> None:
    check_hierarchy(city)
