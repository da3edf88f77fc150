"""The 点单 → 派单 → 接单 → done → 评单 chain through the real app, on SQLite and PostGIS: a
resident orders a haircut, the centre dispatches to a ranked team, the team accepts and
reports two volunteers' hours, the resident rates it, the points rise by the rate and one
volunteer exchanges points for a towel."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from pydantic import TypeAdapter

from api.schemas import ErrorBody
from api.volunteers.schemas import (
    CandidateOut,
    ItemOut,
    OrderEventOut,
    OrderOut,
    PointsOut,
    RedemptionOut,
    ServiceCoverageOut,
    ServiceTypeOut,
    VolunteerOut,
)
from tests.api.conftest import auth
from tests.api.volunteers.conftest import IN_M1, IN_M5, lead_key, make_team, make_volunteer

WINDOW = {"wanted_from": "2026-12-05T09:00:00+08:00", "wanted_until": "2026-12-05T12:00:00+08:00"}


def _order(client, key, lonlat=IN_M1, service="haircut", **extra):  # type: ignore[no-untyped-def]
    body = {"service": service, "lon": lonlat[0], "lat": lonlat[1], **WINDOW, **extra}
    return client.post("/services/orders", json=body, headers=auth(key))


@pytest.fixture(scope="module")
def world(stored):  # type: ignore[no-untyped-def]
    client, keys = stored
    admin = keys["admin"]
    near = make_team(
        client, admin, name="友谊路理发队", units=["G1"], organisation="河西区志愿者协会"
    )
    other = make_team(client, admin, name="东海路理发队", units=["G2"])
    lead, other_lead = lead_key(client, admin, near["id"]), lead_key(client, admin, other["id"])
    a = make_volunteer(client, lead, near["id"], "张志愿", "13900000001")
    b = make_volunteer(client, lead, near["id"], "李志愿", "13900000002")
    c = make_volunteer(client, other_lead, other["id"], "王志愿", "13900000003")
    return {
        "client": client,
        "keys": keys,
        "near": near,
        "other": other,
        "lead": lead,
        "other_lead": other_lead,
        "volunteers": (a, b, c),
    }


def test_the_catalogue_is_seeded(stored):
    client, keys = stored
    types = TypeAdapter(list[ServiceTypeOut]).validate_python(
        client.get("/services/types", headers=auth(keys["team_lead"])).json()
    )
    names = {t.name_zh: t for t in types}
    assert set(names) >= {
        "理发",
        "磨剪子磨菜刀",
        "居家维修",
        "健康讲座",
        "陪伴独居老人",
        "打扫卫生",
        "法律咨询",
        "助餐",
    }
    assert names["理发"].points_per_hour == 10


def test_the_whole_chain(world):
    client, keys, lead = world["client"], world["keys"], world["lead"]
    a, b, _ = world["volunteers"]
    resident = keys["reporter"]
    # 点单, in GCJ-02 (as a WeChat map gives it): placed in M1 like a report
    from geo.crs import wgs84_to_gcj02

    glon, glat = wgs84_to_gcj02(IN_M1[0], IN_M1[1])
    made = _order(client, resident, (float(glon), float(glat)), crs="gcj02", description="上门理发")
    assert made.status_code == 201, made.text
    order = OrderOut.model_validate(made.json())
    assert order.status == "ordered" and order.units == ["D", "G1", "M1"]
    assert order.allowed == ["dispatch"]
    assert abs(order.lon - IN_M1[0]) < 1e-5
    # 派单: the team serving G1 is a candidate, the one serving G2 is not
    ranked = TypeAdapter(list[CandidateOut]).validate_python(
        client.get(
            f"/services/orders/{order.id}/candidates", headers=auth(keys["dispatcher"])
        ).json()
    )
    assert [c.team_id for c in ranked] == [world["near"]["id"]]
    assert "G1" in ranked[0].why and ranked[0].free_capacity == 4
    # the team's lead does not see it before it is dispatched to its team
    early = client.post(f"/services/orders/{order.id}/accept", headers=auth(lead))
    assert early.status_code == 404
    sent = client.post(
        f"/services/orders/{order.id}/dispatch",
        json={"team_id": ranked[0].team_id},
        headers=auth(keys["dispatcher"]),
    )
    assert sent.status_code == 200 and sent.json()["status"] == "dispatched"
    # only allowed steps succeed: 409 naming them
    twice = client.post(
        f"/services/orders/{order.id}/dispatch",
        json={"team_id": ranked[0].team_id},
        headers=auth(keys["dispatcher"]),
    )
    assert twice.status_code == 409
    assert ErrorBody.model_validate(twice.json()).allowed == "accept, decline"
    # another team's lead does not see it, and cannot take it
    assert (
        client.post(
            f"/services/orders/{order.id}/accept", headers=auth(world["other_lead"])
        ).status_code
        == 404
    )
    # 接单
    taken = client.post(f"/services/orders/{order.id}/accept", headers=auth(lead))
    assert taken.status_code == 200 and taken.json()["allowed"] == ["complete"]
    # a volunteer of another team cannot be credited for it
    stranger = client.post(
        f"/services/orders/{order.id}/complete",
        json={"volunteers": [{"id": world["volunteers"][2], "hours": 1}]},
        headers=auth(lead),
    )
    assert stranger.status_code == 422
    done = client.post(
        f"/services/orders/{order.id}/complete",
        json={"volunteers": [{"id": a, "hours": 1.5}, {"id": b, "hours": 2}]},
        headers=auth(lead),
    )
    assert done.status_code == 200, done.text
    # 评单: only the resident who ordered it
    assert (
        client.post(
            f"/services/orders/{order.id}/rating",
            json={"stars": 5},
            headers=auth(keys["grid_worker"]),
        ).status_code
        == 404
    )
    rated = client.post(
        f"/services/orders/{order.id}/rating",
        json={"stars": 5, "comment": "很满意"},
        headers=auth(resident),
    )
    assert rated.status_code == 200 and rated.json()["stars"] == 5
    again = client.post(
        f"/services/orders/{order.id}/rating", json={"stars": 1}, headers=auth(resident)
    )
    assert again.status_code == 409
    # every step is in the audit trail, in order
    events = TypeAdapter(list[OrderEventOut]).validate_python(
        client.get(f"/services/orders/{order.id}/events", headers=auth(resident)).json()
    )
    assert [e.action for e in events] == ["order", "dispatch", "accept", "complete", "rate"]
    assert [e.to_status for e in events] == [
        "ordered",
        "dispatched",
        "accepted",
        "completed",
        "rated",
    ]
    # the points rose by hours × 10 (理发)
    points = PointsOut.model_validate(
        client.get(f"/volunteers/{a}/points", headers=auth(lead)).json()
    )
    assert points.balance == 15 and [e.kind for e in points.entries] == ["credit"]
    assert points.entries[0].order_id == order.id and points.entries[0].hours == 1.5
    assert (
        PointsOut.model_validate(
            client.get(f"/volunteers/{b}/points", headers=auth(lead)).json()
        ).balance
        == 20
    )
    # and one of them exchanges 12 for a towel: balance and stock both fall
    towel = ItemOut.model_validate(
        client.post(
            "/exchange/items",
            json={"name": "毛巾", "points": 12, "stock": 3},
            headers=auth(keys["admin"]),
        ).json()
    )
    got = client.post(
        "/exchange/redemptions",
        json={"volunteer_id": a, "item_id": towel.id, "quantity": 1},
        headers=auth(lead),
    )
    assert got.status_code == 201, got.text
    redemption = RedemptionOut.model_validate(got.json())
    assert (redemption.balance, redemption.stock, redemption.points) == (3, 2, 12)
    broke = client.post(
        "/exchange/redemptions",
        json={"volunteer_id": a, "item_id": towel.id, "quantity": 1},
        headers=auth(lead),
    )
    assert broke.status_code == 409
    error = ErrorBody.model_validate(broke.json())
    assert error.code == "insufficient_points" and error.details["balance"] == 3
    statement = PointsOut.model_validate(
        client.get(f"/volunteers/{a}/points", headers=auth(keys["admin"])).json()
    )
    assert [e.kind for e in statement.entries] == ["credit", "redemption"]
    assert statement.balance == sum(e.points for e in statement.entries) == 3
    # the team's rating is its rated orders' mean
    teams = client.get("/volunteers/teams", headers=auth(keys["planner"])).json()
    assert {t["id"]: t["rating"] for t in teams}[world["near"]["id"]] == 5


def test_decline_puts_the_order_back_in_the_queue(world):
    client, keys, lead = world["client"], world["keys"], world["lead"]
    order = _order(client, keys["grid_worker"]).json()  # a grid worker on a resident's behalf
    client.post(
        f"/services/orders/{order['id']}/dispatch",
        json={"team_id": world["near"]["id"]},
        headers=auth(keys["dispatcher"]),
    )
    assert (
        client.post(
            f"/services/orders/{order['id']}/decline", json={}, headers=auth(lead)
        ).status_code
        == 422
    )
    back = client.post(
        f"/services/orders/{order['id']}/decline", json={"reason": "人手不足"}, headers=auth(lead)
    )
    assert back.status_code == 200
    assert back.json()["status"] == "ordered" and back.json()["team_id"] is None
    # no longer the team's: its lead sees it no more
    assert client.get(f"/services/orders/{order['id']}", headers=auth(lead)).status_code == 404
    events = client.get(
        f"/services/orders/{order['id']}/events", headers=auth(keys["dispatcher"])
    ).json()
    assert events[-1]["action"] == "decline" and events[-1]["note"] == "人手不足"
    assert events[-1]["data"]["team_id"] == world["near"]["id"]


def test_the_same_idempotency_key_replays_the_order(world):
    client, keys = world["client"], world["keys"]
    headers = {**auth(keys["reporter"]), "Idempotency-Key": "order-once"}
    body = {"service": "haircut", "lon": IN_M1[0], "lat": IN_M1[1], **WINDOW}
    first = client.post("/services/orders", json=body, headers=headers)
    second = client.post("/services/orders", json=body, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.json()["id"] == first.json()["id"]
    assert second.headers["Idempotent-Replayed"] == "true"
    changed = client.post("/services/orders", json={**body, "description": "x"}, headers=headers)
    assert changed.status_code == 409


def test_bad_orders_get_clear_errors(world):
    client, keys = world["client"], world["keys"]
    for extra, status, code in [
        ({"service": "juggling"}, 422, "unknown_service_type"),
        ({"wanted_until": "2026-12-05T08:00:00+08:00"}, 422, "invalid_request"),
        ({"crs": "EPSG:0"}, 422, "unknown_crs"),
        ({"lat": 91.0}, 422, "invalid_coordinates"),
    ]:
        response = _order(client, keys["reporter"], **extra)
        assert response.status_code == status, (extra, response.text)
        assert ErrorBody.model_validate(response.json()).code == code


def test_automatic_dispatch_when_the_catalogue_says_so(world):
    client, keys = world["client"], world["keys"]
    make_team(client, keys["admin"], name="助餐队", services=["助餐"], units=["G2"])
    order = OrderOut.model_validate(
        _order(client, keys["reporter"], IN_M5, service="meal_help").json()
    )
    assert order.status == "dispatched" and order.team_id is not None
    events = client.get(
        f"/services/orders/{order.id}/events", headers=auth(keys["dispatcher"])
    ).json()
    assert events[-1]["actor"] == "system" and events[-1]["note"].startswith("automatic")


def test_personal_data_only_for_dispatchers_and_the_own_lead(world):
    client, keys = world["client"], world["keys"]
    near = world["near"]["id"]

    def seen(key: str) -> dict[int, VolunteerOut]:
        rows = client.get("/volunteers", params={"team_id": near}, headers=auth(key)).json()
        return {v.id: v for v in TypeAdapter(list[VolunteerOut]).validate_python(rows)}

    for key in (keys["dispatcher"], keys["admin"], world["lead"]):
        assert {v.phone for v in seen(key).values()} == {"13900000001", "13900000002"}
    for key in (keys["planner"], world["other_lead"]):
        assert all(v.name is None and v.phone is None for v in seen(key).values())
    # and a lead reads only its own team's points, adds only to its own team
    a = world["volunteers"][0]
    assert (
        client.get(f"/volunteers/{a}/points", headers=auth(world["other_lead"])).status_code == 404
    )
    wrong = client.post(
        "/volunteers", json={"name": "x", "team_id": near}, headers=auth(world["other_lead"])
    )
    assert wrong.status_code == 403


def test_a_team_leads_key_needs_its_team(world):
    client, keys = world["client"], world["keys"]
    admin = auth(keys["admin"])
    for body, status, code in [
        ({"role": "team_lead"}, 422, "team_required"),
        ({"role": "dispatcher", "team_id": world["near"]["id"]}, 422, "team_required"),
        ({"role": "team_lead", "team_id": 999999}, 404, "team_not_found"),
    ]:
        response = client.post("/keys", json=body, headers=admin)
        assert response.status_code == status, response.text
        assert ErrorBody.model_validate(response.json()).code == code


def test_coverage_names_the_units_no_team_reaches(world):
    client, keys = world["client"], world["keys"]
    response = client.get(
        "/services/coverage",
        params={"type": "理发", "level": "microgrid", "since": "2026-01-01"},
        headers=auth(keys["planner"]),
    )
    assert response.status_code == 200, response.text
    coverage = ServiceCoverageOut.model_validate(response.json())
    rows = {u.code: u for u in coverage.units}
    assert rows["M1"].teams == [world["near"]["id"]] and rows["M5"].teams == [world["other"]["id"]]
    assert rows["M1"].orders >= 3 and 0 < rows["M1"].done < 1
    health = client.get(
        "/services/coverage",
        params={"type": "health_talk", "level": "grid"},
        headers=auth(keys["planner"]),
    ).json()
    assert health["unreached"] == ["G1", "G2"]
    unknown = client.get(
        "/services/coverage",
        params={"type": "haircut", "level": "street"},
        headers=auth(keys["planner"]),
    )
    assert unknown.status_code == 422


@pytest.mark.parametrize("table", ["points_entries", "service_order_events"])
def test_the_ledger_and_the_trail_are_append_only_in_the_database(world, table):
    """Straight SQL past the application: the database itself refuses."""
    engine = world["client"].app.state.db.engine
    with engine.connect() as conn:
        assert conn.execute(sa.text(f"SELECT count(*) FROM {table}")).scalar() > 0
    for statement in (
        f"UPDATE {table} SET author = 'x'"
        if table == "points_entries"
        else f"UPDATE {table} SET note = 'x'",
        f"DELETE FROM {table}",
    ):
        with pytest.raises(sa.exc.DBAPIError, match="append-only"):
            with engine.begin() as conn:
                conn.execute(sa.text(statement))


def test_the_coverage_map_draws_the_teams_reach(world):
    client, keys = world["client"], world["keys"]
    page = client.get(
        "/maps/coverage",
        params={"level": "microgrid", "service": "haircut"},
        headers=auth(keys["planner"]),
    )
    assert page.status_code == 200, page.text[:500]
    assert "wangge.volunteers.layer(" in page.text and "wangge/volunteers.js" in page.text
    plain = client.get(
        "/maps/coverage", params={"level": "microgrid"}, headers=auth(keys["planner"])
    )
    assert plain.status_code == 200 and "wangge.volunteers.layer(" not in plain.text
    unknown = client.get(
        "/maps/coverage",
        params={"level": "microgrid", "service": "juggling"},
        headers=auth(keys["planner"]),
    )
    assert unknown.status_code == 422
