"""Every kind of case and roster change reaches a subscriber, in the order it happened: a case's
moves along its lifecycle, its rating, its going overdue, a unit's new leader."""

from __future__ import annotations

from datetime import UTC, datetime

from api.webhooks.cases import record_overdue
from tests.api.conftest import auth
from tests.api.webhooks.conftest import of_report, post_report

ALL = [
    "report.created",
    "report.assigned",
    "report.status_changed",
    "report.rated",
    "report.overdue",
    "leader.changed",
]


def test_a_cases_life_arrives_in_order(hooked, subscribe, receiver_factory):
    client, keys = hooked
    receiver = receiver_factory()
    subscribe(receiver, events=ALL, units=["G1"], role="dispatcher")
    report = post_report(hooked, name="王先生", phone="13800000000")
    worker = auth(keys["dispatcher"])
    for change in (
        {"to": "accepted"},
        {"to": "reassigned", "unit_code": "M2", "note": "隔壁微网格"},
        {"to": "accepted"},
        {"to": "in_progress"},
        {"to": "resolved"},
    ):
        answer = client.post(f"/reports/{report['id']}/transitions", json=change, headers=worker)
        assert answer.status_code == 200, answer.text
    answer = client.post(
        f"/reports/{report['id']}/rating", json={"score": 5}, headers=auth(keys["reporter"])
    )
    assert answer.status_code == 200, answer.text
    got = receiver.wait_for(lambda r: len(of_report(r, report["id"])) == 9)
    mine = of_report(got, report["id"])
    assert [(r["body"]["type"], r["body"]["data"]["status"]) for r in mine] == [
        ("report.created", "assigned"),
        ("report.assigned", "assigned"),
        ("report.status_changed", "accepted"),
        ("report.status_changed", "reassigned"),
        ("report.assigned", "reassigned"),
        ("report.status_changed", "accepted"),
        ("report.status_changed", "in_progress"),
        ("report.status_changed", "resolved"),
        ("report.rated", "closed"),
    ]
    moved = mine[4]["body"]["data"]
    assert moved["unit_code"] == "M2" and moved["units"] == ["D", "G1", "M2"]
    assert moved["note"] == "隔壁微网格" and moved["from_status"] == "accepted"
    assert mine[-1]["body"]["data"]["rating"] == 5
    assert all(r["valid"] and r["body"]["data"]["reporter"]["name"] == "王先生" for r in mine)


def test_overdue_is_sent_once_per_case(hooked, subscribe, receiver_factory):
    client, _ = hooked
    receiver = receiver_factory()
    subscribe(receiver, events=["report.overdue"])
    report = post_report(hooked)
    db = client.app.state.db  # type: ignore[attr-defined]
    later = datetime(2100, 1, 1, tzinfo=UTC)
    with db.session() as session:
        assert record_overdue(session, later) >= 1
    with db.session() as session:
        assert record_overdue(session, later) == 0  # each case once
    got = receiver.wait_for(lambda r: of_report(r, report["id"]))
    [overdue] = of_report(got, report["id"])
    assert overdue["body"]["type"] == "report.overdue" and overdue["valid"]


def test_a_new_leader_is_announced(hooked, subscribe, receiver_factory):
    client, keys = hooked
    public, trusted = receiver_factory(), receiver_factory()
    subscribe(public, events=["leader.changed"], units=["G1"])
    subscribe(trusted, events=["leader.changed"], role="dispatcher")
    answer = client.put(
        "/units/M2/leader",
        json={"name": "赵敏", "phone": "13600000000", "id": "S-17"},
        headers=auth(keys["admin"]),
    )
    assert answer.status_code == 200, answer.text
    [seen] = public.wait_for(lambda r: len(r) == 1)
    data = seen["body"]["data"]
    assert seen["body"]["type"] == "leader.changed" and seen["valid"]
    assert data["unit_code"] == "M2" and data["units"] == ["D", "G1", "M2"]
    assert data["leader"]["name"] == "赵敏" and "phone" not in data["leader"]
    [told] = trusted.wait_for(lambda r: len(r) == 1)
    assert told["body"]["data"]["leader"]["phone"] == "13600000000"


def test_a_volunteer_orders_steps_arrive_in_order(hooked, subscribe, receiver_factory):
    """点单, 派单, 接单: each step of a service order is an event, in the step's transaction."""
    from tests.api.volunteers.conftest import lead_key, make_team

    client, keys = hooked
    receiver = receiver_factory()
    subscribe(
        receiver,
        events=["service_order.created", "service_order.dispatched", "service_order.accepted"],
        units=["G1"],
    )
    team = make_team(client, keys["admin"], name="友谊路理发队", units=["G1"])
    lead = lead_key(client, keys["admin"], team["id"])
    body = {
        "service": "haircut",
        "lon": 117.2025,
        "lat": 39.1025,
        "wanted_from": "2026-12-05T09:00:00+08:00",
        "wanted_until": "2026-12-05T12:00:00+08:00",
    }
    order = client.post("/services/orders", json=body, headers=auth(keys["reporter"]))
    assert order.status_code == 201, order.text
    order_id = order.json()["id"]
    for path, key, payload in (
        ("dispatch", keys["dispatcher"], {"team_id": team["id"]}),
        ("accept", lead, None),
    ):
        answer = client.post(f"/services/orders/{order_id}/{path}", json=payload, headers=auth(key))
        assert answer.status_code == 200, answer.text
    got = receiver.wait_for(lambda r: len(r) >= 3)
    assert [(r["body"]["type"], r["body"]["data"]["status"]) for r in got] == [
        ("service_order.created", "ordered"),
        ("service_order.dispatched", "dispatched"),
        ("service_order.accepted", "accepted"),
    ]
    assert all(r["valid"] and r["body"]["data"]["order_id"] == order_id for r in got)
    assert got[-1]["body"]["data"]["team_id"] == team["id"]
