"""派单: the teams that could take an order, ranked, each with why.

A team is a candidate when it offers the order's service and serves the order's place: one
of its units holds the place (a code reaches everything below it), or the place lies within
its radius of its base. Candidates with room in the wanted window come first, then the
nearest (geodesic metres from the base; teams without a base after those with one), then the
most room, then the best rated.
"""

from __future__ import annotations

import math
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.db.models import ServiceOrder, VolunteerTeam
from api.volunteers.lifecycle import HOLDS_CAPACITY
from api.volunteers.reach import served_unit, within_radius
from api.volunteers.teams import team_ratings


def window_days(order: ServiceOrder) -> int:
    """Days of capacity the wanted window spans (at least one)."""
    return max(1, math.ceil((order.wanted_until - order.wanted_from) / timedelta(days=1)))


def booked(session: Session, order: ServiceOrder, team_ids: list[int]) -> dict[int, int]:
    """Orders each team holds (dispatched or accepted) whose window overlaps this order's."""
    if not team_ids:
        return {}
    rows = session.execute(
        select(ServiceOrder.team_id, func.count())
        .where(
            ServiceOrder.team_id.in_(team_ids),
            ServiceOrder.status.in_([s.value for s in HOLDS_CAPACITY]),
            ServiceOrder.id != order.id,
            ServiceOrder.wanted_from < order.wanted_until,
            ServiceOrder.wanted_until > order.wanted_from,
        )
        .group_by(ServiceOrder.team_id)
    )
    return {int(t or 0): int(n) for t, n in rows}


def rank_candidates(session: Session, order: ServiceOrder) -> list[dict[str, Any]]:
    """The candidate teams of an order, best first, each with ``why`` in words."""
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
    load = booked(session, order, [t.id for t, *_ in found])
    ratings = team_ratings(session)
    days = window_days(order)
    out: list[dict[str, Any]] = []
    for team, unit, inside, distance in found:
        capacity = team.capacity_per_day * days
        free = max(0, capacity - load.get(team.id, 0))
        rating = ratings.get(team.id)
        why = [f"offers {order.service}"]
        if unit is not None:
            why.append(f"serves unit {unit}, which holds the place")
        if distance is not None:
            reach = "within" if inside else "beyond"
            why.append(f"base {distance:.0f} m away, {reach} its {team.radius_m:g} m radius")
        why.append(
            f"{free} of {capacity} free in the window"
            if free
            else f"no room: {capacity} of {capacity} taken in the window"
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
