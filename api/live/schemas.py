"""What the live screen answers: cases as a map shows them, changes, the queue."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class LiveCase(BaseModel):
    """A case as a map marker and its popup show it (no personal data)."""

    id: int
    category: str
    category_zh: str
    category_en: str
    status: str
    open: bool = Field(description="Still needs work (drawn as a marker)")
    unit_code: str | None
    department: str | None
    lon: float = Field(description="WGS84")
    lat: float = Field(description="WGS84")
    created_at: datetime
    due_at: datetime
    overdue: bool
    actions: list[str] = Field(description="Next states the caller may move the case into")


class Change(BaseModel):
    """One event of a case (its creation or a change): ``case`` is the case as it is now;
    planners get no case, only where and what (to update counts per unit)."""

    event_id: int
    at: datetime
    kind: str
    from_status: str | None
    to_status: str
    report_id: int | None
    unit_code: str | None
    units: list[str] = Field(
        default_factory=list,
        description="Codes of the units the case lies in, every level (for counts per unit)",
    )
    category: str
    case: LiveCase | None


class ChangePage(BaseModel):
    """Changes after a cursor; ``next_event`` is the cursor to ask with next (``since_event``)."""

    items: list[Change]
    next_event: int
    more: bool = Field(description="More changes wait: ask again at once with next_event")


class QueueSection(BaseModel):
    count: int
    items: list[LiveCase]


class Queue(BaseModel):
    """The dispatcher's queue: cases that need someone to act, oldest first."""

    built_at: datetime
    unassigned: QueueSection = Field(description="Submitted without a unit (outside the area)")
    overdue: QueueSection
    escalated: QueueSection
    reopened: QueueSection


class NearbyCase(BaseModel):
    id: int
    category: str
    status: str
    distance_m: float


class CaseActions(BaseModel):
    """A case's popup: the case, the caller's next actions, and open cases nearby of the same
    category (candidates for rejecting it as a duplicate)."""

    case: LiveCase
    nearby: list[NearbyCase]
    csrf_header: str = "X-CSRF-Token"


class UnitHit(BaseModel):
    code: str
    name: str
    level: str
