"""The analytics layers on the density page of the running service (`wangge serve`), in
Debian's headless Chromium, offline: hot and cold grids, recurring places, a Chinese legend."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.api.process import new_key, running_server
from tests.conftest import copy_demo_data
from tests.maps.browser import MAP_READY

ANALYTICS_READY = "document.querySelector('.leaflet-container[data-analytics=\"ready\"]') !== null"


@pytest.fixture(scope="module")
def service(
    tmp_path_factory: pytest.TempPathFactory, hexi_gpkg: Path, hexi_demo_data: Path
) -> Iterator[tuple[str, str]]:
    """The Hexi demo with its 1,000 clustered cases, served as its own process."""
    data = copy_demo_data(hexi_demo_data, tmp_path_factory.mktemp("analytics-demo") / "data")
    env = {**os.environ, "WANGGE_BOUNDARIES": str(hexi_gpkg), "WANGGE_DATA_DIR": str(data)}
    key = new_key(env, "dispatcher")
    with running_server(env) as base:
        yield base, key


def test_hot_grids_and_recurring_places_are_drawn(browser, service, tmp_path: Path) -> None:
    base, key = service
    headers = {"Authorization": f"Bearer {key}"}
    hot = httpx.get(
        f"{base}/analytics/hotspots",
        params={"level": "grid", "permutations": 199},
        headers=headers,
        timeout=120,
    ).json()
    coloured = sum(1 for u in hot["units"] if u["class"] != "not_significant")
    places = httpx.get(f"{base}/analytics/recurring", headers=headers, timeout=60).json()
    assert coloured > 0 and places["places"]
    visit = browser.open(f"{base}/maps/density?level=grid&lang=zh")  # Chromium asks for English
    page = visit.page
    page.fill("#key", key)
    page.click("button[type=submit]")
    visit.wait_until(MAP_READY)
    visit.wait_until(ANALYTICS_READY, timeout_s=120)
    drawn = visit.evaluate(
        """() => ({hot: wangge.analytics.hot, cold: wangge.analytics.cold,
                   units: wangge.analytics.units.getLayers().length,
                   places: wangge.analytics.recurring.getLayers().length,
                   onMap: wangge.analytics.recurring.getLayers()
                       .filter(l => wangge.map.hasLayer(l)).length})"""
    )
    assert drawn["units"] == coloured and drawn["hot"] > 0
    assert drawn["places"] == drawn["onMap"] == len(places["places"])
    # the hot spots are the page's own level's; the places named by the catalogue, in Chinese
    assert any("/analytics/hotspots?level=grid&" in url for url in visit.requested)
    tips = visit.evaluate(
        """() => wangge.analytics.recurring.getLayers()
            .map(l => l.getTooltip().getContent().textContent)"""
    )
    names = {
        c["code"]: c["name_zh"] for c in httpx.get(f"{base}/categories", headers=headers).json()
    }
    first = places["places"][0]
    assert tips[0].startswith(names[first["category"]] + " · "), tips[0]
    legend = page.inner_text(".wg-analytics-legend")
    assert "热点（95%置信）" in legend and "反复投诉点" in legend
    visit.screenshot(tmp_path / "analytics.png")
    visit.assert_clean()
    assert all(url.startswith(base) for url in visit.requested)


def test_the_written_page_draws_the_same_layers(
    browser, service, hexi_gpkg: Path, hexi_demo_data: Path, tmp_path: Path, monkeypatch
) -> None:
    """`wangge map density` puts the hot spots and recurring places in the page, which draws
    them with no route to ask: the units the service classes, the places it finds."""
    from typer.testing import CliRunner

    from api.cli import app as cli
    from maps.assets import asset_files
    from tests.maps.browser import serve_asgi, static_app

    base, key = service
    headers = {"Authorization": f"Bearer {key}"}
    hot = httpx.get(
        f"{base}/analytics/hotspots", params={"level": "grid"}, headers=headers, timeout=120
    ).json()
    coloured = {u["code"]: u["class"] for u in hot["units"] if u["class"] != "not_significant"}
    places = httpx.get(f"{base}/analytics/recurring", headers=headers, timeout=60).json()
    data = copy_demo_data(hexi_demo_data, tmp_path / "data")
    monkeypatch.setenv("WANGGE_BOUNDARIES", str(hexi_gpkg))
    monkeypatch.setenv("WANGGE_DATA_DIR", str(data))
    out = tmp_path / "page" / "density.html"
    done = CliRunner().invoke(cli, ["map", "density", "--out", str(out), "--level", "grid"])
    assert done.exit_code == 0, done.output
    html = out.read_text(encoding="utf-8")
    assert '<meta name="wangge-analytics" content="inline" data-level="grid">' in html
    with serve_asgi(static_app({"/density.html": html}, asset_files())) as page_base:
        visit = browser.open(f"{page_base}/density.html", ready=MAP_READY)
        visit.wait_until(ANALYTICS_READY)
        drawn = visit.evaluate(
            """() => ({units: Object.fromEntries(wangge.analytics.units.getLayers()
                           .map(l => [l.feature.properties.code, l.feature.properties.class])),
                       places: wangge.analytics.recurring.getLayers().length})"""
        )
        assert drawn["units"] == coloured and coloured
        assert drawn["places"] == len(places["places"]) > 0
        legend = visit.page.inner_text(".wg-analytics-legend")
        assert "热点（95%置信）" in legend and "反复投诉点" in legend  # the page's language
        assert not any("/analytics/" in url for url in visit.requested)
        visit.assert_clean()
