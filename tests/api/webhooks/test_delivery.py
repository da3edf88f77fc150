"""Webhooks end to end: the real app on a real SQLite file posts to a real receiver process on
127.0.0.1, which checks every signature."""

from __future__ import annotations

import logging
import time

from api.schemas import ErrorBody
from api.settings import Settings
from tests.api.conftest import auth
from tests.api.webhooks.conftest import M1, M5, deliveries, of_report, post_report


def test_a_new_report_arrives_signed_within_2_s(hooked, subscribe, receiver_factory):
    receiver = receiver_factory()
    subscribe(receiver, events=["report.created", "report.assigned"])
    report = post_report(hooked, description="路灯坏了", name="王先生", phone="13800000000")
    answered = time.time()
    got = receiver.wait_for(lambda r: len(of_report(r, report["id"])) == 2, timeout=5)
    mine = of_report(got, report["id"])
    assert [r["body"]["type"] for r in mine] == ["report.created", "report.assigned"]
    for request in mine:
        assert request["valid"] and request["fresh"] and request["status"] == 200
        assert request["event_id"] == request["body"]["id"]
        assert request["received_at"] - answered < 2.0
    data = mine[0]["body"]["data"]
    assert data["unit_code"] == "M1" and data["units"] == ["D", "G1", "M1"]
    assert data["description"] == "路灯坏了"
    # the default role (planner) sees no personal data: no reporter, no leader's phone
    assert "reporter" not in data and "phone" not in data["leader"]
    assert len({r["event_id"] for r in mine}) == 2


def test_personal_data_only_for_a_role_that_may_see_it(hooked, subscribe, receiver_factory):
    receiver = receiver_factory()
    subscribe(receiver, role="dispatcher")
    report = post_report(hooked, name="王先生", phone="13800000000")
    [request] = of_report(receiver.wait_for(lambda r: of_report(r, report["id"])), report["id"])
    data = request["body"]["data"]
    assert data["reporter"] == {"name": "王先生", "phone": "13800000000"}
    assert data["leader"]["phone"]
    # a grid worker's subscription to another grid hears of the case only if it asks for all
    # units; then without the reporter
    other = receiver_factory()
    subscribe(other, role="grid_worker", units=["G2"])
    elsewhere = post_report(hooked, name="李女士", phone="13900000000")
    there = post_report(hooked, M5, name="赵先生", phone="13700000000")
    got = other.wait_for(lambda r: of_report(r, there["id"]))
    assert not of_report(got, elsewhere["id"])
    assert of_report(got, there["id"])[0]["body"]["data"]["reporter"]["name"] == "赵先生"


def test_failures_are_retried_with_the_same_event_id(hooked, subscribe, receiver_factory):
    receiver = receiver_factory("--fail", "2")
    sub = subscribe(receiver)
    report = post_report(hooked)
    got = receiver.wait_for(lambda r: len(of_report(r, report["id"])) == 3, timeout=10)
    mine = of_report(got, report["id"])
    assert [r["status"] for r in mine] == [500, 500, 200]
    assert len({r["event_id"] for r in mine}) == 1 and all(r["valid"] for r in mine)
    assert mine[2]["received_at"] - mine[1]["received_at"] >= 0.15  # backed off
    deadline = time.monotonic() + 5
    while (shown := deliveries(hooked, sub.id))[0].state != "delivered":
        assert time.monotonic() < deadline, shown
        time.sleep(0.05)
    [delivery] = shown
    assert delivery.event_id == mine[0]["event_id"]
    assert delivery.attempts == 3 and delivery.last_status_code == 200
    assert delivery.last_response == "ok" and delivery.last_latency_ms is not None


def test_a_unit_filter_sends_only_that_units_cases(hooked, subscribe, receiver_factory):
    receiver = receiver_factory()
    subscribe(receiver, units=["G2"], categories=["rubbish"])
    inside = post_report(hooked, M5)
    outside = post_report(hooked, M1)
    other_category = post_report(hooked, M5, category="noise")
    last = post_report(hooked, M5)
    got = receiver.wait_for(lambda r: of_report(r, last["id"]))
    ids = {r["body"]["data"]["id"] for r in got}
    assert inside["id"] in ids and last["id"] in ids
    assert outside["id"] not in ids and other_category["id"] not in ids


def test_a_paused_subscription_catches_up_on_resume(hooked, subscribe, receiver_factory):
    client, keys = hooked
    paused, live = receiver_factory(), receiver_factory()
    sub = subscribe(paused, paused=True)
    subscribe(live)
    reports = [post_report(hooked) for _ in range(3)]
    # the live subscription has them all: the paused one had its chance and got nothing
    live.wait_for(lambda r: all(of_report(r, rep["id"]) for rep in reports))
    assert paused.requests() == []
    assert {d.state for d in deliveries(hooked, sub.id)} == {"pending"}
    answer = client.patch(
        f"/webhooks/{sub.id}", json={"paused": False}, headers=auth(keys["admin"])
    )
    assert answer.status_code == 200 and answer.json()["paused"] is False
    got = paused.wait_for(lambda r: all(of_report(r, rep["id"]) for rep in reports))
    assert all(r["valid"] for r in got)


def test_a_target_off_the_allowed_hosts_is_refused(hooked):
    client, keys = hooked
    cases = [
        ("http://example.org/hook", True),  # a host not allowed
        ("http://10.0.0.1/hook", True),  # an address not allowed
        ("http://127.0.0.1.example.org/hook", True),  # looks like loopback, is not
        ("ftp://127.0.0.1/x", False),  # not http(s)
        ("http://user:pw@127.0.0.1/x", False),  # credentials in the URL
    ]
    for url, names_setting in cases:
        answer = client.post(
            "/webhooks",
            json={"url": url, "events": ["report.created"]},
            headers=auth(keys["admin"]),
        )
        assert answer.status_code == 422, answer.text
        body = ErrorBody.model_validate(answer.json())
        assert body.code == "webhook_target_refused"
        if names_setting:
            assert "WANGGE_WEBHOOK_ALLOWED_HOSTS" in body.message
    assert client.get("/webhooks", headers=auth(keys["admin"])).json() == []


def test_redirects_are_not_followed(hooked, subscribe, receiver_factory):
    elsewhere = receiver_factory()  # on an allowed host, so only the rule stops it
    redirecting = receiver_factory("--redirect", elsewhere.url)
    sub = subscribe(redirecting)
    elsewhere.use_secret(sub.secret or "")
    report = post_report(hooked)
    redirecting.wait_for(lambda r: len(of_report(r, report["id"])) >= 2)  # tried, then again
    deadline = time.monotonic() + 5
    while not (tried := [d for d in deliveries(hooked, sub.id) if d.last_status_code == 307]):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert tried[0].state == "pending" and "307" in (tried[0].last_error or "")
    assert elsewhere.requests() == []


def test_an_endless_answer_is_cut_at_the_cap(hooked, subscribe, receiver_factory):
    receiver = receiver_factory("--flood")
    sub = subscribe(receiver)
    report = post_report(hooked)
    receiver.wait_for(lambda r: of_report(r, report["id"]))
    # the answer never ends: only the size cap lets the delivery be recorded
    deadline = time.monotonic() + 5
    while not (done := [d for d in deliveries(hooked, sub.id) if d.state == "delivered"]):
        assert time.monotonic() < deadline, deliveries(hooked, sub.id)
        time.sleep(0.05)
    assert done[0].last_response.startswith("xxxx") and len(done[0].last_response) == 500


def test_a_receiver_that_never_answers_blocks_nobody(hooked, subscribe, receiver_factory):
    silent = receiver_factory("--hang", "1000")
    healthy = receiver_factory()
    stuck = subscribe(silent)
    subscribe(healthy)
    reports = [post_report(hooked) for _ in range(5)]
    started = time.time()
    got = healthy.wait_for(lambda r: all(of_report(r, rep["id"]) for rep in reports), timeout=5)
    assert max(r["received_at"] for r in got) - started < 2.0
    # the silent one was timed out (1 s) and is retried
    deadline = time.monotonic() + 10
    while True:
        shown = deliveries(hooked, stuck.id)
        tried = [d for d in shown if d.attempts >= 1]
        if tried and len(silent.requests()) > len(reports):
            break
        assert time.monotonic() < deadline, shown
        time.sleep(0.1)
    assert all(d.state == "pending" and "Timeout" in (d.last_error or "") for d in tried)


def test_subscriptions_are_read_changed_and_deleted(hooked, subscribe, receiver_factory):
    client, keys = hooked
    admin = auth(keys["admin"])
    sub = subscribe(receiver_factory(), units=["G1"])
    listed = client.get("/webhooks", headers=admin).json()
    assert any(s["id"] == sub.id and s["secret"] is None for s in listed)
    assert client.get(f"/webhooks/{sub.id}", headers=admin).json()["secret"] is None
    answer = client.patch(f"/webhooks/{sub.id}", json={"events": ["no.such"]}, headers=admin)
    assert answer.status_code == 422 and answer.json()["code"] == "unknown_event_type"
    answer = client.patch(f"/webhooks/{sub.id}", json={"colour": "red"}, headers=admin)
    assert answer.status_code == 422
    answer = client.patch(
        f"/webhooks/{sub.id}", json={"events": ["report.overdue"], "role": "x"}, headers=admin
    )
    assert answer.status_code == 422 and answer.json()["code"] == "unknown_role"
    assert client.delete(f"/webhooks/{sub.id}", headers=admin).status_code == 200
    assert client.get(f"/webhooks/{sub.id}", headers=admin).status_code == 404


def test_the_secret_is_shown_once_and_never_logged(hooked, subscribe, receiver_factory, caplog):
    client, keys = hooked
    admin = auth(keys["admin"])
    receiver = receiver_factory("--fail", "1")
    with caplog.at_level(logging.DEBUG):
        sub = subscribe(receiver, units=["G1"])
        assert sub.secret and sub.secret.startswith("whsec_")
        report = post_report(hooked)
        # one failure, then delivered: the attempts and their answers are logged if anything
        receiver.wait_for(lambda r: len(of_report(r, report["id"])) == 2)
        changed = client.patch(f"/webhooks/{sub.id}", json={"paused": True}, headers=admin)
        answers = [
            changed,
            client.get("/webhooks", headers=admin),
            client.get(f"/webhooks/{sub.id}", headers=admin),
            client.get(f"/webhooks/{sub.id}/deliveries", headers=admin),
            client.post(f"/webhooks/{sub.id}/replay", json={"since": "2026-01-01"}, headers=admin),
            client.delete(f"/webhooks/{sub.id}", headers=admin),
        ]
    assert [a.status_code for a in answers] == [200] * len(answers)
    assert changed.json()["paused"] is True and changed.json()["secret"] is None
    for answer in answers:
        assert sub.secret not in answer.text
    assert caplog.records  # the flow was logged (httpx's requests at least)...
    assert sub.secret not in caplog.text  # ...without the secret


def test_replay_of_one_event_and_of_a_time_range(hooked, subscribe, receiver_factory):
    client, keys = hooked
    admin = auth(keys["admin"])
    receiver = receiver_factory()
    sub = subscribe(receiver)
    before = post_report(hooked)
    [first] = of_report(receiver.wait_for(lambda r: of_report(r, before["id"])), before["id"])
    answer = client.post(
        f"/webhooks/{sub.id}/replay", json={"event_id": first["event_id"]}, headers=admin
    )
    assert answer.status_code == 200 and answer.json() == {"replayed": 1}
    got = receiver.wait_for(lambda r: len(of_report(r, before["id"])) == 2)
    assert {r["event_id"] for r in of_report(got, before["id"])} == {first["event_id"]}
    # a subscription made later gets the earlier events of a range on replay
    late_receiver = receiver_factory()
    late = subscribe(late_receiver)
    answer = client.post(
        f"/webhooks/{late.id}/replay",
        json={"since": first["body"]["occurred_at"], "until": "2100-01-01T00:00:00Z"},
        headers=admin,
    )
    assert answer.status_code == 200 and answer.json()["replayed"] >= 1, answer.text
    got = late_receiver.wait_for(lambda r: of_report(r, before["id"]))
    assert of_report(got, before["id"])[0]["event_id"] == first["event_id"]
    for bad in ({}, {"event_id": "nope"}, {"event_id": first["event_id"], "since": "2026-01-01"}):
        answer = client.post(f"/webhooks/{sub.id}/replay", json=bad, headers=admin)
        assert answer.status_code == 422 and answer.json()["code"] == "invalid_replay", bad
    assert client.post("/webhooks/999999/replay", json={}, headers=admin).status_code == 404


def test_the_command_line_lists_and_replays(hooked, subscribe, receiver_factory, monkeypatch):
    from typer.testing import CliRunner

    from api.cli import app as cli
    from api.cli.common import console

    client, _ = hooked
    settings: Settings = client.app.state.settings  # type: ignore[attr-defined]
    monkeypatch.setenv("WANGGE_DATABASE_URL", settings.database)
    monkeypatch.setattr(console, "width", 250)  # made at import: COLUMNS is read then
    receiver = receiver_factory()
    sub = subscribe(receiver, units=["G1"])
    report = post_report(hooked)
    [first] = of_report(receiver.wait_for(lambda r: of_report(r, report["id"])), report["id"])
    runner = CliRunner()
    listed = runner.invoke(cli, ["webhooks", "list"])
    assert (
        listed.exit_code == 0 and receiver.url in listed.output and sub.secret not in listed.output
    )
    deadline = time.monotonic() + 5
    while first["event_id"] not in (
        shown := runner.invoke(cli, ["webhooks", "deliveries", str(sub.id), "--state", "delivered"])
    ).output.replace("\n", ""):
        assert time.monotonic() < deadline, shown.output
        time.sleep(0.05)
    done = runner.invoke(cli, ["webhooks", "replay", str(sub.id), "--event", first["event_id"]])
    assert done.exit_code == 0 and "1 event(s)" in done.output
    receiver.wait_for(lambda r: len(of_report(r, report["id"])) == 2)
    refused = runner.invoke(cli, ["webhooks", "replay", str(sub.id)])
    assert refused.exit_code == 2 and "event_id" in refused.output
    missing = runner.invoke(cli, ["webhooks", "deliveries", "999999"])
    assert missing.exit_code == 2


def test_no_target_is_allowed_by_default_but_loopback_for_the_demo(tiny_gpkg):
    configured = Settings(boundaries=str(tiny_gpkg), webhook_allowed_hosts="")
    assert configured.webhook_hosts == []  # a real set: nothing until configured
    demo = Settings(boundaries="", webhook_allowed_hosts="")
    assert demo.webhook_hosts == ["127.0.0.1", "localhost", "::1"]
    chosen = Settings(boundaries="", webhook_allowed_hosts="Hooks.Example.org, *.gov.cn")
    assert chosen.webhook_hosts == ["hooks.example.org", "*.gov.cn"]  # no loopback then
