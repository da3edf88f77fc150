"""The density map's data, built and rendered without a browser: counts, classes, heat bins,
markers, geometry encoding, privacy, escaping, tiles and bad input."""

from __future__ import annotations

import re
import subprocess
import sys
import warnings
from datetime import UTC, datetime, timedelta, timezone
from html import escape

import numpy as np
import pytest
import shapely

from geo.crs import local_metric_crs
from maps import MapInputError, build_density_map, render_html
from maps.assets import asset_files, linked_urls
from maps.classes import classify_counts
from maps.density import heat_cells
from maps.encoding import GEOMETRY_STEP_DEG, encode_geometries
from tests.maps.pages import VOCABULARY, cases_frame, decode_geometries, payload, tiny_units

BUILT = datetime(2024, 6, 1, 9, 30)
# One metre in degrees near Tianjin (lat 39.1).
M_LON = 1 / (111_320 * np.cos(np.radians(39.1)))
M_LAT = 1 / 110_990


def page(cases, units=None, **kwargs) -> str:
    options = {"level": "microgrid", "title": "河西区", "built_at": BUILT, **VOCABULARY, **kwargs}
    return render_html(
        build_density_map(tiny_units() if units is None else units, cases, **options)
    )


# -- counts and classes ---------------------------------------------------------------------


def test_counts_per_unit_come_from_case_unit():
    cases = cases_frame(
        [{"case_unit": "M1"}] * 3
        + [{"case_unit": "M3"}]
        # outside the units of this level: counted in the total only
        + [{"case_unit": None}, {"case_unit": "G1"}]
    )
    html = page(cases)
    units = payload(html, "decodeUnits")
    assert dict(zip(units["code"], units["count"], strict=True)) == {
        "M1": 3,
        "M2": 0,
        "M3": 1,
        "M5": 0,
    }
    legend = payload(html, "decorate")
    assert (legend["cases"], legend["casesInUnits"], legend["units"]) == (6, 4, 4)


@pytest.mark.parametrize(
    "counts, k, labels, classes",
    [
        # all zero: one class, "0"
        ([0, 0, 0], 5, ["0"], [0, 0, 0]),
        # a single distinct positive value: its own class
        ([0, 7, 7, 0], 5, ["0", "7"], [0, 1, 1, 0]),
        # no zero at all: the "0" class is empty but still in the legend
        ([1, 2, 3], 5, ["0", "1", "2", "3"], [1, 2, 3]),
        # as many distinct values as classes: each value its own class
        ([0, 1, 2, 3, 4, 5], 5, ["0", "1", "2", "3", "4", "5"], [0, 1, 2, 3, 4, 5]),
        # more distinct values than classes: quantiles of the positive counts, labelled with
        # the smallest and largest count in each class
        (
            [0, 0, 1, 1, 2, 9, 30, 31, 70, 400],
            3,
            ["0", "1–2", "9–31", "70–400"],
            [0, 0, 1, 1, 1, 2, 2, 2, 3, 3],
        ),
        # heavy ties: the tied count fills one class, the others split the counts above it
        (
            [1] * 50 + [2, 3, 4, 5, 6, 100],
            5,
            ["0", "1", "2–3", "4–5", "6", "100"],
            [1] * 50 + [2, 2, 3, 3, 4, 5],
        ),
        # one class asked for: everything positive in it
        ([0, 1, 5, 9], 1, ["0", "1–9"], [0, 1, 1, 1]),
    ],
)
def test_classify_counts(counts, k, labels, classes):
    result = classify_counts(np.array(counts), k=k)
    assert [entry["label"] for entry in result.legend()] == labels
    assert result.unit_class.tolist() == classes
    assert sum(entry["units"] for entry in result.legend()) == len(counts)
    assert len(result.colors) == len(labels)


def test_classify_counts_other_scheme_and_bounds_cover_the_maximum():
    counts = np.random.default_rng(1).pareto(1.2, 5000).astype(int)
    for scheme in ("quantiles", "natural_breaks", "equal_interval", "headtail_breaks"):
        result = classify_counts(counts, scheme=scheme, k=5)
        assert result.highest[-1] == counts.max(), scheme
        assert all(n > 0 for n in result.unit_counts[1:]), scheme
    # quantiles always give k classes when there are enough distinct counts
    assert len(classify_counts(counts, k=5).unit_counts) == 6


def test_fisher_jenks_is_compiled_on_first_use_and_agrees_with_mapclassify():
    """mapclassify is imported with numba hidden (no compile at import); Fisher-Jenks compiles
    on its first use, with mapclassify's answer and without its "numba missing" warning."""
    counts = np.random.default_rng(2).integers(1, 400, 3000)
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        result = classify_counts(counts, scheme="fisher_jenks", k=5)
    import mapclassify
    import mapclassify.classifiers

    assert mapclassify.classifiers.HAS_NUMBA
    expected = mapclassify.FisherJenks(np.sort(counts).astype(float), k=5).bins
    assert list(result.highest[1:]) == [int(b) for b in expected]


def test_serving_imports_no_statistics_library_until_one_is_used():
    """Starting the service (importing the application) imports none of mapclassify, scipy.stats,
    esda, libpysal or scikit-learn: seconds of CPU at every start that most processes never
    use (the first classing or analytics request imports them)."""
    code = (
        "import sys, api.main\n"
        "heavy = ('mapclassify', 'scipy.stats', 'esda', 'libpysal', 'sklearn', 'pymannkendall')\n"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


# -- heat -----------------------------------------------------------------------------------

TIANJIN = local_metric_crs((117.19, 39.05, 117.28, 39.12))


@pytest.mark.parametrize(
    "offsets_m, cells",
    [
        # one point: one cell, at the point itself
        ([(0, 0)], 1),
        # 10 m apart: almost surely one 75 m cell (the grid is fixed, so pick a cell interior)
        ([(20, 20), (30, 30)], 1),
        # 200 m apart: two cells
        ([(0, 0), (200, 0)], 2),
        # a thousand points on one spot: one cell of weight 1000
        ([(5, 5)] * 1000, 1),
    ],
)
def test_heat_cells_bins_on_a_metric_grid(offsets_m, cells):
    lon0, lat0 = 117.20001, 39.10001
    lon = np.array([lon0 + dx * M_LON for dx, _ in offsets_m])
    lat = np.array([lat0 + dy * M_LAT for _, dy in offsets_m])
    result = heat_cells(lon, lat, cell_m=75, metric_crs=TIANJIN)
    assert result.size == cells
    assert result.weight.sum() == len(offsets_m)


def test_heat_cells_keep_a_lone_point_in_place_and_skip_nan():
    lon = np.array([117.2, np.nan, 117.25])
    lat = np.array([39.1, 39.1, np.nan])
    result = heat_cells(lon, lat, cell_m=75, metric_crs=TIANJIN)
    assert result.rows() == [[39.1, 117.2, 1.0]]


def test_heat_layer_is_aggregated(hexi_microgrids, hexi_cases):
    html = render_html(
        build_density_map(
            hexi_microgrids,
            hexi_cases,
            level="microgrid",
            title="Hexi",
            built_at=BUILT,
            **VOCABULARY,
        )
    )
    rows = _heat_rows(html)
    assert 100 < len(rows) < len(hexi_cases)
    assert sum(r[2] for r in rows) == len(hexi_cases)


def _heat_rows(html: str) -> list[list[float]]:
    import json

    found = re.search(r"L\.heatLayer\(\s*(\[.*?\]),\s*\{", html, re.S)
    assert found
    return json.loads(found.group(1))


# -- open-case markers ----------------------------------------------------------------------


def test_only_open_cases_become_markers():
    cases = cases_frame(
        [
            {"case_unit": "M1", "id": "open", "status": "reported"},
            {"case_unit": "M1", "id": "closed", "status": "closed"},
            {"case_unit": "M2", "id": "resolved", "status": "Resolved"},  # any case
            {"case_unit": "M2", "id": "rejected", "status": " rejected "},
            {"case_unit": "M3", "id": "late", "status": "dispatched", "overdue": True},
            # open but without a location: counted, not drawn
            {"case_unit": "M3", "id": "nowhere", "status": "reported", "geometry": None},
        ]
    )
    html = page(cases)
    markers = payload(html, "caseLayer")
    assert sorted(r[2] for r in markers["rows"]) == ["late", "open"]
    legend = payload(html, "decorate")["open"]
    assert (legend["total"], legend["overdue"], legend["shown"]) == (3, 1, 2)
    assert {s["name"]: s["count"] for s in legend["statuses"]} == {"dispatched": 1, "reported": 2}


def test_markers_are_capped_overdue_first_then_newest():
    now = datetime(2024, 6, 1, 9)
    rows = [
        {"case_unit": "M1", "id": i, "created_at": now - timedelta(hours=i), "overdue": i % 10 == 0}
        for i in range(100)
    ]
    html = page(cases_frame(rows), max_markers=15)
    shown = [r[2] for r in payload(html, "caseLayer")["rows"]]
    # the 10 overdue ones (0, 10, ..., 90) newest first, then the 5 newest others
    assert shown == [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 1, 2, 3, 4, 5]
    legend = payload(html, "decorate")["open"]
    assert (legend["total"], legend["shown"], legend["cap"]) == (100, 15, 15)


def test_marker_rows_carry_what_the_popup_shows():
    created = datetime(2024, 5, 30, 8, 15, tzinfo=timezone(timedelta(hours=8)))
    cases = cases_frame(
        [
            {
                "case_unit": "M2",
                "id": "R-7",
                "category": "违章停车",
                "status": "accepted",
                "created_at": created,
                "due_at": created + timedelta(days=1),
                "overdue": True,
                "leader_name": "刘洋",
            }
        ]
    )
    markers = payload(page(cases, case_url="/dispatch/cases/{id}"), "caseLayer")
    (row,) = markers["rows"]
    assert row[2:] == ["R-7", 0, "2024-05-30 08:15", 0, 1, "刘洋", "2024-05-31 08:15"]
    assert markers["categories"] == ["违章停车"] and markers["statuses"] == ["accepted"]
    assert markers["url"] == "/dispatch/cases/{id}"
    assert row[:2] == [39.1025, 117.2075]


# -- geometry encoding ----------------------------------------------------------------------

HOLE = shapely.box(117.206, 39.107, 117.207, 39.108)


@pytest.mark.parametrize(
    "geometry",
    [
        # a plain square
        shapely.box(117.20, 39.10, 117.205, 39.105),
        # a square with a hole
        shapely.box(117.20, 39.105, 117.21, 39.11).difference(HOLE),
        # a multipolygon of two parts
        shapely.MultiPolygon([shapely.box(117.2, 39.1, 117.201, 39.101), HOLE]),
        # west and south of the origin: negative coordinates and deltas
        shapely.box(-70.61, -33.46, -70.60, -33.45),
        # a vertex every metre or so: neighbours in the encoding differ by one step
        shapely.segmentize(shapely.box(117.2, 39.1, 117.201, 39.101), 1e-5),
    ],
)
def test_geometry_encoding_round_trips_to_a_metre(geometry):
    origin, text = encode_geometries(np.array([geometry], dtype=object))
    (decoded,) = decode_geometries(origin, text, GEOMETRY_STEP_DEG)
    rebuilt = shapely.MultiPolygon([shapely.Polygon(rings[0], rings[1:]) for rings in decoded])
    assert rebuilt.is_valid
    # every vertex moved by at most half a step in each axis
    assert shapely.hausdorff_distance(rebuilt, geometry) <= GEOMETRY_STEP_DEG
    assert abs(rebuilt.area - geometry.area) <= geometry.length * GEOMETRY_STEP_DEG


@pytest.mark.parametrize(
    "geometries, parts",
    [
        # missing and empty geometries keep their place as empty units
        ([None, shapely.Polygon(), shapely.box(0, 0, 1, 1)], [0, 0, 1]),
        # a polygon smaller than the step collapses and is dropped, its neighbour kept
        ([shapely.box(0, 0, 1e-6, 1e-6), shapely.box(0, 0, 1, 1)], [0, 1]),
        # a hole smaller than the step is dropped, the polygon kept
        ([shapely.box(0, 0, 1, 1).difference(shapely.box(0.5, 0.5, 0.500001, 0.500001))], [1]),
        # nothing at all
        ([], []),
    ],
)
def test_geometry_encoding_edge_cases(geometries, parts):
    origin, text = encode_geometries(np.array(geometries, dtype=object))
    decoded = decode_geometries(origin, text, GEOMETRY_STEP_DEG) if geometries else []
    assert [len(unit) for unit in decoded] == parts
    assert all(len(ring) >= 3 for unit in decoded for poly in unit for ring in poly)


def test_shared_edges_stay_shared(hexi_microgrids):
    """Neighbours round a shared vertex the same way: no slivers, no overlaps."""
    sample = hexi_microgrids.geometry.to_numpy()[:400]
    origin, text = encode_geometries(sample)
    decoded = decode_geometries(origin, text, GEOMETRY_STEP_DEG)
    polygons = np.array(
        [shapely.MultiPolygon([shapely.Polygon(r[0], r[1:]) for r in unit]) for unit in decoded]
    )
    before, after = shapely.union_all(sample), shapely.union_all(polygons)
    # a sliver between two neighbours would be a new hole or split the union
    holes = [sum(shapely.get_num_interior_rings(shapely.get_parts(u))) for u in (before, after)]
    parts = [shapely.get_num_geometries(u) for u in (before, after)]
    assert holes[0] == holes[1] and parts[0] == parts[1]
    # overlaps would make the parts add up to more than the union
    assert shapely.area(polygons).sum() == pytest.approx(after.area, rel=1e-9)


# -- what reaches the page ------------------------------------------------------------------


def test_phones_only_when_asked():
    cases = cases_frame([{"case_unit": "M1"}])
    units = tiny_units()
    phones = [p for p in units["leader_phone"] if p]
    assert phones
    hidden = page(cases)
    assert payload(hidden, "decodeUnits")["phone"] is None
    assert not any(p in hidden for p in phones)
    shown = page(cases, show_phones=True)
    assert all(p in shown for p in phones)


def test_other_case_columns_never_reach_the_page():
    extra = {"reporter_name": "赵秘密", "reporter_phone": "139-9999-0000", "description": "xyz"}
    html = page(cases_frame([{"case_unit": "M1", "extra": extra}]))
    for value in extra.values():
        assert value not in html


@pytest.mark.parametrize(
    "text",
    [
        # closing the script and opening another
        "</script><script>alert(1)</script>",
        # a Jinja expression: folium would evaluate it (49) if it were parsed as a template
        "{{ 7*7 }}",
        "{% if true %}x{% endif %}",
        # quotes, backslash, line and paragraph separators
        "a\"b'c\\d\u2028e\u2029f",
    ],
)
def test_data_text_is_inert(text):
    units = tiny_units()
    units.loc[0, "name"] = text
    cases = cases_frame([{"case_unit": "M1", "category": text, "leader_name": text, "id": text}])
    html = page(cases, units=units, title=text, filters=text)
    assert "<script>alert" not in html
    assert payload(html, "decodeUnits")["name"][0] == text
    (row,) = payload(html, "caseLayer")["rows"]
    assert row[2] == text and row[7] == text
    assert payload(html, "decorate")["filters"] == text
    assert f"<title>{escape(text)}</title>" in html


def test_no_tiles_means_no_tile_layer():
    html = page(cases_frame([{"case_unit": "M1"}]))
    assert "L.tileLayer" not in html
    assert payload(html, "decorate")["plain"] is True


def test_tile_url_and_attribution():
    url = "https://tiles.example.gov.cn/base/{z}/{x}/{y}.png"
    attribution = '<a href="https://tiles.example.gov.cn/about">城市底图</a>'
    html = page(cases_frame([{"case_unit": "M1"}]), tiles=url, tiles_attribution=attribution)
    assert "L.tileLayer" in html and url in html
    assert payload(html, "decorate")["plain"] is False


def test_offline_page_references_nothing_outside_but_the_tiles():
    url = "https://tiles.example.gov.cn/base/{z}/{x}/{y}.png"
    attribution = '<a href="http://tiles.example.gov.cn/about">城市底图</a>'
    html = page(
        cases_frame([{"case_unit": "M1"}, {"case_unit": "M2", "status": "closed"}]),
        tiles=url,
        tiles_attribution=attribution,
        asset_base="/assets/maps/",
    )
    external = set(re.findall(r"https?://[^\s\"'<>)\\]+", html))
    assert external == {url, "http://tiles.example.gov.cn/about"}
    links = linked_urls(html)
    assert links and all(u.startswith("/assets/maps/") for u in links)
    files = asset_files()
    assert all(u.removeprefix("/assets/maps/") in files for u in links)


def test_empty_cases():
    html = page(cases_frame([]))
    legend = payload(html, "decorate")
    assert (legend["cases"], legend["open"]["shown"], legend["heat"]["cells"]) == (0, 0, 0)
    assert [c["label"] for c in legend["classes"]] == ["0"]


def test_units_in_another_crs_are_converted():
    units = tiny_units().to_crs(3857)
    html = page(cases_frame([{"case_unit": "M1"}]), units=units)
    data = payload(html, "decodeUnits")
    first = decode_geometries(data["origin"], data["geometry"], data["step"])[0][0][0]
    xs = [x for x, _ in first]
    assert min(xs) == pytest.approx(117.20, abs=2e-5) and max(xs) == pytest.approx(
        117.205, abs=2e-5
    )


@pytest.mark.parametrize(
    "change, message",
    [
        # a unit column missing
        (lambda u, c: (u.drop(columns="leader_phone"), c), "units lack column"),
        # a case column missing
        (lambda u, c: (u, c.drop(columns="case_unit")), "cases lack column"),
        # units of another level
        (lambda u, c: (u.assign(level="grid"), c), "level"),
        # a case that is not a point
        (lambda u, c: (u, c.set_geometry([shapely.box(0, 0, 1, 1)], crs=4326)), "points"),
        # no unit with a geometry
        (lambda u, c: (u.set_geometry([None] * len(u), crs=4326), c), "no unit"),
    ],
)
def test_bad_input_is_refused(change, message):
    units, cases = change(tiny_units(), cases_frame([{"case_unit": "M1"}]))
    with pytest.raises(MapInputError, match=message):
        build_density_map(units, cases, level="microgrid", title="x", built_at=BUILT, **VOCABULARY)


def test_built_at_with_time_zone_is_shown_with_its_offset():
    built = datetime(2024, 6, 1, 9, 30, tzinfo=timezone(timedelta(hours=8)))
    html = page(cases_frame([{"case_unit": "M1"}]), built_at=built)
    assert payload(html, "decorate")["builtAt"] == "2024-06-01 09:30 UTC+08:00"


def test_demo_page_stays_small(hexi_microgrids, hexi_cases):
    html = render_html(
        build_density_map(
            hexi_microgrids,
            hexi_cases,
            level="microgrid",
            title="Hexi",
            built_at=BUILT,
            **VOCABULARY,
        )
    )
    assert len(html.encode()) < 2.5e6


def test_no_markers_leaves_the_case_layer_out():
    cases = cases_frame([{"case_unit": "M1"}, {"case_unit": "M2", "overdue": True}])
    html = page(cases, max_markers=0)
    assert "wangge.caseLayer" not in html and "markercluster" not in html
    legend = payload(html, "decorate")
    assert (legend["open"]["total"], legend["open"]["overdue"], legend["open"]["cap"]) == (2, 1, 0)
    assert "Open cases" not in re.search(r"L\.control\.layers\(.*?\);", html, re.S).group(0)


def test_times_shown_in_the_display_time_zone():
    created = datetime(2024, 5, 31, 23, 15, tzinfo=UTC)
    cases = cases_frame(
        [{"case_unit": "M1", "created_at": created, "due_at": created + timedelta(hours=24)}]
    )
    built = datetime(2024, 6, 1, 1, 30, tzinfo=UTC)
    html = page(cases, built_at=built, display_tz="Asia/Shanghai")
    (row,) = payload(html, "caseLayer")["rows"]
    assert (row[4], row[8]) == ("2024-06-01 07:15", "2024-06-02 07:15")
    legend = payload(html, "decorate")
    assert (legend["builtAt"], legend["timeZone"]) == (
        "2024-06-01 09:30 UTC+08:00",
        "Asia/Shanghai",
    )


def test_cases_without_a_time_come_last():
    now = datetime(2024, 6, 1, 9)
    rows = [
        {"case_unit": "M1", "id": "no time", "created_at": None, "due_at": None},
        {"case_unit": "M1", "id": "old", "created_at": now - timedelta(days=9)},
        {"case_unit": "M1", "id": "new", "created_at": now - timedelta(hours=1)},
    ]
    markers = payload(page(cases_frame(rows), max_markers=2), "caseLayer")["rows"]
    assert [r[2] for r in markers] == ["new", "old"]
