"""Care facilities on SQLite and PostGIS: CRUD over HTTP, imports of real CSV and GeoJSON files
through the command line (bad rows named by line), coordinate systems kept and converted."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from api.schemas import ErrorBody, FacilityOut, FacilityPage, FacilityTypeOut
from geo.crs import bd09_to_wgs84, gcj02_to_wgs84, wgs84_to_gcj02
from tests.api.conftest import auth

#: The middle of micro-grid M2 of the tiny set, and the same place as a GCJ-02 map shows it.
M2_WGS84 = (117.2075, 39.1025)
M2_GCJ02 = tuple(float(v) for v in wgs84_to_gcj02(*M2_WGS84))


def facilities(api, keys, **params) -> list[FacilityOut]:
    response = api.get(
        "/facilities", params={"limit": 1000, **params}, headers=auth(keys["planner"])
    )
    assert response.status_code == 200, response.text
    return FacilityPage.model_validate(response.json()).items


def by_name(api, keys, name: str) -> list[FacilityOut]:
    return [f for f in facilities(api, keys) if f.name == name]


def write(path: Path, text: str, encoding: str = "utf-8") -> Path:
    path.write_bytes(text.encode(encoding))
    return path


def problem_lines(output: str) -> set[int]:
    """Line numbers in the "bad rows" table the import prints."""
    section = output.split("bad rows", 1)[1].split("└", 1)[0] if "bad rows" in output else ""
    return {int(m.group(1)) for m in re.finditer(r"^│ +(\d+) │", section, re.MULTILINE)}


def reported(path: Path) -> dict[int, str]:
    """Line number -> reason of the bad rows, from the CSV that --report writes."""
    with path.open(encoding="utf-8") as f:
        return {int(r["line"]): r["reason"] for r in csv.DictReader(f) if r["kind"] == "bad"}


# -- CRUD ------------------------------------------------------------------------------------


def test_create_read_update_delete(api, keys):
    admin = auth(keys["admin"])
    body = {"type": "elderly_care", "name": "挂甲寺街道养老中心", "capacity": 40,
            "lon": M2_GCJ02[0], "lat": M2_GCJ02[1], "crs": "gcj02"}  # fmt: skip
    created = api.post("/facilities", json=body, headers=admin)
    assert created.status_code == 201, created.text
    out = FacilityOut.model_validate(created.json())
    assert created.headers["Location"] == f"/facilities/{out.id}"
    # stored in WGS84, where the GCJ-02 map showed it; the input is kept as given
    assert (out.lon, out.lat) == pytest.approx(M2_WGS84, abs=1e-7)
    assert out.input.model_dump() == {"lon": M2_GCJ02[0], "lat": M2_GCJ02[1], "crs": "gcj02"}
    assert (out.type, out.capacity, out.source) == ("elderly_care", 40, "api")

    # planners and dispatchers read
    for role in ("planner", "dispatcher"):
        one = api.get(f"/facilities/{out.id}", headers=auth(keys[role]))
        assert FacilityOut.model_validate(one.json()) == out
    assert out.id in [f.id for f in facilities(api, keys, type="elderly_care")]
    assert out.id not in [f.id for f in facilities(api, keys, type="clinic")]

    # rename and clear the capacity
    patched = api.patch(
        f"/facilities/{out.id}", json={"name": "挂甲寺养老中心", "capacity": None}, headers=admin
    )
    assert patched.status_code == 200, patched.text
    renamed = FacilityOut.model_validate(patched.json())
    assert (renamed.name, renamed.capacity, renamed.lon) == ("挂甲寺养老中心", None, out.lon)
    assert renamed.updated_at >= out.updated_at

    # move it, given in Baidu's BD-09
    bd = (117.2190, 39.1090)
    moved = FacilityOut.model_validate(
        api.patch(
            f"/facilities/{out.id}",
            json={"lon": bd[0], "lat": bd[1], "crs": "bd09", "type": "clinic"},
            headers=admin,
        ).json()
    )
    assert (moved.lon, moved.lat) == pytest.approx(
        tuple(float(v) for v in bd09_to_wgs84(*bd)), abs=1e-9
    )
    assert moved.input.crs == "bd09" and moved.type == "clinic"

    deleted = api.delete(f"/facilities/{out.id}", headers=admin)
    assert deleted.status_code == 204 and deleted.content == b""
    gone = api.get(f"/facilities/{out.id}", headers=admin)
    assert gone.status_code == 404
    assert ErrorBody.model_validate(gone.json()).code == "facility_not_found"
    assert api.delete(f"/facilities/{out.id}", headers=admin).status_code == 404


def test_projected_input_is_converted(api, keys):
    # UTM zone 50N metres (EPSG:32650) of a point in M1
    body = {"type": "clinic", "name": "UTM clinic", "lon": 517_294.0, "lat": 4_327_893.0,
            "crs": "EPSG:32650"}  # fmt: skip
    out = FacilityOut.model_validate(
        api.post("/facilities", json=body, headers=auth(keys["admin"])).json()
    )
    assert (out.lon, out.lat) == pytest.approx((117.2, 39.1), abs=1e-5)
    assert out.input.crs == "EPSG:32650"


GOOD = {"type": "elderly_care", "name": "x", "lon": 117.205, "lat": 39.105}

# (method, path suffix, body, status, error code)
BAD_WRITES = [
    pytest.param("POST", "", {**GOOD, "type": "elderly-care"}, 422, "unknown_facility_type",
                 id="unknown-type"),
    pytest.param("POST", "", {**GOOD, "lat": 95}, 422, "invalid_coordinates", id="lat-95"),
    pytest.param("POST", "", {**GOOD, "lon": float("nan")}, 422, "invalid_coordinates", id="nan"),
    pytest.param("POST", "", {**GOOD, "crs": "mars"}, 422, "unknown_crs", id="unknown-crs"),
    pytest.param("POST", "", {**GOOD, "capacity": -1}, 422, "invalid_request", id="capacity"),
    pytest.param("POST", "", {**GOOD, "name": ""}, 422, "invalid_request", id="empty-name"),
    pytest.param("POST", "", {**GOOD, "colour": "red"}, 422, "invalid_request", id="extra-field"),
    pytest.param("POST", "", {"name": "x", "lon": 117.2}, 422, "invalid_request", id="missing"),
    pytest.param("PATCH", "/{id}", {"lon": 117.2}, 422, "incomplete_location", id="lon-only"),
    pytest.param("PATCH", "/{id}", {"crs": "gcj02"}, 422, "incomplete_location", id="crs-only"),
    pytest.param("PATCH", "/{id}", {"name": None}, 422, "invalid_request", id="null-name"),
    pytest.param("PATCH", "/{id}", {"type": "spa"}, 422, "unknown_facility_type",
                 id="patch-unknown-type"),
    pytest.param("PATCH", "/{id}", {"lon": 117.2, "lat": -91}, 422, "invalid_coordinates",
                 id="patch-bad-lat"),
    pytest.param("PATCH", "/999999", {"name": "y"}, 404, "facility_not_found", id="patch-missing"),
    pytest.param("GET", "/999999", None, 404, "facility_not_found", id="get-missing"),
    pytest.param("GET", "?type=spa", None, 422, "unknown_facility_type", id="filter-type"),
    pytest.param("GET", "?limit=0", None, 422, "invalid_request", id="limit-0"),
    pytest.param("GET", "?colour=red", None, 422, "unknown_parameter", id="unknown-param"),
]  # fmt: skip


@pytest.mark.parametrize("method, suffix, body, status, code", BAD_WRITES)
def test_bad_requests_are_refused(api, keys, method, suffix, body, status, code):
    admin = auth(keys["admin"])
    target = FacilityOut.model_validate(
        api.post("/facilities", json={**GOOD, "name": "target"}, headers=admin).json()
    )
    before = target.model_dump()
    if body is not None and "nan" in json.dumps(body).lower():
        response = api.request(
            method,
            "/facilities" + suffix.format(id=target.id),
            content=json.dumps(body),
            headers={**admin, "Content-Type": "application/json"},
        )
    else:
        response = api.request(
            method, "/facilities" + suffix.format(id=target.id), json=body, headers=admin
        )
    assert response.status_code == status, response.text
    error = ErrorBody.model_validate(response.json())
    assert error.code == code and error.message
    # nothing changed
    after = api.get(f"/facilities/{target.id}", headers=admin).json()
    assert FacilityOut.model_validate(after).model_dump() == before
    api.delete(f"/facilities/{target.id}", headers=admin)


def test_types_catalogue(api, keys):
    response = api.get("/facilities/types", headers=auth(keys["planner"]))
    types = [FacilityTypeOut.model_validate(t) for t in response.json()]
    assert [t.code for t in types][:3] == ["elderly_care", "clinic", "community_centre"]
    assert all(t.builtin for t in types[:3])
    counts = {t.code: t.facilities for t in types}
    stored = facilities(api, keys)
    for code in counts:
        assert counts[code] == sum(f.type == code for f in stored)


# -- imports ---------------------------------------------------------------------------------


def test_csv_import_in_gcj02_lands_at_the_wgs84_place(api, keys, wangge, tmp_path):
    csv = write(
        tmp_path / "centres.csv",
        "name,type,lon,lat,capacity\n"
        f"导入中心甲,elderly_care,{M2_GCJ02[0]!r},{M2_GCJ02[1]!r},30\n"
        f"导入中心乙,elderly_care,{117.2125!r},{39.1050!r},\n",
    )
    result = wangge("facilities", "import", csv, "--crs", "gcj02")
    assert result.exit_code == 0, result.output
    [first] = by_name(api, keys, "导入中心甲")
    assert (first.lon, first.lat) == pytest.approx(M2_WGS84, abs=1e-7)  # about a centimetre
    assert first.input.crs == "gcj02" and first.capacity == 30
    assert first.source == "import:centres.csv"
    [second] = by_name(api, keys, "导入中心乙")
    assert second.capacity is None
    assert (second.lon, second.lat) == pytest.approx(
        tuple(float(v) for v in gcj02_to_wgs84(117.2125, 39.1050)), abs=1e-9
    )
    # the GCJ-02 numbers read as WGS84 would be hundreds of metres off, in another micro-grid
    as_if_wgs84 = api.get(
        "/lookup", params={"lon": M2_GCJ02[0], "lat": M2_GCJ02[1]}, headers=auth(keys["planner"])
    ).json()
    where = api.get(
        "/lookup", params={"lon": first.lon, "lat": first.lat}, headers=auth(keys["planner"])
    ).json()
    assert where["units"][-1]["code"] == "M2"
    assert as_if_wgs84["units"][-1]["code"] != "M2"


BAD_CSV = (
    "name,type,lon,lat,capacity,crs\n"  # line 1
    "好中心,elderly_care,117.2030,39.1030,20,\n"  # 2: good
    ",elderly_care,117.2030,39.1031,20,\n"  # 3: no name
    "错类型,elderly-care,117.2030,39.1032,20,\n"  # 4: unknown type
    "纬度错,clinic,117.2030,95,,\n"  # 5: latitude out of range
    "经度错,clinic,east,39.1,,\n"  # 6: not a number
    "负容量,clinic,117.2030,39.1033,-3,\n"  # 7: negative capacity
    "半容量,clinic,117.2030,39.1034,2.5,\n"  # 8: not a whole number
    "少一列,clinic,117.2030\n"  # 9: too few fields
    "\n"  # 10: blank, not a row
    "好中心,elderly_care,117.2030,39.1030,20,\n"  # 11: repeats line 2
    "坐标系冲突,clinic,117.2030,39.1035,,wgs84\n"  # 12: crs column disagrees with --crs
    '"多行\n名称",clinic,117.2030,39.1036,,mars\n'  # 13-14: unknown crs
    "好诊所,clinic,117.2040,39.1040,,\n"  # 15: good
)
BAD_LINES = {
    3: "name is missing",
    4: "unknown facility type 'elderly-care'",
    5: "lat 95.0 is outside [-90, 90]",
    6: "lon 'east' is not a number",
    7: "capacity '-3' is negative",
    8: "capacity '2.5' is not a whole number",
    9: "has 3 field(s); the header has 6",
    11: "repeats line 2",
    12: "its crs is 'wgs84' but --crs gcj02",
    13: "unknown coordinate system 'mars'",
}


def test_csv_with_bad_rows_imports_nothing_and_names_every_line(api, keys, wangge, tmp_path):
    path = write(tmp_path / "bad.csv", BAD_CSV)
    before = len(facilities(api, keys))
    report = tmp_path / "report.csv"
    result = wangge("facilities", "import", path, "--crs", "gcj02", "--report", report)
    assert result.exit_code == 1, result.output
    assert "nothing imported" in result.output
    assert problem_lines(result.output) == set(BAD_LINES), result.output
    found = reported(report)
    assert set(found) == set(BAD_LINES)
    for line, reason in BAD_LINES.items():
        assert reason in found[line], (line, found[line])
    assert len(facilities(api, keys)) == before

    # --skip-invalid imports the two good rows and still lists the bad ones
    result = wangge("facilities", "import", path, "--crs", "gcj02", "--skip-invalid")
    assert result.exit_code == 0, result.output
    assert problem_lines(result.output) == set(BAD_LINES)
    assert len(facilities(api, keys)) == before + 2
    [good] = by_name(api, keys, "好中心")
    assert good.input.crs == "gcj02"


def test_geojson_import_names_bad_features_by_line(api, keys, wangge, tmp_path):
    def feature(geometry, **properties):
        return json.dumps(
            {"type": "Feature", "geometry": geometry, "properties": properties},
            ensure_ascii=False,
        )

    point = {"type": "Point", "coordinates": [117.2085, 39.1085]}
    lines = [
        '{"type": "FeatureCollection",',  # 1
        ' "name": "centres",',  # 2
        ' "features": [',  # 3
        feature(point, name="GeoJSON 中心", type="elderly_care", capacity=25) + ",",  # 4
        feature({"type": "LineString", "coordinates": [[117.2, 39.1], [117.21, 39.1]]},
                name="线", type="clinic") + ",",  # 5: not a point
        feature(point, type="clinic") + ",",  # 6: no name
        feature(point, name="容量", type="clinic", capacity="many") + ",",  # 7
        feature(None, name="无几何", type="clinic") + ",",  # 8
        "  " + feature({"type": "Point", "coordinates": [117.2, 139.1]}, name="远",
                       type="clinic"),  # 9
        "]}",
    ]  # fmt: skip
    path = write(tmp_path / "centres.geojson", "\n".join(lines))
    report = tmp_path / "report.csv"
    result = wangge("facilities", "import", path, "--report", report)
    assert result.exit_code == 1, result.output
    assert problem_lines(result.output) == {5, 6, 7, 8, 9}, result.output
    found = reported(report)
    assert "feature 1: geometry is a LineString, not a Point" == found[5]
    assert "feature 2: name is missing" == found[6]
    assert "not a number" in found[7]
    assert "no geometry" in found[8]
    assert "lat 139.1 is outside [-90, 90]" in found[9]

    result = wangge("facilities", "import", path, "--skip-invalid", "--type", "clinic")
    assert result.exit_code == 0, result.output
    [centre] = by_name(api, keys, "GeoJSON 中心")
    assert (centre.lon, centre.lat, centre.capacity) == (117.2085, 39.1085, 25)
    assert centre.type == "elderly_care"  # the row's own type wins over --type


def test_geojson_in_gcj02_with_crs_option(api, keys, wangge, tmp_path):
    collection = {
        "type": "FeatureCollection",
        "features": [
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": list(M2_GCJ02)},
             "properties": {"name": "GCJ GeoJSON 站"}},
        ],
    }  # fmt: skip
    path = write(tmp_path / "gcj.geojson", json.dumps(collection, ensure_ascii=False))
    result = wangge("facilities", "import", path, "--crs", "gcj02", "--type", "community_centre")
    assert result.exit_code == 0, result.output
    [station] = by_name(api, keys, "GCJ GeoJSON 站")
    assert (station.lon, station.lat) == pytest.approx(M2_WGS84, abs=1e-7)
    assert station.type == "community_centre" and station.input.crs == "gcj02"


def test_reimport_is_refused_unless_replace(api, keys, wangge, tmp_path):
    path = write(
        tmp_path / "official.csv",
        "name,lon,lat\n官方站一,117.2011,39.1011\n官方站二,117.2111,39.1011\n",
    )
    assert wangge("facilities", "import", path, "--type", "community_centre").exit_code == 0
    again = wangge("facilities", "import", path, "--type", "community_centre")
    assert again.exit_code == 1
    assert problem_lines(again.output) == {2, 3}
    assert again.output.count("already stored as facility") == 2
    replaced = wangge("facilities", "import", path, "--type", "community_centre", "--replace")
    assert replaced.exit_code == 0, replaced.output
    kept = [f for f in facilities(api, keys, type="community_centre")]
    assert sorted(f.name for f in kept) == ["官方站一", "官方站二"]  # the others were replaced


def test_new_types_need_the_flag(api, keys, wangge, tmp_path):
    path = write(tmp_path / "pharmacies.csv", "name,type,lon,lat\n药店,pharmacy,117.2051,39.1051\n")
    refused = wangge("facilities", "import", path)
    assert refused.exit_code == 1 and "--new-types" in refused.output
    assert wangge("facilities", "import", path, "--new-types").exit_code == 0
    types = {t["code"]: t for t in api.get("/facilities/types", headers=auth(keys["admin"])).json()}
    assert types["pharmacy"]["builtin"] is False and types["pharmacy"]["facilities"] == 1
    # now in the catalogue: the API accepts it
    created = api.post(
        "/facilities",
        json={**GOOD, "type": "pharmacy", "name": "药店二"},
        headers=auth(keys["admin"]),
    )
    assert created.status_code == 201


def test_gb18030_csv_and_dry_run(api, keys, wangge, tmp_path):
    path = write(
        tmp_path / "excel.csv",
        "name,type,lon,lat\n社区卫生服务站,clinic,117.2061,39.1061\n",
        "gb18030",
    )
    result = wangge("facilities", "import", path, "--dry-run")
    assert result.exit_code == 0 and "dry run" in result.output and "gb18030" in result.output
    assert by_name(api, keys, "社区卫生服务站") == []
    assert wangge("facilities", "import", path).exit_code == 0
    assert len(by_name(api, keys, "社区卫生服务站")) == 1


def test_far_away_rows_are_flagged(api, keys, wangge, tmp_path):
    # valid numbers, but in Beijing, 110 km from the Tianjin set: flagged, not refused
    path = write(tmp_path / "far.csv", "name,type,lon,lat\n北京,clinic,116.4,39.9\n")
    report = tmp_path / "report.csv"
    result = wangge("facilities", "import", path, "--dry-run", "--report", report)
    assert result.exit_code == 0 and "warnings" in result.output
    [warning] = list(csv.DictReader(report.open(encoding="utf-8")))
    assert warning["kind"] == "warning" and warning["line"] == "2"
    assert "more than about 10 km outside the boundary set" in warning["reason"]


@pytest.mark.parametrize(
    "text, message",
    [
        ("name,lon\nx,117.2\n", "lacks column(s) ['lat', 'type']"),
        ("", "is empty"),
    ],
)
def test_unreadable_files_exit_2(wangge, tmp_path, text, message):
    path = write(tmp_path / "broken.csv", text)
    result = wangge("facilities", "import", path)
    assert result.exit_code == 2
    assert message in result.stderr


def test_broken_geojson_exits_2(wangge, tmp_path):
    path = write(tmp_path / "broken.geojson", '{"type": "FeatureCollection", "features": [\n{')
    result = wangge("facilities", "import", path)
    assert result.exit_code == 2 and "line 2" in result.stderr


def test_list_command(wangge):
    result = wangge("facilities", "list", "--type", "elderly_care")
    assert result.exit_code == 0, result.output
    assert "elderly_care" in result.output and "facility types" in result.output
