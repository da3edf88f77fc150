"""The leader roster on a real SQLite file and a real PostGIS database: appointments with their
dates, the history, open cases told of their new leader, closed ones left alone, roster files."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

from api.schemas import EventOut, LookupResult, ReportOut
from api.versions.schemas import LeaderHistory
from tests.api.conftest import auth
from tests.api.versions.conftest import IN_M1, IN_M3, error, report_at


def read(api, report_id) -> ReportOut:
    return ReportOut.model_validate(api.get(f"/reports/{report_id}").json())


def events(api, report_id, kind) -> list[EventOut]:
    found = [EventOut.model_validate(e) for e in api.get(f"/reports/{report_id}/events").json()]
    return [e for e in found if e.kind == kind]


def appoint(api, code, key, **body):
    return api.put(f"/units/{code}/leader", json=body, headers=auth(key))


def history(api, code, key=None) -> LeaderHistory:
    headers = auth(key) if key else None
    response = api.get(f"/units/{code}/leaders", headers=headers)
    assert response.status_code == 200, response.text
    return LeaderHistory.model_validate(response.json())


def leader_of(api, place) -> str | None:
    got = LookupResult.model_validate(
        api.get("/lookup", params={"lon": place[0], "lat": place[1]}).json()
    )
    return got.leader.name if got.leader else None


def test_a_new_leader_is_named_everywhere_and_open_cases_are_told(api, keys):
    reporter = keys["reporter"]
    open_case = report_at(api, reporter, IN_M1)
    closed_case = report_at(api, reporter, IN_M1)
    for step in ("accepted", "resolved", "closed"):
        assert (
            api.post(f"/reports/{closed_case.id}/transitions", json={"to": step}).status_code == 200
        )
    elsewhere = report_at(api, reporter, IN_M3)  # M3 has no leader: G1's 李娜 leads it
    assert open_case.assignment.leader.name == "王芳"

    changed = appoint(api, "M1", keys["dispatcher"], name="赵敏", phone="13900000001", id="p-1")
    assert changed.status_code == 200, changed.text
    roster = LeaderHistory.model_validate(changed.json())
    assert [a.name for a in roster.appointments] == ["王芳", "赵敏"]
    assert roster.current is not None and roster.current.name == "赵敏"
    assert roster.appointments[0].until == roster.current.since
    assert roster.appointments[0].source.startswith("boundary file of version")

    assert leader_of(api, IN_M1) == "赵敏"
    assert report_at(api, reporter, IN_M1).assignment.leader.name == "赵敏"
    now = read(api, open_case.id)
    assert (now.assignment.leader.name, now.assignment.leader.id) == ("赵敏", "p-1")
    [event] = events(api, open_case.id, "leader_changed")
    assert event.data["from"]["name"] == "王芳" and event.data["to"]["name"] == "赵敏"
    assert event.from_status == event.to_status == now.status
    assert read(api, closed_case.id).assignment.leader.name == "王芳"
    assert not events(api, closed_case.id, "leader_changed")
    assert not events(api, elsewhere.id, "leader_changed")


def test_ending_an_appointment_hands_the_cases_to_the_unit_above(api, keys):
    case = report_at(api, keys["reporter"], IN_M1)
    ended = api.delete("/units/M1/leader", headers=auth(keys["admin"]))
    assert ended.status_code == 200, ended.text
    assert LeaderHistory.model_validate(ended.json()).current is None
    assert leader_of(api, IN_M1) == "李娜"  # G1's leader
    now = read(api, case.id)
    assert now.assignment.leader.unit_code == "G1"
    [event] = events(api, case.id, "leader_changed")
    assert event.data["to"] == {"unit_code": "G1", "name": "李娜", "id": None}
    error(api.delete("/units/M1/leader", headers=auth(keys["admin"])), 409, "no_current_leader")


def test_appointment_dates_are_checked(api, keys):
    admin = keys["admin"]
    yesterday = datetime.now(UTC) - timedelta(days=1)
    backdated = appoint(api, "M3", admin, name="陈静", since=yesterday.isoformat())
    assert backdated.status_code == 200, backdated.text
    current = LeaderHistory.model_validate(backdated.json()).current
    assert current is not None and abs((current.since - yesterday).total_seconds()) < 1
    future = (datetime.now(UTC) + timedelta(days=2)).isoformat()
    error(appoint(api, "M3", admin, name="下周的人", since=future), 422, "invalid_appointment")
    earlier = (yesterday - timedelta(days=1)).isoformat()
    error(appoint(api, "M3", admin, name="更早的人", since=earlier), 422, "invalid_appointment")
    error(appoint(api, "NOPE", admin, name="某人"), 404, "unit_not_found")
    error(appoint(api, "M3", admin, name=""), 422, "invalid_request")
    error(appoint(api, "M3", keys["grid_worker"], name="某人"), 403, "forbidden")


def test_planners_read_the_history_without_phones(api, keys):
    roster = history(api, "M1", keys["planner"])
    assert roster.appointments and all(a.phone is None for a in roster.appointments)
    assert any(a.phone for a in history(api, "M1").appointments)


def test_a_roster_file_with_a_bad_row_stores_nothing(api, wangge, tmp_path):
    before = history(api, "M2")
    bad = tmp_path / "roster.csv"
    bad.write_text(
        "code,leader_name,leader_phone,leader_id,since\n"
        "M2,周杰,13900000002,p-2,2026-01-01\n"
        "NOPE,某人,,,\n"
        "M2,吴刚,not-a-phone,,\n"
        "G2,郑爽,,,2999-01-01\n",
        encoding="utf-8",
    )
    result = wangge("leaders", "import", bad)
    assert result.exit_code == 1, result.output
    for line, words in ((3, "NOPE"), (4, "not-a-phone"), (5, "future")):
        assert any(str(line) in row and words in row for row in result.output.splitlines()), (
            line,
            result.output,
        )
    assert "nothing imported" in result.output
    assert history(api, "M2") == before


def test_a_roster_file_appoints_in_order_and_the_service_follows(api, keys, wangge, tmp_path):
    case = report_at(api, keys["reporter"], IN_M3)
    good = tmp_path / "roster.csv"
    good.write_text(
        "code,leader_name,leader_phone,leader_id,since\n"
        "M3,周杰,13900000002,p-2,\n"
        "G2,郑爽,13900000003,p-3,\n",
        encoding="utf-8",
    )
    result = wangge("leaders", "import", good)
    assert result.exit_code == 0, result.output
    # another process changed the roster: this server answers with it within seconds
    deadline = time.monotonic() + 10
    while leader_of(api, IN_M3) != "周杰":
        assert time.monotonic() < deadline, "the server did not follow the roster file"
        time.sleep(0.1)
    assert history(api, "G2").current.name == "郑爽"
    assert read(api, case.id).assignment.leader.name == "周杰"
    assert events(api, case.id, "leader_changed")
