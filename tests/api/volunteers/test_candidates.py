"""Ranking of candidates on a hand-made set: a team just inside its radius, one just outside,
one at capacity, one serving the place's grid by code, one not offering the service."""

from __future__ import annotations

import pyproj
import pytest
from pydantic import TypeAdapter

from api.volunteers.schemas import CandidateOut
from tests.api.conftest import auth, make_client
from tests.api.volunteers.conftest import IN_M1, make_team

GEOD = pyproj.Geod(ellps="WGS84")


def _east_of(lon: float, lat: float, metres: float) -> tuple[float, float]:
    """A point this many metres due east (geodesic), so a distance is known exactly."""
    x, y, _ = GEOD.fwd(lon, lat, 90, metres)
    return float(x), float(y)


@pytest.fixture(scope="module")
def ranked(app_settings):  # type: ignore[no-untyped-def]
    client, keys = make_client(app_settings)
    admin, dispatcher = keys["admin"], keys["dispatcher"]
    lon, lat = IN_M1
    teams = {}
    # row by row: (label, base distance east in m, radius m, capacity, units, services)
    for label, far, radius, capacity, units, services in [
        ("inside", 990.0, 1000.0, 2, [], ["haircut"]),  # 10 m inside its radius
        ("outside", 1010.0, 1000.0, 2, [], ["haircut"]),  # 10 m beyond it
        ("near_inside", 300.0, 1000.0, 2, [], ["haircut"]),  # nearer, room
        ("full", 100.0, 1000.0, 1, [], ["haircut"]),  # nearest, but at capacity
        ("by_code", None, None, 5, ["G1"], ["haircut"]),  # no base: serves G1 by code
        ("other_service", 50.0, 1000.0, 5, [], ["cleaning"]),  # does not offer it
    ]:
        fields = {"capacity_per_day": capacity, "units": units, "services": services}
        if far is not None:
            blon, blat = _east_of(lon, lat, far)
            fields |= {"lon": blon, "lat": blat, "radius_m": radius}
        teams[label] = make_team(client, admin, name=label, **fields)["id"]
    window = {
        "wanted_from": "2026-12-07T09:00:00+08:00",
        "wanted_until": "2026-12-07T11:00:00+08:00",
    }
    order = {"service": "haircut", "lon": lon, "lat": lat, **window}
    # the full team holds one order in an overlapping window already
    held = client.post("/services/orders", json=order, headers=auth(keys["reporter"])).json()
    client.post(
        f"/services/orders/{held['id']}/dispatch",
        json={"team_id": teams["full"]},
        headers=auth(dispatcher),
    )
    mine = client.post("/services/orders", json=order, headers=auth(keys["reporter"])).json()
    response = client.get(f"/services/orders/{mine['id']}/candidates", headers=auth(dispatcher))
    assert response.status_code == 200, response.text
    yield teams, TypeAdapter(list[CandidateOut]).validate_python(response.json())
    client.__exit__(None, None, None)


def test_only_teams_that_reach_the_place_and_offer_the_service(ranked):
    teams, candidates = ranked
    ids = {c.team_id for c in candidates}
    assert teams["inside"] in ids and teams["by_code"] in ids
    assert teams["outside"] not in ids  # 1010 m from a base with a 1000 m radius
    assert teams["other_service"] not in ids


def test_ranked_by_room_then_distance(ranked):
    teams, candidates = ranked
    order = [c.team_id for c in candidates]
    # room first; then the nearest base; teams without a base after; the full team last
    assert order == [teams["near_inside"], teams["inside"], teams["by_code"], teams["full"]]
    by_id = {c.team_id: c for c in candidates}
    assert by_id[teams["inside"]].distance_m == pytest.approx(990, abs=0.5)
    assert by_id[teams["by_code"]].distance_m is None
    assert by_id[teams["full"]].free_capacity == 0
    assert "no room" in by_id[teams["full"]].why
    assert "within its 1000 m radius" in by_id[teams["inside"]].why
    assert "serves unit G1" in by_id[teams["by_code"]].why


def test_the_better_rated_of_two_equal_teams_comes_first(app_settings):  # type: ignore[no-untyped-def]
    from tests.api.volunteers.conftest import lead_key, make_volunteer

    client, keys = make_client(app_settings)
    try:
        admin, dispatcher, resident = keys["admin"], keys["dispatcher"], keys["reporter"]
        body = {
            "service": "haircut",
            "lon": IN_M1[0],
            "lat": IN_M1[1],
            "wanted_from": "2026-12-08T09:00:00+08:00",
            "wanted_until": "2026-12-08T11:00:00+08:00",
        }
        teams = {}
        # the poorly rated team is made first, so the id alone would put it first
        for label, stars in [("poorly", 2), ("well", 5)]:
            team = make_team(client, admin, name=label, units=["G1"], capacity_per_day=3)["id"]
            lead = lead_key(client, admin, team)
            person = make_volunteer(client, lead, team, f"{label}志愿", "13900000077")
            order = client.post("/services/orders", json=body, headers=auth(resident)).json()
            path = f"/services/orders/{order['id']}"
            steps = [
                (f"{path}/dispatch", {"team_id": team}, dispatcher),
                (f"{path}/accept", None, lead),
                (f"{path}/complete", {"volunteers": [{"id": person, "hours": 1}]}, lead),
                (f"{path}/rating", {"stars": stars}, resident),
            ]
            for url, payload, key in steps:
                answer = client.post(url, json=payload, headers=auth(key))
                assert answer.status_code == 200, answer.text
            teams[label] = team
        mine = client.post("/services/orders", json=body, headers=auth(resident)).json()
        answer = client.get(f"/services/orders/{mine['id']}/candidates", headers=auth(dispatcher))
        every = TypeAdapter(list[CandidateOut]).validate_python(answer.json())
        ranked = [c for c in every if c.team_id in teams.values()]  # the module's others aside
        assert [c.team_id for c in ranked] == [teams["well"], teams["poorly"]]
        assert [c.rating for c in ranked] == [5, 2] and "rated 5" in ranked[0].why
        assert ranked[0].free_capacity == ranked[1].free_capacity == 3  # rated orders hold none
    finally:
        client.__exit__(None, None, None)
