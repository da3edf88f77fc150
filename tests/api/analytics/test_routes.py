"""The analytics routes on the tiny set, on SQLite and PostGIS: performance from real case
histories, grid workers limited to their area, planners without phones, empty answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from api.analytics.schemas import PerformanceOut, RecurringOut, TargetsOut
from api.schemas import ErrorBody
from tests.api.conftest import auth

POINTS = {"M1": (117.2025, 39.1025), "M2": (117.2075, 39.1025), "M5": (117.2125, 39.105)}


def _report(client, keys, unit: str, category: str = "noise") -> int:
    lon, lat = POINTS[unit]
    answer = client.post(
        "/reports",
        json={"lon": lon, "lat": lat, "crs": "wgs84", "category": category},
        headers=auth(keys["reporter"]),
    )
    assert answer.status_code in (200, 201), answer.text
    return int(answer.json()["id"])


def _move(client, report_id: int, *steps: str) -> None:
    for to in steps:
        body = {"to": to, **({"escalate_to": "parent"} if to == "escalated" else {})}
        answer = client.post(f"/reports/{report_id}/transitions", json=body)
        assert answer.status_code == 200, answer.text


def test_performance_counts_what_happened(stored) -> None:
    client, keys = stored
    first = _report(client, keys, "M1")
    _move(client, first, "accepted", "resolved")
    second = _report(client, keys, "M1")
    _move(client, second, "escalated")
    _report(client, keys, "M5")
    answer = client.get("/analytics/performance", params={"level": "grid"})
    assert answer.status_code == 200, answer.text
    body = PerformanceOut.model_validate(answer.json())
    by_code = {u.code: u for u in body.units}
    g1, g2 = by_code["G1"], by_code["G2"]
    assert (g1.received, g1.resolved, g1.escalations) == (2, 1, 1)
    assert g1.on_time_pct == 100.0 and g1.median_hours_to_accept is not None
    assert (g2.received, g2.resolved) == (1, 0)
    assert g1.leader.name == "李娜" and g1.leader.phone
    assert [u.code for u in body.units] == ["G1", "G2"]  # by received, most first
    asc = client.get("/analytics/performance", params={"level": "grid", "order": "asc"}).json()
    assert [u["code"] for u in asc["units"]] == ["G2", "G1"]
    planner = client.get(
        "/analytics/performance", params={"level": "grid"}, headers=auth(keys["planner"])
    ).json()
    assert all(u["leader"]["phone"] is None for u in planner["units"])
    worker = client.get(
        "/analytics/performance", params={"level": "grid"}, headers=auth(keys["grid_worker"])
    ).json()
    assert [u["code"] for u in worker["units"]] == ["G1"]


def test_grid_workers_see_their_area(stored) -> None:
    client, keys = stored
    answer = client.get(
        "/analytics/hotspots",
        params={"level": "microgrid", "permutations": 99},
        headers=auth(keys["grid_worker"]),
    )
    assert answer.status_code == 200, answer.text
    assert {u["code"] for u in answer.json()["units"]} == {"M1", "M2", "M3"}  # G1's own
    assert answer.json()["summary"]["units"] == 3
    everyone = client.get("/analytics/hotspots", params={"level": "microgrid", "permutations": 99})
    assert {u["code"] for u in everyone.json()["units"]} == {"M1", "M2", "M3", "M5"}
    trends = client.get(
        "/analytics/emerging", params={"level": "microgrid"}, headers=auth(keys["grid_worker"])
    )
    assert {u["code"] for u in trends.json()["units"]} == {"M1", "M2", "M3"}
    targets = client.get(
        "/analytics/targets", params={"level": "microgrid"}, headers=auth(keys["grid_worker"])
    )
    assert targets.json()["items"] and {i["unit"] for i in targets.json()["items"]} <= {
        "M1",
        "M2",
        "M3",
    }


def test_empty_results_are_lists_with_a_summary(stored) -> None:
    client, _ = stored
    places = RecurringOut.model_validate(client.get("/analytics/recurring").json())
    assert places.places == [] and places.summary["places"] == 0
    later = (datetime.now(UTC) - timedelta(days=400)).isoformat()
    targets = client.get("/analytics/targets", params={"until": later, "level": "microgrid"})
    assert targets.status_code == 200, targets.text
    assert TargetsOut.model_validate(targets.json()).items == []


def test_emerging_refuses_an_empty_window_and_bad_weeks(stored) -> None:
    client, _ = stored
    old = client.get(
        "/analytics/emerging", params={"level": "microgrid", "until": "2001-01-01T00:00:00Z"}
    )
    assert old.status_code == 422 and old.json()["code"] == "no_cases"
    assert client.get("/analytics/emerging", params={"weeks": 1}).status_code == 422
    assert client.get("/analytics/performance", params={"sort": "name"}).status_code == 422
    assert client.get("/analytics/hotspots", headers=auth(stored[1]["reporter"])).status_code == 403


def test_cli_prints_tables_and_writes_csv(stored, wangge, tmp_path) -> None:
    client, keys = stored
    _report(client, keys, "M2", "parking")
    out = tmp_path / "performance.csv"
    result = wangge("analytics", "performance", "--level", "grid", "--csv", out)
    assert result.exit_code == 0, result.output
    assert "G1" in result.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0].startswith("code,name,received") and len(lines) == 3
    hot = wangge("analytics", "hotspots", "--level", "microgrid", "--permutations", 99)
    assert hot.exit_code == 0, hot.output
    assert "M1" in hot.output
    listed = tmp_path / "targets.csv"
    targets = wangge(
        "analytics", "targets", "--level", "microgrid", "--lang", "en", "--csv", listed
    )
    assert targets.exit_code == 0, targets.output
    assert "reports in 28 days" in listed.read_text(encoding="utf-8")
    bad = wangge("analytics", "hotspots", "--level", "block")
    assert bad.exit_code == 2
    assert "unknown level" in bad.output


@pytest.mark.parametrize(
    ("path", "params", "code"),
    [
        ("/analytics/emerging", {"level": "block"}, "unknown_level"),
        ("/analytics/emerging", {"level": "microgrid", "category": "nope"}, "unknown_category"),
        ("/analytics/emerging", {"level": "microgrid", "weeks": 53}, "invalid_request"),
        ("/analytics/recurring", {"category": "nope"}, "unknown_category"),
        ("/analytics/recurring", {"radius_m": 1}, "invalid_request"),
        ("/analytics/targets", {"level": "block"}, "unknown_level"),
        ("/analytics/targets", {"level": "district"}, "too_few_units"),
        ("/analytics/targets", {"top": 0}, "invalid_request"),
        ("/analytics/performance", {"level": "block"}, "unknown_level"),
        (
            "/analytics/performance",
            {"since": "2026-11-20T00:00:00Z", "until": "2026-11-10T00:00:00Z"},
            "invalid_window",
        ),
        ("/analytics/performance", {"order": "up"}, "invalid_request"),
    ],
)
def test_bad_queries_get_the_common_error(stored, path, params, code) -> None:
    client, _ = stored
    answer = client.get(path, params=params)
    assert answer.status_code == 422, answer.text
    body = ErrorBody.model_validate(answer.json())
    assert body.code == code and body.allowed


def test_performance_rates_reopens_and_sorts_by_any_figure(stored) -> None:
    client, keys = stored
    for score in (2, 5):  # 2 reopens the case, 5 closes it
        report = _report(client, keys, "M5")
        _move(client, report, "accepted", "resolved")
        rated = client.post(
            f"/reports/{report}/rating", json={"score": score}, headers=auth(keys["reporter"])
        )
        assert rated.status_code == 200, rated.text
    by_rate = client.get(
        "/analytics/performance", params={"level": "grid", "sort": "reopen_rate"}
    ).json()
    body = PerformanceOut.model_validate(by_rate)
    g2 = next(u for u in body.units if u.code == "G2")
    # both were resolved once; the reopened one is no longer resolved, but it counts in the rate
    assert g2.rating == 3.5 and g2.reopened == 1 and g2.resolved == 1 and g2.reopen_rate == 0.5
    assert body.units[0].code == "G2"  # the highest reopen rate first
    rates = [u.reopen_rate for u in body.units if u.reopen_rate is not None]
    assert rates == sorted(rates, reverse=True)
    assert body.summary["sort"] == "reopen_rate"


def test_cli_emerging_and_recurring(stored, wangge, tmp_path) -> None:
    client, keys = stored
    for _ in range(5):
        _report(client, keys, "M1", "rubbish")
    trends = tmp_path / "emerging.csv"
    done = wangge("analytics", "emerging", "--level", "microgrid", "--csv", trends)
    assert done.exit_code == 0, done.output
    header, *rows = trends.read_text(encoding="utf-8").splitlines()
    assert header.startswith("code,name,class,trend") and len(rows) == 4
    places = tmp_path / "recurring.csv"
    done = wangge("analytics", "recurring", "--category", "rubbish", "--csv", places)
    assert done.exit_code == 0, done.output
    header, *rows = places.read_text(encoding="utf-8").splitlines()
    assert header.startswith("category,lon,lat,count") and rows[0].startswith("rubbish,")
    assert rows[0].split(",")[3] == "5"
    bad = wangge("analytics", "recurring", "--category", "nope")
    assert bad.exit_code == 2 and "unknown category" in bad.output
