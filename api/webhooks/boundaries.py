"""The events of the boundaries and the roster: leader.changed, boundaries.activated.

boundaries.activated lies in the units the new version changed (added, removed, renamed, under
another parent, reshaped: geo.diff) and every unit above them, in the old set and the new: a
grid worker's app subscribed to its grid hears of an activation that redrew its grid or a
unit in it, one subscribed to a street of any change in the street, and a subscription
without a unit filter of every activation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from api.webhooks import outbox
from api.webhooks.events import Event
from geo.diff import compare_boundary_sets
from geo.errors import UnitNotFound
from geo.units import BoundarySet

#: Changed units listed by code in a boundaries.activated event (the counts are complete).
LISTED_CHANGES = 500
#: geo.diff's flags, counted in the event.
CHANGE_KINDS = ("added", "removed", "renamed", "reparented", "reshaped")


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


@dataclass(frozen=True)
class Changes:
    """What a new version changes against the active one, as boundaries.activated tells it."""

    counts: dict[str, int]
    listed: list[str]
    units: tuple[str, ...]


def activation_changes(old: BoundarySet, new: BoundarySet) -> Changes:
    """The units ``new`` changes against ``old``, and all above them."""
    changes = compare_boundary_sets(old, new)
    codes = [str(c) for c in changes["code"]]
    return Changes(
        counts={kind: int(changes[kind].sum()) for kind in CHANGE_KINDS},
        listed=codes[:LISTED_CHANGES],
        units=tuple(sorted(set(codes) | _above(old, codes) | _above(new, codes))),
    )


def record_activation(
    session: Session,
    version_id: int,
    previous_id: int | None,
    counts: dict[str, int],
    at: datetime,
    changes: Changes | None = None,
) -> int:
    """boundaries.activated: a new boundary version answers from now on, lying in the units it
    changed (``changes``; without them, in no unit: heard only by subscriptions filtering
    none)."""
    data: dict[str, Any] = {
        "version_id": version_id,
        "previous_version_id": previous_id,
        "cases": counts,
    }
    if changes is not None:
        data |= {"units_changed": changes.counts, "changed_units": changes.listed}
    return outbox.record(
        session,
        [
            Event(
                type="boundaries.activated",
                data=data,
                occurred_at=at,
                entity="boundaries",
                units=changes.units if changes is not None else (),
            )
        ],
    )


def _above(bset: BoundarySet, codes: list[str]) -> set[str]:
    """The codes of the set's units at or above these (those the set holds)."""
    positions = bset.positions(codes)
    chains = bset.chains[positions[positions >= 0]]
    found = np.unique(chains[chains >= 0])
    return {str(c) for c in bset.units["code"].to_numpy()[found]}
