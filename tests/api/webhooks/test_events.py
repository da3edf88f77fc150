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
