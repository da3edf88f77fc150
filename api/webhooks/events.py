"""The events receivers can subscribe to, and an event as the writers hand it to the outbox."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

#: Event types; other packages add theirs with :func:`register_event_types`.
EVENT_TYPES: list[str] = [
    "report.created",
    "report.assigned",
    "report.status_changed",
    "report.rerouted",
    "report.overdue",
    "report.rated",
    "leader.changed",
    "boundaries.activated",
]


def register_event_types(*types: str) -> None:
    """Make more event types subscribable (e.g. the volunteer orders')."""
    for kind in types:
        if kind not in EVENT_TYPES:
            EVENT_TYPES.append(kind)


@dataclass(frozen=True)
class Event:
    """Something that happened, to be delivered to the subscriptions it matches.

    ``entity`` ("report:12") orders delivery: a receiver gets an entity's events in the order
    they were recorded. ``units`` are the codes the entity lies in (a subscription to a unit
    gets what lies in it or below), ``private`` the personal data only some roles may see
    (``reporter``: a reporter's name and phone; ``leader_phone``).
    """

    type: str
    data: dict[str, Any]
    occurred_at: datetime
    entity: str | None = None
    units: tuple[str, ...] = ()
    category: str | None = None
    private: dict[str, Any] = field(default_factory=dict)


def report_entity(report_id: int) -> str:
    return f"report:{report_id}"
