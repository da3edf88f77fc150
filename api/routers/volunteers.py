"""Volunteer teams, volunteers (name and phone as personal data) and their points."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query

from api.access.auth import allow
from api.access.policy import Principal, Role
from api.deps import IndexDep, SessionDep
from api.errors import KEYED, error_responses
from api.schemas import MAX_ID
from api.volunteers.orders import actor_of
from api.volunteers.points import correct_points, statement
from api.volunteers.schemas import (
    CorrectionIn,
    PointsEntryOut,
    PointsOut,
    Skill,
    TeamIn,
    TeamOut,
    VolunteerIn,
    VolunteerOut,
)
from api.volunteers.teams import (
    TeamSpec,
    VolunteerSpec,
    create_team,
    create_volunteer,
    list_teams,
    list_volunteers,
    team_views,
    volunteer_views,
)

router = APIRouter(prefix="/volunteers", tags=["volunteers"], responses=error_responses(*KEYED))

Runner = Annotated[Principal, Depends(allow(Role.DISPATCHER, Role.ADMIN))]
Reader = Annotated[
    Principal, Depends(allow(Role.DISPATCHER, Role.ADMIN, Role.PLANNER, Role.TEAM_LEAD))
]
Keeper = Annotated[Principal, Depends(allow(Role.DISPATCHER, Role.ADMIN, Role.TEAM_LEAD))]
VolunteerId = Annotated[int, Path(ge=1, le=MAX_ID, description="The volunteer's id")]
NOT_FOUND = error_responses((404, "No such volunteer (of your team, for a team lead)"))


@router.post(
    "/teams",
    status_code=201,
    response_model=TeamOut,
    responses=error_responses((404, "No unit with one of the codes"), 413),
)
def create_volunteer_team(session: SessionDep, index: IndexDep, _: Runner, body: TeamIn) -> Any:
    """Register a team: the services it offers, where it serves (unit codes, everything below
    them, and/or a base with a radius in metres) and how many orders a day it takes."""
    team = create_team(session, index.bset, TeamSpec(**body.model_dump()), datetime.now(UTC))
    session.commit()
    return team_views(session, [team])[0]


@router.get("/teams", response_model=list[TeamOut])
def read_volunteer_teams(
    session: SessionDep,
    _: Reader,
    service: Annotated[Skill | None, Query(description="Only teams offering this service")] = None,
) -> Any:
    """Every team, with its rating (mean stars of its rated orders) and size."""
    return team_views(session, list_teams(session, service))


@router.post(
    "",
    status_code=201,
    response_model=VolunteerOut,
    responses=error_responses(
        (403, "A team lead adds to its own team only"), (404, "No such team"), 413
    ),
)
def create_volunteer_record(session: SessionDep, principal: Keeper, body: VolunteerIn) -> Any:
    """Register a volunteer of a team (a team lead: of its own team)."""
    volunteer = create_volunteer(
        session, principal, VolunteerSpec(**body.model_dump()), datetime.now(UTC)
    )
    session.commit()
    return volunteer_views(session, [volunteer], principal)[0]


@router.get("", response_model=list[VolunteerOut])
def read_volunteers(
    session: SessionDep,
    principal: Reader,
    team_id: Annotated[int | None, Query(ge=1, le=MAX_ID, description="Only this team's")] = None,
) -> Any:
    """Volunteers; names and phones only for dispatchers, admins and the team's own lead."""
    return volunteer_views(session, list_volunteers(session, team_id), principal)


@router.get("/{volunteer_id}/points", response_model=PointsOut, responses=NOT_FOUND)
def read_volunteer_points(session: SessionDep, principal: Keeper, volunteer_id: VolunteerId) -> Any:
    """The balance and the statement: every credit, redemption and correction, oldest first."""
    found = statement(session, volunteer_id, principal)
    found["entries"] = [
        PointsEntryOut.model_validate(e, from_attributes=True) for e in found["entries"]
    ]
    return found


@router.post(
    "/{volunteer_id}/points/corrections",
    status_code=201,
    response_model=PointsEntryOut,
    responses=NOT_FOUND
    | error_responses((409, "It would leave a negative balance (the balance named)"), 413),
)
def create_points_correction(
    session: SessionDep,
    principal: Annotated[Principal, Depends(allow(Role.ADMIN))],
    volunteer_id: VolunteerId,
    body: CorrectionIn,
) -> Any:
    """Correct a balance (added, or taken if negative) with the reason; the ledger keeps who."""
    return correct_points(
        session,
        volunteer_id,
        principal,
        body.points,
        body.reason,
        actor_of(principal)[0],
        datetime.now(UTC),
    )
