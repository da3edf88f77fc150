"""Teams and their volunteers; a volunteer's name and phone only for those who may see them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from api.access.policy import Principal, Role, sees_volunteer
from api.db.models import PointsBalance, ServiceOrder, Volunteer, VolunteerTeam
from api.volunteers.catalogue import check_service_codes
from api.volunteers.errors import (
    InvalidVolunteerRequest,
    NotYourTeam,
    TeamNotFound,
    VolunteerNotFound,
)
from geo.crs import points_to_wgs84
from geo.units import BoundarySet


@dataclass(frozen=True)
class TeamSpec:
    """A new team as plain values (its base in any supported system)."""

    name: str
    services: list[str]
    capacity_per_day: int
    organisation: str = ""
    units: list[str] = field(default_factory=list)
    lon: float | None = None
    lat: float | None = None
    crs: str = "wgs84"
    radius_m: float | None = None


@dataclass(frozen=True)
class VolunteerSpec:
    name: str
    team_id: int
    phone: str | None = None
    skills: list[str] = field(default_factory=list)


def create_team(
    session: Session, bset: BoundarySet, spec: TeamSpec, now: datetime
) -> VolunteerTeam:
    """Check and store a team (not committed): known services, known units, a reach."""
    services = check_service_codes(session, spec.services)
    for code in spec.units:
        bset.position(code)  # UnitNotFound names what is allowed
    has_base = spec.lon is not None or spec.lat is not None
    if has_base and (spec.lon is None or spec.lat is None or spec.radius_m is None):
        raise InvalidVolunteerRequest(
            "a team's base needs lon, lat and radius_m together",
            allowed="lon, lat (in crs) and radius_m in metres, or only units",
        )
    if not spec.units and not has_base:
        raise InvalidVolunteerRequest(
            "a team must serve somewhere",
            allowed="units (codes; everything below them) and/or lon, lat and radius_m",
        )
    lon = lat = None
    if spec.lon is not None and spec.lat is not None:
        x, y, _ = points_to_wgs84([spec.lon], [spec.lat], spec.crs)
        lon, lat = float(x[0]), float(y[0])
    team = VolunteerTeam(
        name=spec.name,
        organisation=spec.organisation,
        services=list(dict.fromkeys(services)),
        units=list(dict.fromkeys(spec.units)),
        lon=lon,
        lat=lat,
        radius_m=spec.radius_m,
        capacity_per_day=spec.capacity_per_day,
        created_at=now,
    )
    session.add(team)
    session.flush()
    return team


def get_team(session: Session, team_id: int) -> VolunteerTeam:
    team = session.get(VolunteerTeam, team_id)
    if team is None:
        raise TeamNotFound(f"no volunteer team {team_id}", allowed="ids from GET /volunteers/teams")
    return team


def list_teams(session: Session, service: str | None = None) -> list[VolunteerTeam]:
    teams = list(session.scalars(select(VolunteerTeam).order_by(VolunteerTeam.id)))
    if service is not None:
        teams = [t for t in teams if service in (t.services or ())]
    return teams


def team_ratings(session: Session) -> dict[int, float]:
    """Mean stars of each team's rated orders."""
    rows = session.execute(
        select(ServiceOrder.team_id, func.avg(ServiceOrder.stars))
        .where(ServiceOrder.stars.is_not(None), ServiceOrder.team_id.is_not(None))
        .group_by(ServiceOrder.team_id)
    )
    return {int(t): round(float(avg), 2) for t, avg in rows}


def team_views(session: Session, teams: list[VolunteerTeam]) -> list[dict[str, Any]]:
    ratings = team_ratings(session)
    counts = dict(
        session.execute(select(Volunteer.team_id, func.count()).group_by(Volunteer.team_id)).all()
    )
    return [
        {
            "id": t.id,
            "name": t.name,
            "organisation": t.organisation,
            "services": list(t.services or ()),
            "units": list(t.units or ()),
            "lon": t.lon,
            "lat": t.lat,
            "radius_m": t.radius_m,
            "capacity_per_day": t.capacity_per_day,
            "rating": ratings.get(t.id),
            "volunteers": int(counts.get(t.id, 0)),
            "created_at": t.created_at,
        }
        for t in teams
    ]


def check_own_team(principal: Principal | None, team_id: int) -> None:
    """A team lead acts for its own team only."""
    if principal is not None and principal.role == Role.TEAM_LEAD and principal.team_id != team_id:
        raise NotYourTeam(
            f"a team lead acts for team {principal.team_id} only",
            allowed=f"team_id {principal.team_id}",
        )


def create_volunteer(
    session: Session, principal: Principal | None, spec: VolunteerSpec, now: datetime
) -> Volunteer:
    """Store a volunteer and its empty balance (not committed)."""
    get_team(session, spec.team_id)
    check_own_team(principal, spec.team_id)
    volunteer = Volunteer(
        team_id=spec.team_id,
        name=spec.name,
        phone=spec.phone,
        skills=check_service_codes(session, list(spec.skills)),
        created_at=now,
    )
    session.add(volunteer)
    session.flush()
    session.add(PointsBalance(volunteer_id=volunteer.id, balance=0.0))
    session.flush()
    return volunteer


def get_volunteer(session: Session, volunteer_id: int, principal: Principal | None) -> Volunteer:
    """A volunteer the caller may act on: a team lead only their own team's (others' ids do
    not leak)."""
    volunteer = session.get(Volunteer, volunteer_id)
    if volunteer is None or (
        principal is not None
        and principal.role == Role.TEAM_LEAD
        and principal.team_id != volunteer.team_id
    ):
        raise VolunteerNotFound(
            f"no volunteer {volunteer_id} for you", allowed="ids from GET /volunteers"
        )
    return volunteer


def list_volunteers(session: Session, team_id: int | None = None) -> list[Volunteer]:
    query = select(Volunteer).order_by(Volunteer.id)
    if team_id is not None:
        query = query.where(Volunteer.team_id == team_id)
    return list(session.scalars(query))


def volunteer_views(
    session: Session, volunteers: list[Volunteer], principal: Principal | None
) -> list[dict[str, Any]]:
    """Volunteers as the caller may see them: personal data only where the policy says."""
    ids = [v.id for v in volunteers]
    balances = (
        dict(
            session.execute(
                select(PointsBalance.volunteer_id, PointsBalance.balance).where(
                    PointsBalance.volunteer_id.in_(ids)
                )
            ).all()
        )
        if ids
        else {}
    )
    views = []
    for v in volunteers:
        private = sees_volunteer(principal, v.team_id)
        views.append(
            {
                "id": v.id,
                "name": v.name if private else None,
                "phone": v.phone if private else None,
                "team_id": v.team_id,
                "skills": list(v.skills or ()),
                "balance": round(float(balances.get(v.id, 0.0)), 2),
                "created_at": v.created_at,
            }
        )
    return views
