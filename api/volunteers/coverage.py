"""Where service is missing (服务空白): per unit of a level, the teams that reach it for a
service, its orders in a window and how far they got, and the units no team reaches."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.db.models import ServiceOrder
from api.volunteers.catalogue import find_service_type
from api.volunteers.lifecycle import ACCEPTED_OR_LATER, DISPATCHED_OR_LATER, DONE
from api.volunteers.reach import reached_positions
from api.volunteers.teams import list_teams
from geo.units import BoundarySet


def _share(part: int, whole: int) -> float:
    return round(part / whole, 3) if whole else 0.0


def service_coverage(
    session: Session,
    bset: BoundarySet,
    service: str,
    level: str,
    since: datetime,
    until: datetime,
) -> dict[str, Any]:
    kind = find_service_type(session, service)
    positions = bset.level_positions(level)  # UnknownLevel names the levels
    codes = bset.codes
    names = bset.units["name"].to_numpy(dtype=object)
    reaching: dict[int, list[int]] = {int(p): [] for p in positions}
    for team in list_teams(session, kind.code):
        for p in reached_positions(bset, team, level):
            reaching[int(p)].append(team.id)
    orders = list(
        session.execute(
            select(ServiceOrder.units, ServiceOrder.status).where(
                ServiceOrder.service == kind.code,
                ServiceOrder.created_at >= since,
                ServiceOrder.created_at < until,
            )
        )
    )
    by_unit: dict[str, list[str]] = {}
    for units, status in orders:
        for code in units or ():
            by_unit.setdefault(code, []).append(status)
    rows = []
    for p in positions:
        code = str(codes[p])
        statuses = by_unit.get(code, [])
        n = len(statuses)
        rows.append(
            {
                "code": code,
                "name": str(names[p]),
                "level": level,
                "teams": reaching[int(p)],
                "orders": n,
                "dispatched": _share(sum(s in DISPATCHED_OR_LATER for s in statuses), n),
                "accepted": _share(sum(s in ACCEPTED_OR_LATER for s in statuses), n),
                "done": _share(sum(s in DONE for s in statuses), n),
            }
        )
    return {
        "service": kind.code,
        "level": level,
        "since": since,
        "until": until,
        "units": rows,
        "unreached": [r["code"] for r in rows if not r["teams"]],
    }


def service_reach(
    session: Session, bset: BoundarySet, service: str, level: str, now: datetime
) -> dict[str, Any]:
    """What the coverage map's volunteer layer draws: the last four weeks' coverage of a
    service at a level, the teams offering it, and the service's name."""
    from datetime import timedelta

    from api.volunteers.teams import team_views

    kind = find_service_type(session, service)
    return {
        "coverage": service_coverage(
            session, bset, kind.code, level, now - timedelta(days=28), now
        ),
        "teams": team_views(session, list_teams(session, kind.code)),
        "service_name": kind.name_zh,
    }
