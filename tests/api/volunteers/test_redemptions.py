"""Concurrent redemptions on one database (SQLite file, then PostGIS) through two services at
once: a real `wangge serve` process and the app in this process, each with its own engine:
20 at once against a balance that allows 5 get exactly 5 through and 15 refused with the
balance left; against a stock of 3, exactly 3."""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from api.schemas import ErrorBody
from api.volunteers.schemas import PointsOut, RedemptionOut
from tests.api.conftest import auth
from tests.api.process import running_server
from tests.api.volunteers.conftest import lead_key, make_team, make_volunteer

RUSH = 20


@pytest.fixture(scope="module")
def server(stored, backend):  # type: ignore[no-untyped-def]
    env = {
        **os.environ,
        "WANGGE_DATABASE_URL": backend.database,
        "WANGGE_BOUNDARIES": str(backend.boundaries),
        "WANGGE_DATA_DIR": str(backend.data_dir),
        "WANGGE_RATE_LIMIT_PER_MINUTE": "100000",
    }
    with running_server(env) as base:
        yield base


def _rush(stored, server, key, body):  # type: ignore[no-untyped-def]
    """RUSH redemptions released together, every other one to the real server."""
    start = threading.Barrier(RUSH)
    app = stored[0]

    def one(n: int) -> httpx.Response:
        if n % 2:
            start.wait()
            return app.post("/exchange/redemptions", json=body, headers=auth(key))
        with httpx.Client(base_url=server, timeout=60) as http:
            start.wait()
            return http.post("/exchange/redemptions", json=body, headers=auth(key))

    with ThreadPoolExecutor(RUSH) as pool:
        return list(pool.map(one, range(RUSH)))


def _volunteer_with(stored, points: float) -> tuple[int, str]:  # type: ignore[no-untyped-def]
    client, keys = stored
    team = make_team(client, keys["admin"], name="积分队", units=["G1"])
    lead = lead_key(client, keys["admin"], team["id"])
    volunteer = make_volunteer(client, lead, team["id"], "赵志愿", "13900000009")
    response = client.post(
        f"/volunteers/{volunteer}/points/corrections",
        json={"points": points, "reason": "opening balance"},
        headers=auth(keys["admin"]),
    )
    assert response.status_code == 201, response.text
    return volunteer, lead


def test_never_a_negative_balance(stored, server):
    client, keys = stored
    volunteer, lead = _volunteer_with(stored, 60)  # 5 towels of 12
    towel = client.post(
        "/exchange/items",
        json={"name": "毛巾", "points": 12, "stock": 100},
        headers=auth(keys["admin"]),
    ).json()
    answers = _rush(
        stored, server, lead, {"volunteer_id": volunteer, "item_id": towel["id"], "quantity": 1}
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] * 5 + [409] * 15, [
        a.text for a in answers if a.status_code not in (201, 409)
    ]
    for refused in (a for a in answers if a.status_code == 409):
        error = ErrorBody.model_validate(refused.json())
        assert error.code == "insufficient_points" and error.details["balance"] == 0
    balances = sorted(
        RedemptionOut.model_validate(a.json()).balance for a in answers if a.status_code == 201
    )
    assert balances == [0, 12, 24, 36, 48]  # each saw its own step down
    points = PointsOut.model_validate(
        client.get(f"/volunteers/{volunteer}/points", headers=auth(lead)).json()
    )
    assert points.balance == 0 == sum(e.points for e in points.entries)
    assert [e.kind for e in points.entries].count("redemption") == 5
    items = {i["id"]: i for i in client.get("/exchange/items", headers=auth(lead)).json()}
    assert items[towel["id"]]["stock"] == 95


def test_never_more_than_the_stock(stored, server):
    client, keys = stored
    volunteer, lead = _volunteer_with(stored, 1000)
    soap = client.post(
        "/exchange/items",
        json={"name": "洗手液", "points": 8, "stock": 3},
        headers=auth(keys["admin"]),
    ).json()
    answers = _rush(
        stored, server, lead, {"volunteer_id": volunteer, "item_id": soap["id"], "quantity": 1}
    )
    codes = sorted(a.status_code for a in answers)
    assert codes == [201] * 3 + [409] * 17
    refused = [ErrorBody.model_validate(a.json()) for a in answers if a.status_code == 409]
    assert {e.code for e in refused} == {"out_of_stock"}
    # the points of the refused ones went back: only 3 × 8 were taken
    points = PointsOut.model_validate(
        client.get(f"/volunteers/{volunteer}/points", headers=auth(lead)).json()
    )
    assert points.balance == 1000 - 24 == sum(e.points for e in points.entries)
    items = {i["id"]: i for i in client.get("/exchange/items", headers=auth(lead)).json()}
    assert items[soap["id"]]["stock"] == 0
