"""The analytics routes on the tiny set, on SQLite and PostGIS: performance from real case
histories, grid workers limited to their area, planners without phones, empty answers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from api.analytics.schemas import PerformanceOut, RecurringOut, TargetsOut
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
    assert {u["code"] for u in answer.json()["units"]} <= {"M1", "M2", "M3"}
    everyone = client.get("/analytics/hotspots", params={"level": "microgrid", "permutations": 99})
    assert {u["code"] for u in everyone.json()["units"]} == {"M1", "M2", "M3", "M5"}


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
