"""Chinese first: the label table, the choice of language, the Chinese and English pages, a
metric scale bar only; and overlays drawn on GCJ-02 base tiles where their GCJ-02 positions
are."""

from __future__ import annotations

import re
from datetime import datetime

import pytest

from geo.crs import wgs84_to_gcj02
from maps import MapInputError, build_density_map, render_html
from maps.assets import asset_files
from maps.i18n import LABELS, labels, negotiate
from tests.maps.browser import MAP_READY, serve_asgi, static_app
from tests.maps.pages import CENTRES, STATUSES, cases_frame, payload, tiny_units

BUILT = datetime(2024, 6, 1, 9, 30)
VOCABULARY = {"statuses": STATUSES, "categories": {"parking": "违章停车"}}


def page(cases=None, **kwargs) -> str:
    cases = cases if cases is not None else cases_frame([{"case_unit": "M1"}])
    options = {"level": "microgrid", "title": "河西区", "built_at": BUILT, **VOCABULARY, **kwargs}
    return render_html(build_density_map(tiny_units(), cases, **options))


@pytest.mark.parametrize(
    "asked, accept, lang",
    [
        (None, None, "zh"),  # nothing said: Chinese
        (None, "", "zh"),
        ("en", None, "en"),  # ?lang= wins
        ("zh", "en-US,en;q=0.9", "zh"),  # over the browser too
        (None, "en-US,en;q=0.9,zh-CN;q=0.8", "en"),  # the browser's first choice we have
        (None, "zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        (None, "fr-FR, en;q=0.5", "en"),  # French skipped
        (None, "en;q=0.2, zh;q=0.7", "zh"),  # by quality, not by order
        (None, "en;q=0", "zh"),  # q=0: not acceptable
        (None, "de, fr", "zh"),  # none of ours: Chinese
        (None, "en;q=bad", "zh"),  # a broken quality counts as 0
        ("fr", "en", "en"),  # an unknown ?lang= is ignored (the route refuses it with 422)
    ],
)
def test_language_of_a_request(asked, accept, lang):
    assert negotiate(asked, accept) == lang


def test_every_label_has_both_languages_and_the_same_places():
    for key, (zh, en) in LABELS.items():
        assert zh and en, key
        assert set(re.findall(r"\{\w+\}", zh)) == set(re.findall(r"\{\w+\}", en)), key
    assert labels("zh").keys() == labels("en").keys()


def test_the_page_is_chinese_by_default_and_english_when_asked():
    zh, en = page(), page(lang="en")
    assert '<html lang="zh-CN">' in zh and '<html lang="en-GB">' in en
    assert payload(zh, "setLanguage")["labels"]["legend.data"] == "数据"
    assert payload(en, "setLanguage")["labels"]["legend.data"] == "Data"
    names = payload(zh, "decorate")["layerNames"]
    assert names == {
        "choropleth": "各单元案件数",
        "heat": "案件热力",
        "cases": "待办案件",
        "units": "单元边界",
    }
    assert payload(en, "decorate")["layerNames"]["cases"] == "Open cases"
    assert payload(zh, "decorate")["levelName"] == "微网格"
    # no feet: the scale bar is metric only
    assert "imperial: false" in zh and "L.control.scale()" not in zh


def test_tiles_in_an_unknown_system_are_refused():
    with pytest.raises(MapInputError, match="allowed: wgs84, gcj02"):
        page(tiles_crs="bd09")


def test_gcj02_tiles_shift_units_markers_and_heat():
    lon, lat = CENTRES["M1"]
    cases = cases_frame([{"case_unit": "M1", "xy": (lon, lat)}])
    plain, shifted = page(cases), page(cases, tiles_crs="gcj02")
    glon, glat = (float(v) for v in wgs84_to_gcj02(lon, lat))
    row = payload(shifted, "caseLayer")["rows"][0]
    assert row[:2] == [round(glat, 6), round(glon, 6)]
    assert payload(plain, "caseLayer")["rows"][0][:2] == [round(lat, 6), round(lon, 6)]
    # the units moved by the same few hundred metres (origin in steps of about a metre)
    moved = payload(shifted, "decodeUnits")["origin"]
    still = payload(plain, "decodeUnits")["origin"]
    assert moved != still
    assert payload(shifted, "decorate")["tilesCrs"] == "gcj02"


GCJ_POINT = """(lonlat) => {
    const marker = wangge.last.layers.cases.getLayers()[0];
    const at = marker.getLatLng();
    return {
        marker: [at.lat, at.lng],
        toMap: wangge.toMap(lonlat),
        lang: wangge.lang,
        sameMap: wangge.map === wangge.last.map,
        scale: Array.from(document.querySelectorAll(".leaflet-control-scale-line"))
            .map(e => e.textContent),
        legend: document.querySelector(".wg-legend").innerText,
        control: document.querySelector(".leaflet-control-layers").innerText,
    };
}"""


def test_in_the_browser_a_known_point_is_drawn_at_its_gcj02_position(browser):
    lon, lat = CENTRES["M1"]
    cases = cases_frame([{"case_unit": "M1", "xy": (lon, lat), "category": "parking"}])
    html = page(cases, tiles_crs="gcj02")
    glon, glat = (float(v) for v in wgs84_to_gcj02(lon, lat))
    with serve_asgi(static_app({"/density.html": html}, asset_files())) as base:
        visit = browser.open(f"{base}/density.html", ready=MAP_READY)
        seen = visit.evaluate(GCJ_POINT, [lon, lat])
        visit.assert_clean()
    assert seen["marker"] == pytest.approx([glat, glon], abs=1e-6)
    # the page API draws later points the same way (the JavaScript formula equals geo.crs)
    assert seen["toMap"] == pytest.approx([glat, glon], abs=1e-9)
    assert abs(glon - lon) > 0.004  # several hundred metres: the test would see a miss
    assert seen["lang"] == "zh" and seen["sameMap"]
    assert len(seen["scale"]) == 1 and re.fullmatch(r"\d+ k?m", seen["scale"][0])
    assert "待办案件" in seen["legend"] and "数据" in seen["legend"]
    assert "Open cases" not in seen["legend"]
    assert "待办案件" in seen["control"] and "案件热力" in seen["control"]


def test_in_the_browser_the_english_page_and_the_popup(browser):
    cases = cases_frame([{"case_unit": "M1", "category": "parking", "status": "submitted"}])
    zh, en = page(cases), page(cases, lang="en")
    with serve_asgi(static_app({"/zh.html": zh, "/en.html": en}, asset_files())) as base:
        for name, words, others in (
            ("zh", ("待办案件", "生成于"), ("Open cases",)),
            ("en", ("Open cases", "Built: 2024-06-01 09:30"), ("待办案件",)),
        ):
            visit = browser.open(f"{base}/{name}.html", ready=MAP_READY)
            legend = visit.page.inner_text(".wg-legend")
            for word in words:
                assert word in legend, (name, word)
            for word in others:
                assert word not in legend, (name, word)
            # a unit's popup in the page's language
            visit.click_map(39.1025, 117.2025)
            text = visit.popup_text()
            assert ("网格长" if name == "zh" else "Leader") in text
            visit.assert_clean()
