"""派单: the teams that could take an order, ranked, each with why.

A team is a candidate when it offers the order's service and serves the order's place: one
of its units holds the place (a code reaches everything below it), or the place lies within
its radius of its base. Room is counted per calendar day (api.volunteers.capacity).
Candidates with room in the wanted window come first, then the
nearest (geodesic metres from the base; teams without a base after those with one), then the
most room, then the best rated.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.models import ServiceOrder, VolunteerTeam
from api.volunteers.capacity import HORIZON, free_places, service_days
from api.volunteers.lifecycle import HOLDS_CAPACITY
from api.volunteers.reach import served_unit, within_radius
from api.volunteers.teams import team_ratings

#: The city's time, whose calendar days the capacity is counted in, unless told otherwise.
SERVICE_TZ = ZoneInfo("Asia/Shanghai")


def held_windows(
    session: Session, order: ServiceOrder, team_ids: list[int], tz: tzinfo
) -> dict[int, list[tuple[int, int]]]:
    """The calendar days (first, last) of the orders each team holds (dispatched or accepted)
    around this order's window."""
    if not team_ids:
        return {}
    rows = session.execute(
        select(ServiceOrder.team_id, ServiceOrder.wanted_from, ServiceOrder.wanted_until).where(
            ServiceOrder.team_id.in_(team_ids),
            ServiceOrder.status.in_([s.value for s in HOLDS_CAPACITY]),
            ServiceOrder.id != order.id,
            ServiceOrder.wanted_from < order.wanted_until + HORIZON,
            ServiceOrder.wanted_until > order.wanted_from - HORIZON,
        )
    )
    held: dict[int, list[tuple[int, int]]] = {}
    for team_id, start, end in rows:
        held.setdefault(int(team_id or 0), []).append(service_days(start, end, tz))
    return held


def rank_candidates(
    session: Session, order: ServiceOrder, *, tz: tzinfo = SERVICE_TZ
) -> list[dict[str, Any]]:
    """The candidate teams of an order, best first, each with ``why`` in words (capacity
    counted per calendar day in ``tz``, the city's time)."""
    teams = [
        t
        for t in session.scalars(select(VolunteerTeam).order_by(VolunteerTeam.id))
        if order.service in (t.services or ())
    ]
    found: list[tuple[VolunteerTeam, str | None, bool, float | None]] = []
    for team in teams:
        unit = served_unit(team, order.units or ())
        inside, distance = within_radius(team, order.lon, order.lat)
        if unit is not None or inside:
            found.append((team, unit, inside, distance))
    held = held_windows(session, order, [t.id for t, *_ in found], tz)
    ratings = team_ratings(session)
    window = service_days(order.wanted_from, order.wanted_until, tz)
    days = window[1] - window[0] + 1
    out: list[dict[str, Any]] = []
    for team, unit, inside, distance in found:
        capacity = team.capacity_per_day * days
        free = free_places(team.capacity_per_day, window, held.get(team.id, []))
        rating = ratings.get(team.id)
        why = [f"offers {order.service}"]
        if unit is not None:
            why.append(f"serves unit {unit}, which holds the place")
        if distance is not None:
            reach = "within" if inside else "beyond"
            why.append(f"base {distance:.0f} m away, {reach} its {team.radius_m:g} m radius")
        per_day = f"{team.capacity_per_day} a day over {days} day{'s' if days > 1 else ''}"
        why.append(
            f"{free} of {capacity} free in the window ({per_day})"
            if free
            else f"no room: the {capacity} places in the window ({per_day}) are taken"
        )
        why.append(f"rated {rating:g}" if rating is not None else "not rated yet")
        out.append(
            {
                "team_id": team.id,
                "name": team.name,
                "distance_m": None if distance is None else round(distance, 1),
                "free_capacity": free,
                "rating": rating,
                "why": "; ".join(why),
            }
        )
    out.sort(
        key=lambda c: (
            c["free_capacity"] == 0,
            c["distance_m"] is None,
            c["distance_m"] or 0.0,
            -c["free_capacity"],
            -(c["rating"] or 0.0),
            c["team_id"],
        )
    )
    return out
