"""The live screen's JSON routes on SQLite and PostGIS: the change feed after a cursor (role
and area honoured), the queue panel, a case's popup (next actions from the lifecycle, nearby
duplicates) and the unit search for reassigning."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update

from api.access.policy import Role
from api.cases.lifecycle import Status, actions_for
from api.db.models import Report
from api.live.schemas import CaseActions, ChangePage, Queue, UnitHit
from api.schemas import ErrorBody
from tests.api.conftest import auth

IN_G1 = (117.202, 39.102)  # micro-grid M1, grid G1
IN_G2 = (117.215, 39.105)  # grid G2
OUTSIDE = (117.5, 39.3)  # no unit: the dispatcher's queue


@pytest.fixture(scope="module")
def api(stored):
    return stored[0]


@pytest.fixture(scope="module")
def keys(stored):
    return stored[1]


def post(api, keys, where, category="noise"):
    body = {
        "lon": where[0],
        "lat": where[1],
        "crs": "wgs84",
        "category": category,
        "description": "噪音",
        "name": "王先生",
        "phone": "13800000000",
    }
    response = api.post("/reports", json=body, headers=auth(keys["reporter"]))
    assert response.status_code == 201, response.text
    return response.json()["id"]


def page(api, since, key=None, **params):
    headers = auth(key) if key else None
    response = api.get(
        "/maps/density/changes", params={"since_event": since, **params}, headers=headers
    )
    assert response.status_code == 200, response.text
    return ChangePage.model_validate(response.json())


def _drain(api, since, key=None):
    cursor = since
    while True:
        got = page(api, cursor, key, limit=500)
        cursor = got.next_event
        if not got.more:
            return cursor


def test_a_new_case_and_its_changes_follow_the_cursor(api, keys):
    cursor = _drain(api, 0)
    report = post(api, keys, IN_G1)
    first = page(api, cursor)
    assert [(c.report_id, c.to_status) for c in first.items][-1] == (report, "assigned")
    assert first.items[0].from_status is None and first.items[0].to_status == "submitted"
    case = first.items[-1].case
    assert case is not None and case.category_zh == "噪音扰民" and case.unit_code == "M1"
    assert case.actions == [s.value for s in actions_for(Status.ASSIGNED, Role.DISPATCHER)]
    assert first.next_event == first.items[-1].event_id and not first.more
    assert page(api, first.next_event).items == []  # nothing new: nothing twice
    moved = api.post(f"/reports/{report}/transitions", json={"to": "accepted"})
    assert moved.status_code == 200, moved.text
    second = page(api, first.next_event)
    assert [(c.report_id, c.from_status, c.to_status) for c in second.items] == [
        (report, "assigned", "accepted")
    ]
    assert second.items[0].case.status == "accepted"


def test_pages_of_changes_miss_nothing(api, keys):
    cursor = _drain(api, 0)
    made = [post(api, keys, IN_G2, category="rubbish") for _ in range(3)]
    seen, pages = [], 0
    while True:
        got = page(api, cursor, limit=2)
        seen += [c.event_id for c in got.items]
        cursor, pages = got.next_event, pages + 1
        if not got.more:
            break
    assert pages >= 2 and seen == sorted(set(seen))
    ids = [c.report_id for c in page(api, seen[0] - 1, limit=500).items]
    assert set(made) <= set(ids)


def test_a_grid_worker_sees_its_area_only(api, keys):
    worker = keys["grid_worker"]  # G1
    cursor = _drain(api, 0, worker)
    inside, outside = post(api, keys, IN_G1), post(api, keys, IN_G2)
    got = page(api, cursor, worker)
    ids = {c.report_id for c in got.items}
    assert inside in ids and outside not in ids
    # the cursor passes the other area's events all the same
    assert got.next_event == _drain(api, 0)


def test_planners_get_where_and_what_not_the_case(api, keys):
    cursor = _drain(api, 0)
    post(api, keys, IN_G1)
    got = page(api, cursor, keys["planner"])
    assert got.items and all(c.case is None and c.report_id is None for c in got.items)
    assert {c.unit_code for c in got.items} == {"M1"} and got.items[0].category == "noise"
    assert "13800000000" not in str(got.model_dump()) and "王先生" not in str(got.model_dump())


@pytest.mark.parametrize(
    "path",
    ["/maps/density/changes", "/maps/density/events", "/maps/density/queue"],
)
def test_reporters_are_refused(api, keys, path):
    response = api.get(path, headers=auth(keys["reporter"]))
    assert response.status_code == 403
    assert ErrorBody.model_validate(response.json()).code == "forbidden"


@pytest.mark.parametrize(
    "params",
    [{"since_event": -1}, {"since_event": "x"}, {"limit": 0}, {"limit": 501}, {"after": 1}],
)
def test_bad_cursors_are_422(api, params):
    response = api.get("/maps/density/changes", params=params)
    assert response.status_code == 422
    ErrorBody.model_validate(response.json())


def test_a_bad_last_event_id_is_422(api):
    response = api.get("/maps/density/events", headers={"Last-Event-ID": "12; drop"})
    assert response.status_code == 422
    ErrorBody.model_validate(response.json())


def _queue(api, key=None):
    response = api.get("/maps/density/queue", headers=auth(key) if key else None)
    assert response.status_code == 200, response.text
    return Queue.model_validate(response.json())


def test_the_queue_sorts_cases_by_why_they_wait(api, keys):
    outside = post(api, keys, OUTSIDE)
    escalated = post(api, keys, IN_G1, category="parking")
    assert (
        api.post(
            f"/reports/{escalated}/transitions", json={"to": "escalated", "escalate_to": "交警"}
        ).status_code
        == 200
    )
    late = post(api, keys, IN_G2, category="water_cut")
    with api.app.state.db.session() as session:
        session.execute(
            update(Report)
            .where(Report.id == late)
            .values(due_at=datetime.now(UTC) - timedelta(hours=1))
        )
        session.commit()
    queue = _queue(api)
    assert outside in [c.id for c in queue.unassigned.items]
    assert escalated in [c.id for c in queue.escalated.items]
    overdue = {c.id: c for c in queue.overdue.items}
    assert late in overdue and overdue[late].overdue and overdue[late].category_zh == "停水"
    assert queue.unassigned.count >= 1 and queue.escalated.count >= 1
    # the grid worker's queue holds its area only; the planner's counts only
    mine = _queue(api, keys["grid_worker"])
    assert escalated in [c.id for c in mine.escalated.items]
    assert outside not in [c.id for c in mine.unassigned.items]
    assert late not in [c.id for c in mine.overdue.items]  # in G2
    counts = _queue(api, keys["planner"])
    assert counts.escalated.count == queue.escalated.count and counts.escalated.items == []


def _actions(api, report, key=None):
    response = api.get(f"/maps/density/cases/{report}", headers=auth(key) if key else None)
    return response


def test_the_popup_offers_what_the_lifecycle_allows(api, keys):
    first = post(api, keys, IN_G1, category="flying_wires")
    second = post(api, keys, (IN_G1[0] + 0.0005, IN_G1[1]), category="flying_wires")
    got = _actions(api, second)
    assert got.status_code == 200, got.text
    body = CaseActions.model_validate(got.json())
    assert body.case.actions == [s.value for s in actions_for(Status.ASSIGNED, Role.DISPATCHER)]
    assert first in [n.id for n in body.nearby]
    assert all(0 < n.distance_m <= 300 for n in body.nearby)
    worker = CaseActions.model_validate(_actions(api, second, keys["grid_worker"]).json())
    assert worker.case.actions == [s.value for s in actions_for(Status.ASSIGNED, Role.GRID_WORKER)]
    assert "reassigned" not in worker.case.actions and "accepted" in worker.case.actions
    # another area's case is not found for the grid worker; planners get no popup
    other = post(api, keys, IN_G2)
    assert _actions(api, other, keys["grid_worker"]).status_code == 404
    assert _actions(api, other, keys["planner"]).status_code == 403


@pytest.mark.parametrize(
    ("text", "first"),
    [
        ("g", "G1"),  # a code's start, case-insensitive
        ("第二", "G2"),  # a part of the name
        ("微网格3", "M3"),
    ],
)
def test_units_to_reassign_to(api, text, first):
    response = api.get("/maps/density/units", params={"q": text})
    assert response.status_code == 200
    hits = [UnitHit.model_validate(u) for u in response.json()]
    assert hits and hits[0].code == first


def test_unit_search_is_for_dispatchers(api, keys):
    response = api.get("/maps/density/units", params={"q": "G"}, headers=auth(keys["grid_worker"]))
    assert response.status_code == 403
    assert api.get("/maps/density/units", params={"q": "x" * 65}).status_code == 422
