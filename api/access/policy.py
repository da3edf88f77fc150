"""Who may do what: the roles, and who may see personal data. Every other module imports this.

Reporters' names and phones, and leaders' phones, are personal data (个人信息): only the people
who handle cases see them. Grid workers see them for the cases of their own area (the visibility
rules of api.cases keep other areas' cases from them altogether).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """What a key may do."""

    REPORTER = "reporter"  # posts reports, reads its own
    GRID_WORKER = "grid_worker"  # reads and acts on cases in its unit and below
    DISPATCHER = "dispatcher"  # everything about cases: reassign, escalate, reject
    PLANNER = "planner"  # aggregates and coverage, no personal data
    ADMIN = "admin"  # boundaries, keys
    TEAM_LEAD = "team_lead"  # a volunteer team's lead: its orders, volunteers and their points


ALL_ROLES = tuple(Role)


@dataclass(frozen=True)
class Principal:
    """The caller, as identified by its key."""

    key_id: int
    role: Role
    unit_code: str | None
    name: str
    #: The volunteer team of a team lead's key.
    team_id: int | None = None

    @property
    def client(self) -> str:
        return f"key:{self.key_id}"


#: Roles that handle cases: they see reporters' names and phones (grid workers: in their area).
HANDLERS = frozenset({Role.GRID_WORKER, Role.DISPATCHER, Role.ADMIN})
#: Roles that see every case of the jurisdiction.
SEES_ALL_CASES = frozenset({Role.DISPATCHER, Role.ADMIN})


def sees_leader_phones(principal: Principal | None) -> bool:
    """Leaders' phones are work contacts, for everyone but planners (who see aggregates only).

    ``None`` is the operator at the command line, who sees everything.
    """
    return principal is None or principal.role != Role.PLANNER


def sees_case_details(principal: Principal | None) -> bool:
    """Whether individual cases (markers, popups) are shown, rather than aggregates only."""
    return principal is None or principal.role in HANDLERS


def sees_case_counts(principal: Principal | None) -> bool:
    """Whether counts of cases per unit are shown (maps, tiles): to all but reporters, who
    see their own cases only."""
    return principal is None or principal.role != Role.REPORTER


def sees_reporter(principal: Principal, unit_codes: Iterable[str]) -> bool:
    """Whether the caller may see the name and phone of the reporter of a case in these units:
    dispatchers and admins always, grid workers when the case lies in their area."""
    if principal.role in SEES_ALL_CASES:
        return True
    return principal.role == Role.GRID_WORKER and principal.unit_code in set(unit_codes)


#: Roles that run volunteer services: they see every volunteer's name and phone.
RUNS_VOLUNTEERS = frozenset({Role.DISPATCHER, Role.ADMIN})


def sees_volunteer(principal: Principal | None, team_id: int) -> bool:
    """Whether the caller may see the name and phone of a volunteer of this team: dispatchers
    and admins always, a team lead for their own team; ``None`` is the operator."""
    if principal is None or principal.role in RUNS_VOLUNTEERS:
        return True
    return principal.role == Role.TEAM_LEAD and principal.team_id == team_id
