"""The volunteer services layer of the coverage map: its data, and the layer in a real
headless chromium, offline (units no team reaches outlined, teams' bases with their reach)."""

from __future__ import annotations

import json

from maps import build_coverage_map, render_html
from maps.assets import asset_files
from maps.volunteers import add_volunteer_layer, volunteer_layer_data
from tests.maps.browser import MAP_READY, serve_asgi, static_app
from tests.maps.test_coverage_map import BUILT, M1_CENTRE, tiny, tiny_coverage, tiny_facilities
from tests.maps.test_coverage_map import tiny_units as tiny_microgrids

__all__ = ["tiny"]  # the fixture, shared

#: A service coverage answer as api.volunteers.coverage gives it: M1 and M2 reached by team 1,
#: M5 by team 2 (a base with a radius), M3 by none.
COVERAGE = {
    "service": "haircut",
    "units": [
        {"code": "M1", "teams": [1], "orders": 4, "done": 0.5},
        {"code": "M2", "teams": [1], "orders": 0, "done": 0.0},
        {"code": "M3", "teams": [], "orders": 2, "done": 0.0},
        {"code": "M5", "teams": [2], "orders": 1, "done": 1.0},
    ],
}
TEAMS = [
    {"id": 1, "name": "<b>理发队</b>", "lon": None, "lat": None, "radius_m": None},
    {"id": 2, "name": "东海路队", "lon": 117.2125, "lat": 39.1025, "radius_m": 400.0},
]


def _page(tiny) -> tuple[str, dict]:  # type: ignore[no-untyped-def]
    facilities = tiny_facilities([("站", M1_CENTRE, 30)])
    units = tiny_microgrids(tiny)
    page = build_coverage_map(
        units, tiny_coverage(tiny, facilities), facilities, title="t", built_at=BUILT
    )
    data = volunteer_layer_data(units, COVERAGE, TEAMS, service_name="理发")
    add_volunteer_layer(page, data)
    return render_html(page), data


def test_the_layers_data(tiny):
    _, data = _page(tiny)
    props = {f["properties"]["code"]: f["properties"] for f in data["units"]["features"]}
    assert props["M3"]["teams"] == 0 and data["unreached"] == 1
    assert props["M1"]["team_names"] == ["<b>理发队</b>"] and props["M1"]["orders"] == 4
    assert data["bases"] == [
        {"name": "东海路队", "lon": 117.2125, "lat": 39.1025, "radius_m": 400.0}
    ]
    json.dumps(data)


def test_the_layer_in_a_browser(browser, tiny):
    html, _ = _page(tiny)
    assert "wangge/volunteers.js" in html
    with serve_asgi(static_app({"/coverage.html": html}, asset_files())) as base:
        visit = browser.open(f"{base}/coverage.html", ready=MAP_READY)
        drawn = visit.evaluate(
            """() => {
                const group = wangge.volunteersLayer.layer;
                const parts = group.getLayers();
                const units = parts[0].getLayers();
                return {
                    parts: parts.length,
                    units: units.length,
                    unreached: units.filter(l => l.options.dashArray)
                        .map(l => l.feature.properties.code),
                    onMap: group._map !== undefined && group._map !== null,
                    control: [...document.querySelectorAll(
                        '.leaflet-control-layers-overlays label'
                    )].some(l => l.textContent.includes('志愿服务')),
                };
            }"""
        )
        # the units, one reach circle and its base marker
        assert drawn == {
            "parts": 3,
            "units": 4,
            "unreached": ["M3"],
            "onMap": True,
            "control": True,
        }
        visit.wait_settled()
        visit.page.mouse.move(0, 0)
        visit.assert_clean()
        assert all(url.startswith(base) for url in visit.requested)
