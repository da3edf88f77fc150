"""Who may do what: the roles, and who may see personal data. Every other module imports this.

Reporters' names and phones, and leaders' phones, are personal data (个人信息): only the people
who handle cases see them. Grid workers see them for the cases of their own area (the visibility
rules of api.cases keep other areas' cases from them altogether).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    """What a key may do."""

    REPORTER = "reporter"  # posts reports, reads its own
    GRID_WORKER = "grid_worker"  # reads and acts on cases in its unit and below
    DISPATCHER = "dispatcher"  # everything about cases: reassign, escalate, reject
    PLANNER = "planner"  # aggregates and coverage, no personal data
    ADMIN = "admin"  # boundaries, keys


ALL_ROLES = tuple(Role)


@dataclass(frozen=True)
class Principal:
    """The caller, as identified by its key."""

    key_id: int
    role: Role
    unit_code: str | None
    name: str

    @property
    def client(self) -> str:
        return f"key:{self.key_id}"


#: Roles that handle cases, and so may see reporters' names and phones and leaders' phones.
SEES_PERSONAL_DATA = frozenset({Role.GRID_WORKER, Role.DISPATCHER, Role.ADMIN})


def sees_personal_data(principal: Principal) -> bool:
    """Whether the caller may see reporters' and leaders' names and phones (in its area)."""
    return principal.role in SEES_PERSONAL_DATA
