"""GET /coverage and POST /coverage/suggest on SQLite and PostGIS, the population import and
the coverage commands; numbers checked against hand computations on the tiny set. Then the
Hexi demo: 45 centres, about 200,000 residents aged 60+, the planners' questions answered."""

from __future__ import annotations

import csv
import json
import math
import time
from datetime import datetime
from pathlib import Path

import pyproj
import pytest
import shapely

from api.demo.planning import seed_planning
from api.schemas import CoverageOut, ErrorBody, FacilityOut, FacilityPage, SuggestOut
from api.settings import Settings
from boundaries.demo_planning import demo_facilities, demo_population
from geo.crs import wgs84_to_gcj02
from tests.api.conftest import auth, make_client

#: The tiny set's micro-grids (tests/conftest.py): boxes near lon 117.2, lat 39.1.
M1 = (117.20, 39.10, 117.205, 39.105)
FACILITY = (117.2025, 39.1025)  # the middle of M1
#: Population per micro-grid: (residents, residents aged 60+).
UNITS = {"M1": (1000, 300), "M2": (800, 200), "M3": (1200, 400), "M5": (600, 100)}


def utm_area(box: tuple[float, float, float, float]) -> float:
    """Area of a lon/lat box in UTM zone 50N (the tiny set's metric CRS), by the shoelace
    formula over its projected corners."""
    to_utm = pyproj.Transformer.from_crs(4326, 32650, always_xy=True)
    x, y = to_utm.transform([box[0], box[2], box[2], box[0]], [box[1], box[1], box[3], box[3]])
    return 0.5 * abs(sum(x[i] * y[(i + 1) % 4] - x[(i + 1) % 4] * y[i] for i in range(4)))


def circle_area(radius: float) -> float:
    """A circle drawn as a regular 64-gon (16 segments a quarter), as the service uses."""
    return 32 * radius**2 * math.sin(math.pi / 32)


def coverage(api, keys, role: str = "planner", **params) -> CoverageOut:
    response = api.get("/coverage", params=params, headers=auth(keys[role]))
    assert response.status_code == 200, response.text
    return CoverageOut.model_validate(response.json())


def reset_facilities(api, keys, *points: tuple[float, float], kind: str = "elderly_care") -> None:
    """Leave exactly these facilities (of this type) stored."""
    admin = auth(keys["admin"])
    page = FacilityPage.model_validate(
        api.get("/facilities", params={"limit": 1000}, headers=admin).json()
    )
    for facility in page.items:
        assert api.delete(f"/facilities/{facility.id}", headers=admin).status_code == 204
    for i, (lon, lat) in enumerate(points):
        body = {"type": kind, "name": f"centre {i}", "lon": lon, "lat": lat}
        assert api.post("/facilities", json=body, headers=admin).status_code == 201


def population_file(path: Path, rows: dict[str, tuple[int, int]]) -> Path:
    path.write_text(
        "code,residents,residents_60\n"
        + "".join(f"{c},{r},{r60}\n" for c, (r, r60) in rows.items())
    )
    return path


@pytest.fixture
def units_population(wangge, tmp_path):
    """The per-unit table holds exactly UNITS."""
    result = wangge("population", "import", population_file(tmp_path / "p.csv", UNITS), "--replace")
    assert result.exit_code == 0, result.output
    return UNITS


# -- coverage numbers by hand ----------------------------------------------------------------


def test_per_unit_coverage_matches_hand_computation(api, keys, units_population):
    reset_facilities(api, keys, FACILITY)
    # 3 minutes at 50 m/min: a 150 m circle, wholly inside M1 (432 m x 555 m)
    radius = 150.0
    share = circle_area(radius) / utm_area(M1)
    answer = coverage(api, keys, minutes=3, speed=50, level="microgrid")
    s = answer.summary
    assert (s.level, s.mode, s.distance_m, s.facilities) == ("microgrid", "circle", 150.0, 1)
    assert (s.population_source, s.facility_type) == ("units", "elderly_care")
    units = {u.code: u for u in answer.units}
    assert list(units) == ["M1", "M2", "M3", "M5"]
    assert units["M1"].covered_60 == pytest.approx(300 * share, rel=1e-4)
    assert units["M1"].covered == pytest.approx(1000 * share, rel=1e-4)
    assert units["M1"].covered_area_m2 == pytest.approx(circle_area(radius), rel=1e-4)
    assert units["M1"].served is True
    for code in ("M2", "M3", "M5"):
        assert (units[code].covered_60, units[code].share_covered_60) == (0, 0)
        assert units[code].uncovered_60 == UNITS[code][1]
    assert (s.residents, s.residents_60) == (3600, 1000)
    assert s.covered_60 == pytest.approx(300 * share, rel=1e-4)
    assert s.uncovered_60 == pytest.approx(1000 - 300 * share, rel=1e-4)
    assert s.share_covered_60 == pytest.approx(0.3 * share, rel=1e-3)
    # the gaps hold every uncovered 60+ resident; M1's gap is M1 less the circle
    gaps = answer.gaps.features
    assert sum(g.properties.residents_60 for g in gaps) == pytest.approx(s.uncovered_60, abs=0.01)
    [m1_gap] = [g for g in gaps if g.properties.unit == "M1"]
    assert m1_gap.properties.area_m2 == pytest.approx(utm_area(M1) - circle_area(radius), rel=1e-4)
    assert m1_gap.properties.unit_name == "微网格1"
    hole = shapely.geometry.shape(m1_gap.geometry)
    assert not hole.contains(shapely.Point(FACILITY)) and hole.contains(
        shapely.Point(117.2001, 39.1001)
    )
    # most uncovered 60+ first
    assert [g.properties.unit for g in gaps][:2] == ["M3", "M1"]

    # the same at grid level: G1 holds M1, M2, M3
    grid = {u.code: u for u in coverage(api, keys, minutes=3, speed=50, level="grid").units}
    assert grid["G1"].population_60 == 900 and grid["G2"].population_60 == 100
    assert grid["G1"].covered_60 == pytest.approx(300 * share, rel=1e-4)
    assert grid["G2"].covered_60 == 0


def test_default_level_and_speed(api, keys, units_population):
    reset_facilities(api, keys, FACILITY)
    answer = coverage(api, keys)
    # the tiny set has no community level: the deepest is used; 15 min at 1000/15 m/min
    assert answer.summary.level == "microgrid"
    assert answer.summary.distance_m == 1000.0
    assert answer.summary.speed_m_per_min == pytest.approx(1000 / 15)
    assert answer.summary.minutes == 15


# the query of GET /coverage, one row per kind of answer the model must carry
PAYLOAD_CASES = [
    # a circle inside M1: gaps, one with a hole
    pytest.param({"level": "microgrid", "minutes": 3, "speed": 50}, id="gaps-and-a-hole"),
    # the default speed (a float), units above the micro-grids
    pytest.param({"level": "grid"}, id="default-speed-grid-level"),
    # point population: units without residents aged 60+ have a null share
    pytest.param({"level": "microgrid", "population": "points"}, id="points-null-shares"),
]


@pytest.mark.parametrize("params", PAYLOAD_CASES)
def test_coverage_body_is_exactly_its_response_model(api, keys, wangge, tmp_path, units_population,
                                                     params):  # fmt: skip
    """GET /coverage's body is written by hand (api/planning/payload.py says why): it must be
    exactly a CoverageOut, every field of the model and no other."""
    reset_facilities(api, keys, FACILITY)
    points = tmp_path / "points.csv"
    points.write_text(
        "lon,lat,residents,residents_60\n117.2025,39.1026,10,4\n117.2125,39.105,5,0\n"
    )
    assert wangge("population", "import", points, "--replace").exit_code == 0
    response = api.get("/coverage", params=params, headers=auth(keys["planner"]))
    assert response.status_code == 200, response.text
    body = response.json()
    model = CoverageOut.model_validate_json(response.content)
    dumped = model.model_dump(mode="json", exclude_unset=True)
    stamp = body["summary"].pop("computed_at")
    assert datetime.fromisoformat(stamp) == model.summary.computed_at
    del dumped["summary"]["computed_at"]
    assert dumped == body
    assert body["gaps"]["features"] and all(body["units"])
    if params.get("population") == "points":
        assert None in [u["share_covered_60"] for u in body["units"]]


def test_point_population_is_counted_exactly(api, keys, wangge, tmp_path):
    reset_facilities(api, keys, FACILITY)
    metres = 1 / (111_320 * math.cos(math.radians(39.1025)))  # a metre east, in degrees
    gcj = [float(v) for v in wgs84_to_gcj02(117.2025, 39.1030)]  # 56 m north, in GCJ-02
    path = tmp_path / "points.csv"
    path.write_text(
        "lon,lat,residents,residents_60,crs\n"
        f"{117.2025 + 100 * metres!r},39.1025,10,4,\n"  # in the circle
        f"{117.2025 + 200 * metres!r},39.1025,20,6,wgs84\n"  # in M1, outside the circle
        "117.2125,39.105,30,10,\n"  # in M5
        "117.218,39.105,20,5,\n"  # in G2 but in no micro-grid
        f"{gcj[0]!r},{gcj[1]!r},7,3,gcj02\n"  # in the circle once converted
    )
    result = wangge("population", "import", path, "--replace")
    assert result.exit_code == 0, result.output
    answer = coverage(api, keys, minutes=3, speed=50, level="microgrid", population="points")
    units = {u.code: (u.population_60, u.covered_60, u.population, u.covered) for u in answer.units}
    assert units == {"M1": (13, 7, 37, 17), "M2": (0, 0, 0, 0), "M3": (0, 0, 0, 0),
                     "M5": (10, 0, 30, 0)}  # fmt: skip
    s = answer.summary
    assert (s.population_source, s.residents_60, s.residents_60_outside_level) == ("points", 23, 5)
    by_grid = coverage(api, keys, minutes=3, speed=50, level="grid", population="points")
    grid = {u.code: (u.population_60, u.covered_60) for u in by_grid.units}
    assert grid == {"G1": (13, 7), "G2": (15, 0)}


def test_network_mode_walks_along_the_street(api, keys, backend, units_population, tmp_path):
    reset_facilities(api, keys, FACILITY)
    # one street through the facility, west-east across M1, M2 and M5
    street = tmp_path / "streets.geojson"
    street.write_text(json.dumps({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {},
         "geometry": {"type": "LineString", "coordinates": [[117.2, 39.1025], [117.215, 39.1025]]}}
    ]}))  # fmt: skip
    client, new_keys = make_client(backend.model_copy(update={"street_network": street}))
    try:
        params = {"minutes": 3, "speed": 50, "level": "microgrid"}
        network = coverage(client, new_keys, mode="network", **params)
        circle = coverage(client, new_keys, **params)
        # reachable: 150 m each way along the street, 50 m either side, within the circle
        band = 2 * (50 * math.sqrt(150**2 - 50**2) + 150**2 * math.asin(50 / 150))
        m1 = {u.code: u for u in network.units}["M1"]
        assert m1.covered_area_m2 == pytest.approx(band, rel=0.01)
        assert m1.covered_60 == pytest.approx(300 * band / utm_area(M1), rel=0.01)
        assert network.summary.covered_60 < circle.summary.covered_60
        assert network.summary.mode == "network" and network.summary.buffer_m == 50

        # suggestions in network mode default to the level's units as candidates
        sites = client.post(
            "/coverage/suggest",
            json={"k": 2, "minutes": 3, "speed": 50, "mode": "network", "level": "microgrid"},
            headers=auth(new_keys["planner"]),
        )
        assert sites.status_code == 200, sites.text
        assert SuggestOut.model_validate(sites.json()).summary["candidates"] == "microgrid units"
    finally:
        client.__exit__(None, None, None)

    missing = backend.model_copy(update={"street_network": tmp_path / "nowhere.graphml"})
    client, new_keys = make_client(missing)
    try:
        response = client.get(
            "/coverage", params={"mode": "network"}, headers=auth(new_keys["planner"])
        )
        assert response.status_code == 409
        error = ErrorBody.model_validate(response.json())
        assert error.code == "invalid_network_file" and "does not exist" in error.message
    finally:
        client.__exit__(None, None, None)


# -- suggested sites -------------------------------------------------------------------------


def test_suggest_picks_the_biggest_gaps_first(api, keys, units_population):
    reset_facilities(api, keys)  # nobody is covered
    body = {"k": 3, "facility_type": "elderly_care", "minutes": 2, "speed": 50}  # 100 m
    response = api.post("/coverage/suggest", json=body, headers=auth(keys["planner"]))
    assert response.status_code == 200, response.text
    answer = SuggestOut.model_validate(response.json())
    # each micro-grid's residents sit at its representative point, hundreds of metres apart:
    # one site per micro-grid, the largest 60+ populations first
    assert [s.unit for s in answer.sites] == ["M3", "M1", "M2"]
    assert [s.site for s in answer.sites] == ["M3", "M1", "M2"]
    assert [s.gain for s in answer.sites] == [400, 300, 200]
    assert [s.gain_all_ages for s in answer.sites] == [1200, 1000, 800]
    assert [s.cumulative for s in answer.sites] == [400, 700, 900]
    assert [s.share_of_uncovered_60 for s in answer.sites] == [0.4, 0.7, 0.9]
    assert answer.summary["uncovered_60_before"] == 1000
    assert answer.summary["uncovered_60_after"] == 100
    for site in answer.sites:
        where = api.get(
            "/lookup", params={"lon": site.lon, "lat": site.lat}, headers=auth(keys["planner"])
        ).json()
        assert where["units"][-1]["code"] == site.unit

    # fewer than k when nobody is left; units named at the level asked for
    body.update(k=10, level="grid")
    answer = SuggestOut.model_validate(
        api.post("/coverage/suggest", json=body, headers=auth(keys["planner"])).json()
    )
    assert [s.unit for s in answer.sites] == ["G1", "G1", "G1", "G2"]
    gains = [s.gain for s in answer.sites]
    assert gains == sorted(gains, reverse=True) and sum(gains) == 1000


def test_suggest_with_gcj02_candidates(api, keys, units_population):
    reset_facilities(api, keys)
    m5 = [float(v) for v in wgs84_to_gcj02(117.2125, 39.105)]
    far = [float(v) for v in wgs84_to_gcj02(117.3, 39.3)]
    body = {"k": 2, "minutes": 2, "speed": 50, "candidates": [far, m5], "crs": "gcj02"}
    answer = SuggestOut.model_validate(
        api.post("/coverage/suggest", json=body, headers=auth(keys["dispatcher"])).json()
    )
    [site] = answer.sites  # the far candidate covers nobody
    assert site.site == "candidates[1]" and site.unit == "M5" and site.gain == 100
    assert (site.lon, site.lat) == pytest.approx((117.2125, 39.105), abs=1e-7)


# -- errors ----------------------------------------------------------------------------------

# (query parameters, status, error code)
BAD_COVERAGE = [
    pytest.param({"level": "community"}, 422, "unknown_level", id="unknown-level"),
    pytest.param({"facility_type": "spa"}, 422, "unknown_facility_type", id="unknown-type"),
    pytest.param({"minutes": 0}, 422, "invalid_request", id="minutes-0"),
    pytest.param({"minutes": 121}, 422, "invalid_request", id="minutes-121"),
    pytest.param({"minutes": "nan"}, 422, "invalid_request", id="minutes-nan"),
    pytest.param({"speed": 9.9}, 422, "invalid_request", id="speed-slow"),
    pytest.param({"speed": 201}, 422, "invalid_request", id="speed-fast"),
    pytest.param({"mode": "drive"}, 422, "invalid_request", id="mode"),
    pytest.param({"population": "cats"}, 422, "invalid_request", id="population"),
    pytest.param({"radius": 500}, 422, "unknown_parameter", id="unknown-parameter"),
    pytest.param({"mode": "network"}, 409, "network_not_configured", id="no-network"),
]

BAD_SUGGEST = [
    pytest.param({"k": 0}, 422, "invalid_request", id="k-0"),
    pytest.param({"k": 51}, 422, "invalid_request", id="k-51"),
    pytest.param({}, 422, "invalid_request", id="k-missing"),
    pytest.param({"k": 3, "minutes": 0.5}, 422, "invalid_request", id="minutes"),
    pytest.param({"k": 3, "speed": 300}, 422, "invalid_request", id="speed"),
    pytest.param({"k": 3, "level": "street"}, 422, "unknown_level", id="level"),
    pytest.param({"k": 3, "facility_type": "spa"}, 422, "unknown_facility_type", id="type"),
    pytest.param({"k": 3, "mode": "network"}, 409, "network_not_configured", id="no-network"),
    pytest.param({"k": 3, "candidates": []}, 422, "invalid_request", id="no-candidates"),
    pytest.param({"k": 3, "candidates": [[117.2, 39.1], [117.2, 95]]}, 422,
                 "invalid_coordinates", id="candidate-lat"),
    pytest.param({"k": 3, "candidates": [[117.2, 39.1]], "crs": "mars"}, 422, "unknown_crs",
                 id="candidate-crs"),
    pytest.param({"k": 3, "candidates": [[117.2]]}, 422, "invalid_request", id="candidate-pair"),
    pytest.param({"k": 3, "radius": 1}, 422, "invalid_request", id="extra-field"),
]  # fmt: skip


@pytest.mark.parametrize("params, status, code", BAD_COVERAGE)
def test_coverage_refuses_bad_parameters(api, keys, params, status, code):
    response = api.get("/coverage", params=params, headers=auth(keys["planner"]))
    assert response.status_code == status, response.text
    error = ErrorBody.model_validate(response.json())
    assert error.code == code and error.message and error.allowed


@pytest.mark.parametrize("body, status, code", BAD_SUGGEST)
def test_suggest_refuses_bad_bodies(api, keys, body, status, code):
    response = api.post("/coverage/suggest", json=body, headers=auth(keys["planner"]))
    assert response.status_code == status, response.text
    error = ErrorBody.model_validate(response.json())
    assert error.code == code and error.message
    if code == "invalid_coordinates":
        assert error.details["invalid"][0]["index"] == 1
    if code == "network_not_configured":
        assert "WANGGE_STREET_NETWORK" in error.allowed


# -- the cache -------------------------------------------------------------------------------


def test_answers_are_cached_until_the_data_changes(api, keys, wangge, units_population, tmp_path):
    reset_facilities(api, keys, FACILITY)
    service = api.app.state.planning
    params = {"minutes": 3, "speed": 50}
    first = api.get("/coverage", params=params, headers=auth(keys["planner"]))
    computed = service.computed
    started = time.perf_counter()
    again = api.get("/coverage", params=params, headers=auth(keys["dispatcher"]))
    assert time.perf_counter() - started < 0.5
    assert service.computed == computed and again.content == first.content
    assert again.headers["ETag"] == first.headers["ETag"]
    unchanged = api.get(
        "/coverage",
        params=params,
        headers={**auth(keys["planner"]), "If-None-Match": first.headers["ETag"]},
    )
    assert unchanged.status_code == 304 and unchanged.content == b""

    # a new facility through the API: a new answer
    admin = auth(keys["admin"])
    body = {"type": "elderly_care", "name": "M2 centre", "lon": 117.2075, "lat": 39.1025}
    FacilityOut.model_validate(api.post("/facilities", json=body, headers=admin).json())
    second = CoverageOut.model_validate(
        api.get("/coverage", params=params, headers=auth(keys["planner"])).json()
    )
    assert second.summary.facilities == 2 and service.computed == computed + 1
    assert {u.code: u.covered_60 > 0 for u in second.units}["M2"]

    # population changed by the command line (its own engine, as another process would):
    # the server sees the new version at once
    rows = {**UNITS, "M5": (600, 300)}
    assert wangge("population", "import", population_file(tmp_path / "m5.csv", rows)).exit_code == 0
    third = CoverageOut.model_validate(
        api.get("/coverage", params=params, headers=auth(keys["planner"])).json()
    )
    assert third.summary.residents_60 == 1200
    assert third.summary.data_version["population"] > second.summary.data_version["population"]


# -- population import -----------------------------------------------------------------------

BAD_POPULATION = (
    "code,lon,lat,residents,residents_60\n"  # 1
    "M1,,,1000,300\n"  # 2: good
    "NOPE,,,10,1\n"  # 3: unknown unit
    "M1,,,5,1\n"  # 4: repeats line 2
    "M2,,,10,20\n"  # 5: more 60+ than residents
    "M3,,,-4,0\n"  # 6: negative
    "M5,,,12.5,2\n"  # 7: not a whole number
    ",,,10,2\n"  # 8: neither code nor point
    "G2,117.21,39.10,10,2\n"  # 9: both
    ",117.2,95,10,2\n"  # 10: latitude out of range
    ",117.2051,39.1051,8,\n"  # 11: residents_60 missing
    ",117.2052,39.1052,8,3\n"  # 12: good point
)
BAD_POPULATION_LINES = {
    3: "unit 'NOPE' is not in the boundary set",
    4: "unit 'M1' repeats line 2",
    5: "residents_60 20 is more than residents 10",
    6: "residents '-4' is negative",
    7: "residents '12.5' is not a whole number",
    8: "has neither a code nor lon/lat",
    9: "has both a code and lon/lat",
    10: "lat 95.0 is outside [-90, 90]",
    11: "residents_60 is missing",
}


def reported(path: Path) -> dict[int, str]:
    with path.open(encoding="utf-8") as f:
        return {int(r["line"]): r["reason"] for r in csv.DictReader(f) if r["kind"] == "bad"}


def test_population_import_names_bad_rows(api, keys, wangge, tmp_path, units_population):
    path = tmp_path / "bad.csv"
    path.write_text(BAD_POPULATION)
    report = tmp_path / "report.csv"
    result = wangge("population", "import", path, "--report", report)
    assert result.exit_code == 1, result.output
    found = reported(report)
    assert set(found) == set(BAD_POPULATION_LINES)
    for line, reason in BAD_POPULATION_LINES.items():
        assert reason in found[line], (line, found[line])
    assert coverage(api, keys).summary.residents_60 == 1000  # nothing changed

    result = wangge("population", "import", path, "--skip-invalid")
    assert result.exit_code == 0, result.output
    # M1 replaced (same numbers), one point appended
    assert coverage(api, keys).summary.residents_60 == 1000
    points = coverage(api, keys, population="points", level="microgrid").summary
    assert points.residents_60 >= 3


def test_population_upsert_and_replace(api, keys, wangge, tmp_path, units_population):
    more = population_file(tmp_path / "m1.csv", {"M1": (2000, 500)})
    assert wangge("population", "import", more).exit_code == 0
    upserted = {u.code: u.population_60 for u in coverage(api, keys).units}
    assert upserted == {"M1": 500, "M2": 200, "M3": 400, "M5": 100}  # the others kept
    assert wangge("population", "import", more, "--replace").exit_code == 0
    replaced = {u.code: u.population_60 for u in coverage(api, keys).units}
    assert replaced == {"M1": 500, "M2": 0, "M3": 0, "M5": 0}
    shown = wangge("population", "show")
    assert shown.exit_code == 0 and "2,000" in shown.output


def test_population_for_nested_units_is_refused(api, keys, wangge, tmp_path, units_population):
    # in one file: a grid and one of its micro-grids
    both = population_file(tmp_path / "both.csv", {"G1": (3000, 900), "M1": (1000, 300)})
    report = tmp_path / "report.csv"
    result = wangge("population", "import", both, "--replace", "--report", report)
    assert result.exit_code == 1
    found = reported(report)
    assert "contains unit 'M1'" in found[2] and "lies in unit 'G1'" in found[3]
    # against the stored micro-grids: refused unless the table is replaced
    grid = population_file(tmp_path / "grid.csv", {"G2": (700, 100)})
    result = wangge("population", "import", grid, "--report", report)
    assert result.exit_code == 1
    assert "already in the table" in reported(report)[2]
    assert wangge("population", "import", grid, "--replace").exit_code == 0
    # population given for a grid is spread over its micro-grids by area: M5 is half of G2,
    # and the half in no micro-grid is counted as outside the level, not lost
    answer = coverage(api, keys, level="microgrid")
    units = {u.code: u.population_60 for u in answer.units}
    assert units["M5"] == pytest.approx(50, rel=1e-3) and units["M1"] == 0
    assert answer.summary.residents_60_outside_level == pytest.approx(50, rel=1e-3)
    assert sum(units.values()) + answer.summary.residents_60_outside_level == pytest.approx(100)
    grids = {u.code: u.population_60 for u in coverage(api, keys, level="grid").units}
    assert grids == {"G1": 0, "G2": 100}


def test_population_import_needs_the_columns(wangge, tmp_path):
    path = tmp_path / "wrong.csv"
    path.write_text("unit,people\nM1,10\n")
    result = wangge("population", "import", path)
    assert result.exit_code == 2 and "lacks column(s)" in result.stderr


# -- the coverage commands -------------------------------------------------------------------


def test_coverage_command_prints_units_most_uncovered_first(api, keys, wangge, units_population,
                                                            tmp_path):  # fmt: skip
    reset_facilities(api, keys, FACILITY)
    out = tmp_path / "coverage.html"
    result = wangge(
        "coverage", "--level", "microgrid", "--minutes", "3", "--speed", "50", "--out", out
    )
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    order = [code for line in lines for code in ("M1", "M2", "M3", "M5") if f"│ {code} " in line]
    assert order == ["M3", "M1", "M2", "M5"]  # 400, 300 - 88, 200, 100 uncovered
    assert any("total" in line and "1,000" in line for line in lines)
    assert "not available yet" in result.output or out.exists()

    suggested = wangge("coverage", "suggest", "--k", "3", "--minutes", "2", "--speed", "50")
    assert suggested.exit_code == 0, suggested.output
    ranks = [line for line in suggested.output.splitlines() if line.startswith("│ ")]
    assert len(ranks) == 3


@pytest.mark.parametrize(
    "args, message",
    [
        (["--level", "community"], "unknown level"),
        (["--minutes", "500"], "minutes 500.0 is out of range"),
        (["--facility-type", "spa"], "unknown facility type"),
        (["--mode", "network"], "WANGGE_STREET_NETWORK"),
        (["suggest", "--k", "0"], "k 0 is out of range"),
    ],
)
def test_coverage_command_errors(wangge, args, message):
    result = wangge("coverage", *args)
    assert result.exit_code == 2
    assert message in " ".join(result.stderr.split())


# -- the Hexi demo (about 10 s to build) ------------------------------------------------------


@pytest.fixture(scope="module")
def hexi(tmp_path_factory, hexi_gpkg):
    """The Hexi demo set on disk, the app on it (SQLite), the demo planning data seeded."""
    folder = tmp_path_factory.mktemp("hexi")
    client, keys = make_client(Settings(boundaries=str(hexi_gpkg), data_dir=folder))
    state = client.app.state
    seeded = seed_planning(state.db.sessions, state.boundaries.bset, 20231)
    yield client, keys, seeded
    client.__exit__(None, None, None)


@pytest.mark.slow
def test_demo_seeding(hexi):
    client, keys, seeded = hexi
    assert seeded["facilities"] == 45 and seeded["units"] == 13_989
    assert seeded["residents"] == 870_000
    assert seeded["residents_60"] == pytest.approx(200_000, rel=0.01)
    page = FacilityPage.model_validate(
        client.get(
            "/facilities", params={"type": "elderly_care", "limit": 100},
            headers=auth(keys["planner"]),
        ).json()
    )  # fmt: skip
    assert page.total == 45
    assert all(
        f.name.endswith("居家养老服务中心") or "居家养老服务中心(" in f.name for f in page.items
    )
    assert all(f.source == "demo" and 15 <= (f.capacity or 0) <= 60 for f in page.items)
    # every centre is inside the district
    bset = client.app.state.boundaries.bset
    district = bset.units.geometry.iloc[0]
    assert all(district.contains(shapely.Point(f.lon, f.lat)) for f in page.items)
    # deterministic, and seeding again replaces rather than adds
    population = demo_population(bset, 20231)
    assert population.equals(demo_population(bset, 20231))
    assert (
        demo_facilities(bset, population, 20231)
        .geom_equals(demo_facilities(bset, population, 20231))
        .all()
    )
    again = seed_planning(client.app.state.db.sessions, bset, 20231)
    assert again == seeded
    total = client.get("/facilities", params={"type": "elderly_care"}, headers=auth(keys["admin"]))
    assert total.json()["total"] == 45


@pytest.mark.slow
def test_hexi_planners_questions(hexi):
    """Who in Hexi's 149 communities lives beyond the 15-minute circle, and where would three
    new centres help most?"""
    client, keys, seeded = hexi
    planner = auth(keys["planner"])
    response = client.get("/coverage", params={"level": "community"}, headers=planner)
    assert response.status_code == 200, response.text
    answer = CoverageOut.model_validate(response.json())
    s = answer.summary
    assert len(answer.units) == 149 and s.facilities == 45 and s.distance_m == 1000
    assert s.residents_60 == seeded["residents_60"] and s.residents == 870_000
    assert 0.6 < s.share_covered_60 < 0.98  # mostly covered, with real gaps
    outside = sorted(answer.units, key=lambda u: -u.uncovered_60)
    assert outside[0].uncovered_60 > 1000  # a community with over a thousand people beyond reach
    assert sum(u.uncovered_60 for u in answer.units) == pytest.approx(s.uncovered_60, abs=0.1)
    assert sum(g.properties.residents_60 for g in answer.gaps.features) == pytest.approx(
        s.uncovered_60, abs=0.5
    )
    assert all(0 <= u.share_covered_60 <= 1 for u in answer.units)

    body = {"k": 3, "facility_type": "elderly_care", "minutes": 15, "level": "community"}
    sites = SuggestOut.model_validate(
        client.post("/coverage/suggest", json=body, headers=planner).json()
    ).sites
    assert len(sites) == 3
    gains = [site.gain for site in sites]
    assert gains == sorted(gains, reverse=True) and gains[-1] > 0
    assert sites[-1].cumulative == pytest.approx(sum(gains), abs=0.01)
    codes = {u.code for u in answer.units}
    assert all(site.unit in codes and site.unit_name for site in sites)
    # the planners' answer, for the record (pytest -s shows it)
    print(f"\nHexi, 15-minute circle (1,000 m), 45 centres: {s.covered_60:,.0f} of "
          f"{s.residents_60:,.0f} residents aged 60+ covered ({s.share_covered_60:.1%}); "
          f"{s.uncovered_60:,.0f} beyond reach in "
          f"{sum(u.uncovered_60 >= 0.5 for u in answer.units)} communities")  # fmt: skip
    for unit in outside[:5]:
        print(f"  {unit.code} {unit.name}: {unit.uncovered_60:,.0f} of {unit.population_60:,.0f}")
    for site in sites:
        print(f"  site {site.rank}: {site.lon:.5f}, {site.lat:.5f} in {site.unit_name}: "
              f"+{site.gain:,.0f} (cumulative {site.cumulative:,.0f})")  # fmt: skip
