"""The density page in a real headless chromium, offline: layers, clicks, tiles, screenshots.

Set WANGGE_DOCS_SCREENSHOT=1 to also write the demo's screenshot to docs/density.png.
"""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from datetime import datetime
from pathlib import Path

import pytest

from maps import build_density_map, render_html
from maps.assets import asset_files
from tests.maps.browser import MAP_READY, serve_asgi, static_app
from tests.maps.pages import VOCABULARY, cases_frame, payload, tiny_units

ROOT = Path(__file__).resolve().parents[2]
BUILT = datetime(2024, 6, 1, 9, 30)

#: Counts of what each layer holds, read from the Leaflet objects themselves.
COUNT_LAYERS = """() => {
    const layers = wangge.last.layers;
    return {
        choropleth: layers.choropleth.getLayers().length,
        units: layers.units.getLayers().length,
        cases: layers.cases.getLayers().length,
        heat: layers.heat._latlngs.length,
        clusters: document.querySelectorAll(".marker-cluster").length,
    };
}"""


def test_demo_page(browser, hexi_microgrids, hexi_cases, tmp_path):
    m = build_density_map(
        hexi_microgrids,
        hexi_cases,
        level="microgrid",
        title="河西区 案件密度",
        built_at=BUILT,
        filters="last 30 days",
        **VOCABULARY,
    )
    html = render_html(m)
    markers = payload(html, "caseLayer")["rows"]
    legend = payload(html, "decorate")
    assert 0 < len(markers) < len(hexi_cases)

    with serve_asgi(static_app({"/density.html": html}, asset_files())) as base:
        visit = browser.open(f"{base}/density.html", ready=MAP_READY)
        counts = visit.evaluate(COUNT_LAYERS)
        assert counts["choropleth"] == counts["units"] == len(hexi_microgrids) == 13989
        assert counts["cases"] == len(markers) == legend["open"]["shown"]
        assert counts["heat"] == legend["heat"]["cells"]
        assert counts["clusters"] > 0
        assert "河西区 案件密度" in visit.page.inner_text(".wg-title")
        legend_text = visit.page.inner_text(".wg-legend")
        assert "Cases per micro-grid" in legend_text and "Built: 2024-06-01 09:30" in legend_text
        shot = visit.screenshot(tmp_path / "density.png")

        # the heat layer is off at first; switched on, it paints its canvas
        painted = visit.evaluate(
            """() => new Promise(done => {
                const e = wangge.last;
                e.map.addLayer(e.layers.heat);
                requestAnimationFrame(() => requestAnimationFrame(() => {
                    const canvas = document.querySelector("canvas.leaflet-heatmap-layer");
                    const data = canvas.getContext("2d")
                        .getImageData(0, 0, canvas.width, canvas.height).data;
                    let alpha = 0;
                    for (let i = 3; i < data.length; i += 4) alpha += data[i] > 0;
                    done(alpha);
                }));
            })"""
        )
        assert painted > 10_000
        visit.assert_clean()
        assert all(url.startswith(base) for url in visit.requested)

    assert shot.stat().st_size > 20_000
    if os.environ.get("WANGGE_DOCS_SCREENSHOT"):
        (ROOT / "docs").mkdir(exist_ok=True)
        shutil.copyfile(shot, ROOT / "docs" / "density.png")


def test_clicks_open_unit_and_case_popups(browser, tmp_path):
    cases = cases_frame(
        [
            {"case_unit": "M3", "id": "R 1/2", "category": "违章停车", "overdue": True},
            {"case_unit": "M2", "id": "R-2", "status": "accepted", "xy": (117.2070, 39.1030)},
            {"case_unit": "M2", "id": "R-3", "status": "closed"},
        ]
    )
    units = tiny_units()
    html = render_html(
        build_density_map(
            units, cases, level="microgrid", title="Tiny", built_at=BUILT, **VOCABULARY
        )
    )
    with serve_asgi(static_app({"/density.html": html}, asset_files())) as base:
        visit = browser.open(f"{base}/density.html", ready=MAP_READY)
        assert visit.evaluate(COUNT_LAYERS)["cases"] == 2

        # a unit: name, code, count and leader; no phone on this page
        visit.click_map(39.1025, 117.2025)
        text = visit.popup_text()
        assert "微网格1" in text and "M1" in text and "王芳" in text
        assert "Phone" not in text and "100-0000" not in text
        visit.close_popup()

        # a case: zoom until its marker stands alone, then click the marker itself once the
        # zoom and the clusters' animation are over
        marker = """wangge.last.layers.cases.getLayers()
            .find(m => m.options.caseRow[2] === "R 1/2")"""
        visit.evaluate(
            f"""() => new Promise(done => {{
                wangge.last.layers.cases.zoomToShowLayer({marker}, done);
            }})"""
        )
        visit.click_marker(marker)
        text = visit.popup_text("R 1/2")
        assert "违章停车" in text and "overdue" in text and "reported" in text
        popup = visit.page.locator(".leaflet-popup-content", has_text="R 1/2")
        href = popup.locator("a.wg-case-link").get_attribute("href")
        assert href == "/reports/R%201%2F2"
        visit.screenshot(tmp_path / "popup.png")
        visit.assert_clean()


def _png(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """A plain PNG image of one colour."""
    raw = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def test_tiles_from_a_local_tile_server(browser):
    html = render_html(
        build_density_map(
            tiny_units(),
            cases_frame([{"case_unit": "M1"}]),
            level="microgrid",
            title="Tiles",
            built_at=BUILT,
            tiles="/tiles/{z}/{x}/{y}.png",
            tiles_attribution="城市底图 (local)",
            **VOCABULARY,
        )
    )
    tile = _png(256, 256, (200, 220, 200))
    app = static_app({"/density.html": html, "/tiles/{z}/{x}/{y}.png": tile}, asset_files())
    with serve_asgi(app) as base:
        visit = browser.open(f"{base}/density.html", ready=MAP_READY)
        visit.wait_until("document.querySelectorAll('.leaflet-tile-loaded').length > 0")
        assert any("/tiles/" in url for url in visit.requested)
        assert "城市底图 (local)" in visit.page.inner_text(".leaflet-control-attribution")
        assert not visit.evaluate("document.querySelector('.leaflet-container.wg-plain') !== null")
        visit.assert_clean()


def test_the_harness_catches_requests_off_the_machine(browser):
    """A page that reaches for the internet is stopped and reported, and fails the check."""
    html = render_html(
        build_density_map(
            tiny_units(),
            cases_frame([{"case_unit": "M1"}]),
            level="microgrid",
            title="Outside",
            built_at=BUILT,
            tiles="https://tiles.example.gov.cn/{z}/{x}/{y}.png",
            tiles_attribution="outside",
            **VOCABULARY,
        )
    )
    with serve_asgi(static_app({"/density.html": html}, asset_files())) as base:
        visit = browser.open(f"{base}/density.html", ready=MAP_READY)
        visit.wait_for(lambda: visit.blocked, "blocked a request")
        assert all(url.startswith("https://tiles.example.gov.cn/") for url in visit.blocked)
        with pytest.raises(AssertionError, match="off 127.0.0.1"):
            visit.assert_clean()


def test_only_local_pages_can_be_opened(browser):
    with pytest.raises(ValueError, match="127.0.0.1"):
        browser.open("https://example.com/")
