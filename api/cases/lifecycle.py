"""The case lifecycle: 点单 (submitted) -> 派单 (assigned) -> 接单 (accepted) -> 评单 (rated).

Escalation (吹哨) sends a case up to the parent unit or across to a department; dispatchers
reassign and reject; a resident's low rating reopens a resolved case.
"""

from __future__ import annotations

from enum import StrEnum

from api.access.policy import Role


class Status(StrEnum):
    SUBMITTED = "submitted"  # received; no responsible unit yet (the dispatcher's queue)
    ASSIGNED = "assigned"  # routed to the responsible unit and its leader
    ACCEPTED = "accepted"  # the grid (or department) took the case
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"  # handled; waiting for the resident's rating
    CLOSED = "closed"
    ESCALATED = "escalated"  # sent to the parent unit or a department (吹哨)
    REASSIGNED = "reassigned"  # moved to another unit by a dispatcher
    REJECTED = "rejected"  # a duplicate, or not our responsibility
    REOPENED = "reopened"  # the resident was not satisfied


#: What people read for each status: (Chinese, English).
STATUS_NAMES: dict[Status, tuple[str, str]] = {
    Status.SUBMITTED: ("待派单", "submitted"),
    Status.ASSIGNED: ("已派单", "assigned"),
    Status.ACCEPTED: ("已接单", "accepted"),
    Status.IN_PROGRESS: ("处理中", "in progress"),
    Status.RESOLVED: ("已办结", "resolved"),
    Status.CLOSED: ("已关闭", "closed"),
    Status.ESCALATED: ("吹哨上报", "escalated"),
    Status.REASSIGNED: ("已改派", "reassigned"),
    Status.REJECTED: ("已退回", "rejected"),
    Status.REOPENED: ("已重办", "reopened"),
}


def status_label(status: Status, lang: str) -> str:
    """A status in words, in Chinese ("zh") or English."""
    zh, en = STATUS_NAMES[status]
    return zh if lang == "zh" else en


#: Where each state may go next.
TRANSITIONS: dict[Status, tuple[Status, ...]] = {
    Status.SUBMITTED: (Status.ASSIGNED, Status.REASSIGNED, Status.REJECTED),
    Status.ASSIGNED: (
        Status.ACCEPTED,
        Status.ESCALATED,
        Status.REASSIGNED,
        Status.REJECTED,
    ),
    Status.REASSIGNED: (
        Status.ACCEPTED,
        Status.ESCALATED,
        Status.REASSIGNED,
        Status.REJECTED,
    ),
    Status.ESCALATED: (
        Status.ACCEPTED,
        Status.REASSIGNED,
        Status.REJECTED,
        Status.RESOLVED,
    ),
    Status.ACCEPTED: (
        Status.IN_PROGRESS,
        Status.RESOLVED,
        Status.ESCALATED,
        Status.REASSIGNED,
    ),
    Status.IN_PROGRESS: (Status.RESOLVED, Status.ESCALATED, Status.REASSIGNED),
    Status.REOPENED: (
        Status.ACCEPTED,
        Status.IN_PROGRESS,
        Status.ESCALATED,
        Status.REASSIGNED,
    ),
    Status.RESOLVED: (Status.CLOSED, Status.REOPENED),
    Status.CLOSED: (),
    Status.REJECTED: (),
}

#: Who may move a case into each state (grid workers only within their units).
ACTORS: dict[Status, tuple[Role, ...]] = {
    Status.ASSIGNED: (Role.DISPATCHER, Role.ADMIN),
    Status.ACCEPTED: (Role.GRID_WORKER, Role.DISPATCHER, Role.ADMIN),
    Status.IN_PROGRESS: (Role.GRID_WORKER, Role.DISPATCHER, Role.ADMIN),
    Status.RESOLVED: (Role.GRID_WORKER, Role.DISPATCHER, Role.ADMIN),
    Status.ESCALATED: (Role.GRID_WORKER, Role.DISPATCHER, Role.ADMIN),
    Status.REASSIGNED: (Role.DISPATCHER, Role.ADMIN),
    Status.REJECTED: (Role.DISPATCHER, Role.ADMIN),
    Status.CLOSED: (Role.DISPATCHER, Role.ADMIN),
    Status.REOPENED: (Role.DISPATCHER, Role.ADMIN),
}

#: States in which a case still needs work (and counts for duplicates and SLA).
OPEN = frozenset(
    {
        Status.SUBMITTED,
        Status.ASSIGNED,
        Status.ACCEPTED,
        Status.IN_PROGRESS,
        Status.ESCALATED,
        Status.REASSIGNED,
        Status.REOPENED,
    }
)
#: States that stop the SLA clock.
DONE = frozenset({Status.RESOLVED, Status.CLOSED, Status.REJECTED})


def allowed_next(status: Status) -> tuple[Status, ...]:
    return TRANSITIONS[status]


def actions_for(status: Status, role: Role) -> tuple[Status, ...]:
    """The next states a role may move a case of ``status`` into (what a map popup offers;
    grid workers only within their area, which the visibility rules see to)."""
    return tuple(s for s in TRANSITIONS[status] if role in ACTORS.get(s, ()))
