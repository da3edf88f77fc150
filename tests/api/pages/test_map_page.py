"""The dispatcher's density page from the running service, in headless Chromium, offline.

Set WANGGE_DOCS_SCREENSHOT=1 to also write the screenshot to docs/density.png.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import geopandas as gpd
import httpx
import pytest
from sqlalchemy import create_engine, func, select

from api.cases.lifecycle import OPEN
from api.db.models import Report
from api.settings import Settings
from tests.api.process import new_key, running_server
from tests.conftest import copy_demo_data
from tests.maps.browser import MAP_READY, Browser

ROOT = Path(__file__).resolve().parents[3]
COUNT_LAYERS = """() => {
    const layers = wangge.last.layers;
    return {
        choropleth: layers.choropleth.getLayers().length,
        units: layers.units.getLayers().length,
        cases: layers.cases ? layers.cases.getLayers().length : 0,
        heat: layers.heat._latlngs.length,
    };
}"""


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, hexi_gpkg: Path, hexi_demo_data: Path
) -> Iterator[tuple[str, dict[str, str], int, Path]]:
    """The demo (Hexi, its planning data and 1,000 cases) served by `wangge serve` as its own
    process."""
    data = copy_demo_data(hexi_demo_data, tmp_path_factory.mktemp("demo") / "data")
    env = {**os.environ, "WANGGE_BOUNDARIES": str(hexi_gpkg), "WANGGE_DATA_DIR": str(data)}
    engine = create_engine(Settings(data_dir=data).database)
    with engine.connect() as connection:
        open_cases = connection.scalar(
            select(func.count())
            .select_from(Report)
            .where(Report.status.in_([s.value for s in OPEN]))
        )
    engine.dispose()
    keys = {role: new_key(env, role) for role in ("dispatcher", "planner")}
    with running_server(env) as base:
        yield base, keys, int(open_cases or 0), hexi_gpkg


def _signed_in_map(
    browser: Browser,
    base: str,
    key: str,
    query: str,
    page_path: str = "/maps/density",
):
    """Open a map as a person would: redirected to sign in, key typed, back to the map."""
    visit = browser.open(f"{base}{page_path}?{query}")
    page = visit.page
    assert page.url.startswith(f"{base}/signin?next=")
    page.fill("#key", key)
    page.click("button[type=submit]")
    visit.wait_until(MAP_READY)
    assert page.url == f"{base}{page_path}?{query}"
    return visit


def test_dispatcher_sees_density_overdue_cases_and_leaders(browser, service, tmp_path):
    base, keys, open_cases, gpkg = service
    # the browser asks for English (Accept-Language); ?lang=zh asks for the Chinese page
    visit = _signed_in_map(browser, base, keys["dispatcher"], "level=community&lang=zh")
    counts = visit.evaluate(COUNT_LAYERS)
    assert counts["choropleth"] == counts["units"] == 149  # Hexi's communities
    assert counts["cases"] == open_cases > 0  # every open case has its marker
    assert counts["heat"] > 50
    legend = visit.page.inner_text(".wg-legend")
    assert "超期" in legend and "各社区案件数" in legend
    assert "河西区 · 案件密度（按社区）" in visit.page.inner_text(".wg-title")
    assert "待办案件" in visit.page.inner_text(".leaflet-control-layers")
    shot = visit.screenshot(tmp_path / "density.png")
    # a click on a community: its name, code and leader, with the phone for a dispatcher
    community = gpd.read_file(gpkg, layer="community", rows=slice(10, 11))
    point = community.geometry.iloc[0].representative_point()
    visit.evaluate("() => { wangge.last.map.closePopup(); }")
    visit.click_map(point.y, point.x)
    text = visit.popup_text()
    assert community["name"].iloc[0] in text and community["code"].iloc[0] in text
    assert community["leader_name"].iloc[0] in text and "100-" in text
    visit.assert_clean()
    assert all(url.startswith(base) for url in visit.requested)
    assert shot.stat().st_size > 20_000
    if os.environ.get("WANGGE_DOCS_SCREENSHOT"):
        (ROOT / "docs").mkdir(exist_ok=True)
        shutil.copyfile(shot, ROOT / "docs" / "density.png")


def test_planner_sees_aggregates_only(browser, service):
    base, keys, _, _ = service
    visit = _signed_in_map(browser, base, keys["planner"], "level=grid&category=parking")
    counts = visit.evaluate(COUNT_LAYERS)
    assert counts["choropleth"] == 1441
    assert counts["cases"] == 0  # no case markers for planners
    html = visit.page.content()
    assert "100-" not in html  # no phone numbers
    visit.assert_clean()


COUNT_COVERAGE = """() => {
    const layers = wangge.last.layers;
    const count = name => layers[name] ? layers[name].getLayers().length : null;
    return {units: count("units"), areas: count("areas"), gaps: count("gaps"),
            facilities: count("facilities"), sites: count("sites")};
}"""


def test_planner_sees_who_is_outside_the_15_minute_circle(browser, service, tmp_path):
    base, keys, _, _ = service
    headers = {"Authorization": f"Bearer {keys['planner']}"}
    answer = httpx.get(
        f"{base}/coverage", params={"level": "community"}, headers=headers, timeout=60
    ).json()
    suggested = httpx.post(
        f"{base}/coverage/suggest", json={"k": 3}, headers=headers, timeout=60
    ).json()
    visit = _signed_in_map(
        browser,
        base,
        keys["planner"],
        "level=community&sites=3&lang=zh",
        page_path="/maps/coverage",
    )
    counts = visit.evaluate(COUNT_COVERAGE)
    assert counts == {
        "units": 149,
        "areas": 45,
        "gaps": len(answer["gaps"]["features"]),
        "facilities": 45,
        "sites": len(suggested["sites"]) == 3 and 3,
    }
    legend = visit.page.inner_text(".wg-legend")
    covered = f"{round(answer['summary']['covered_60']):,}"
    assert covered in legend and "合计" in legend
    # the served page names the facility type and the population data in Chinese too
    title = visit.page.inner_text(".wg-title")
    assert "居家养老服务中心" in title and "elderly_care" not in title + legend
    assert "人口数据：" in legend and "population" not in legend
    visit.screenshot(tmp_path / "coverage.png")
    visit.assert_clean()
    assert all(url.startswith(base) for url in visit.requested)
    if os.environ.get("WANGGE_DOCS_SCREENSHOT"):
        shutil.copyfile(tmp_path / "coverage.png", ROOT / "docs" / "coverage.png")
