"""The leader roster of a unit: appoint a new leader, end an appointment, read the history."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from api.access.auth import allow
from api.access.policy import ALL_ROLES, Principal, Role, sees_leader_phones
from api.deps import SessionDep, VersionsDep
from api.errors import KEYED, error_responses
from api.routers.versions import actor_of
from api.schemas import ErrorBody
from api.versions import NewLeader, Versions
from api.versions.roster import appointment_view
from api.versions.schemas import AppointmentOut, LeaderHistory, LeaderIn

router = APIRouter(prefix="/units", tags=["units"], responses=error_responses(*KEYED))
Appointer = Annotated[Principal, Depends(allow(Role.ADMIN, Role.DISPATCHER))]
Reader = Annotated[Principal, Depends(allow(*ALL_ROLES))]
Code = Annotated[str, Path(max_length=64, description="Unit code", examples=["120103001"])]
ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": ErrorBody, "description": "No unit with that code"},
    409: {"model": ErrorBody, "description": "The unit has no leader to end"},
    422: {"model": ErrorBody, "description": "No name, or a start in the future or too early"},
}


def _history(versions: Versions, code: str, principal: Principal) -> LeaderHistory:
    with_phone = sees_leader_phones(principal)
    appointments = [
        AppointmentOut.model_validate(appointment_view(a, with_phone=with_phone))
        for a in versions.history(code)
    ]
    current = next((a for a in appointments if a.until is None), None)
    return LeaderHistory(code=code, current=current, appointments=appointments)


@router.put("/{code}/leader", response_model=LeaderHistory, responses=ERRORS)
def update_unit_leader(
    versions: VersionsDep, session: SessionDep, principal: Appointer, code: Code, body: LeaderIn
) -> LeaderHistory:
    """Appoint a unit's leader from `since` (default now): the current appointment ends then.
    Lookups, new reports and the open cases name the new leader at once; each open case whose
    responsible leader changes gets a `leader_changed` event. Closed cases keep theirs."""
    leader = NewLeader(code, body.name, body.phone, body.id, body.since)
    versions.appoint(session, [leader], actor=actor_of(principal))
    return _history(versions, code, principal)


@router.delete("/{code}/leader", response_model=LeaderHistory, responses=ERRORS)
def delete_unit_leader(
    versions: VersionsDep, session: SessionDep, principal: Appointer, code: Code
) -> LeaderHistory:
    """End a unit's current appointment with no successor: its cases go to the leader of the
    nearest unit above that has one (with `leader_changed` events)."""
    versions.end(session, code, actor=actor_of(principal))
    return _history(versions, code, principal)


@router.get("/{code}/leaders", response_model=LeaderHistory, responses=ERRORS)
def read_unit_leaders(versions: VersionsDep, principal: Reader, code: Code) -> LeaderHistory:
    """Who led the unit, from when until when (oldest first), and who leads it now."""
    return _history(versions, code, principal)
