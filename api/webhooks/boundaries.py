"""The events of the boundaries and the roster: leader.changed, boundaries.activated."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from api.webhooks import outbox
from api.webhooks.events import Event
from geo.errors import UnitNotFound
from geo.units import BoundarySet


def record_leader_changes(
    session: Session, roster: Any, bset: BoundarySet, codes: Iterable[str], at: datetime
) -> int:
    """leader.changed for each unit whose leader changed (``roster``: the new one)."""
    events = []
    for code in codes:
        try:
            pos = bset.position(code)
            chain = tuple(str(bset.units["code"].iat[int(p)]) for p in bset.chains[pos] if p >= 0)
        except UnitNotFound:
            chain = (code,)
        leader = roster.current(code)
        events.append(
            Event(
                type="leader.changed",
                data={
                    "unit_code": code,
                    "units": list(chain),
                    "leader": {"name": leader.name, "id": leader.person_id, "since": leader.since}
                    if leader is not None
                    else None,
                },
                occurred_at=at,
                entity=f"unit:{code}",
                units=chain,
                private={"leader_phone": leader.phone} if leader is not None else {},
            )
        )
    return outbox.record(session, events)


def record_activation(
    session: Session,
    version_id: int,
    previous_id: int | None,
    counts: dict[str, int],
    at: datetime,
) -> int:
    """boundaries.activated: a new boundary version answers from now on."""
    return outbox.record(
        session,
        [
            Event(
                type="boundaries.activated",
                data={
                    "version_id": version_id,
                    "previous_version_id": previous_id,
                    "cases": counts,
                },
                occurred_at=at,
                entity="boundaries",
            )
        ],
    )
