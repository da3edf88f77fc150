"""A team's daily capacity is counted per calendar day (the city's time) of the wanted window:
an order held on a day takes that day's place whatever its hours, and a window reaching
into a free day has room."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from pydantic import TypeAdapter

from api.volunteers.capacity import free_places, service_days
from api.volunteers.schemas import CandidateOut
from tests.api.conftest import auth, make_client
from tests.api.volunteers.conftest import IN_M1, make_team

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    ("per_day", "window", "held", "free"),
    [
        (1, (1, 1), [], 1),  # nothing held
        (1, (1, 1), [(1, 1)], 0),  # the day's one place is taken
        (2, (1, 1), [(1, 1)], 1),  # one of two taken
        (1, (1, 2), [(1, 1)], 1),  # day 1 taken, day 2 free
        (1, (2, 2), [(1, 2), (1, 1)], 0),  # the two-day order can only go on day 2
        (1, (2, 2), [(1, 2)], 1),  # alone, the two-day order can go on day 1
        (1, (1, 3), [(2, 2), (5, 5)], 2),  # an order elsewhere takes nothing here
        (1, (1, 1), [(1, 1), (1, 1)], 0),  # already overbooked: no room, never negative
    ],
)
def test_free_places(per_day: int, window: tuple[int, int], held, free: int) -> None:  # type: ignore[no-untyped-def]
    assert free_places(per_day, window, held) == free


@pytest.mark.parametrize(
    ("start", "end", "days"),
    [
        ("2026-12-07T09:00+08:00", "2026-12-07T10:00+08:00", 1),  # an hour
        ("2026-12-07T09:00+08:00", "2026-12-08T00:00+08:00", 1),  # ends at midnight
        ("2026-12-07T23:00+08:00", "2026-12-08T01:00+08:00", 2),  # two hours, two days
        ("2026-12-07T00:30Z", "2026-12-07T02:00Z", 1),  # 08:30-10:00 in Shanghai
        ("2026-12-07T15:00Z", "2026-12-07T17:00Z", 2),  # 23:00-01:00 in Shanghai
        ("2026-12-07T01:00Z", "2026-12-07T16:00Z", 1),  # ends at Shanghai's midnight
    ],
)
def test_service_days_are_the_city_days(start: str, end: str, days: int) -> None:
    first, last = service_days(datetime.fromisoformat(start), datetime.fromisoformat(end), SHANGHAI)
    assert last - first + 1 == days
    assert first == datetime.fromisoformat(start).astimezone(SHANGHAI).date().toordinal()


def test_candidates_count_room_per_day(app_settings) -> None:  # type: ignore[no-untyped-def]
    client, keys = make_client(app_settings)
    try:
        admin, dispatcher, resident = keys["admin"], keys["dispatcher"], keys["reporter"]
        team = make_team(client, admin, name="一人队", units=["G1"], capacity_per_day=1)["id"]

        def order(start: str, end: str) -> int:
            body = {
                "service": "haircut",
                "lon": IN_M1[0],
                "lat": IN_M1[1],
                "wanted_from": start,
                "wanted_until": end,
            }
            response = client.post("/services/orders", json=body, headers=auth(resident))
            assert response.status_code == 201, response.text
            return int(response.json()["id"])

        def room(order_id: int) -> CandidateOut:
            response = client.get(
                f"/services/orders/{order_id}/candidates", headers=auth(dispatcher)
            )
            assert response.status_code == 200, response.text
            ranked = TypeAdapter(list[CandidateOut]).validate_python(response.json())
            [mine] = [c for c in ranked if c.team_id == team]
            return mine

        held = order("2027-01-04T09:00+08:00", "2027-01-04T10:00+08:00")  # Monday morning
        dispatched = client.post(
            f"/services/orders/{held}/dispatch", json={"team_id": team}, headers=auth(dispatcher)
        )
        assert dispatched.status_code == 200, dispatched.text
        # Monday afternoon: the hours do not overlap, but Monday's one place is taken
        afternoon = room(order("2027-01-04T15:00+08:00", "2027-01-04T16:00+08:00"))
        assert afternoon.free_capacity == 0 and "no room" in afternoon.why
        # 24 hours from Monday 09:30 reach into Tuesday, which is free
        overnight = room(order("2027-01-04T09:30+08:00", "2027-01-05T09:30+08:00"))
        assert overnight.free_capacity == 1
        assert "1 of 2 free in the window (1 a day over 2 days)" in overnight.why
        # Tuesday alone: free
        assert room(order("2027-01-05T09:00+08:00", "2027-01-05T10:00+08:00")).free_capacity == 1
    finally:
        client.__exit__(None, None, None)


def test_the_city_time_zone_is_checked_at_start() -> None:
    from pydantic import ValidationError

    from api.settings import Settings

    assert Settings(display_tz="Asia/Urumqi").display_tz == "Asia/Urumqi"
    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Base'"):
        Settings(display_tz="Mars/Base")
