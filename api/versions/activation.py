"""Activating a version: the new index is built first, then in one transaction the version
becomes active, the previous one retired, the file's leaders seed the roster of units that have
none, and every open case is placed again (api.cases.reroute) with its event.

The transaction starts by bumping the ``boundaries`` change counter: on PostgreSQL that takes a
row lock, on SQLite the write lock, so two activations (from any process) cannot interleave;
the second finds the first's version active and re-routes from it. Lookups keep answering from
the old index all the while (readers never wait), and the new one is swapped in only after the
commit. Activating an older version is how a rollback is done.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from api.db.models import BoundaryVersion
from api.versions import store
from api.versions.active import ActiveBoundaries
from api.versions.errors import ActivationInProgress, VersionNotActivatable
from api.versions.roster import Roster, seed_from_file
from api.webhooks import outbox
from api.webhooks.boundaries import Changes, activation_changes, record_activation
from geo.assign import BoundaryIndex

if TYPE_CHECKING:
    from api.cases.service import Cases


@dataclass(frozen=True)
class Switched:
    """What one activation did, for the answer and for the holder."""

    index: BoundaryIndex
    roster: Roster
    seen: dict[str, int]
    counts: dict[str, int]
    previous_id: int | None
    leaders_seeded: int


def check_activatable(version: BoundaryVersion) -> None:
    if version.state == store.ACTIVE:
        raise VersionNotActivatable(
            f"boundary version {version.id} is already active",
            allowed="a draft or retired version",
            code="already_active",
        )
    if version.error_count:
        raise VersionNotActivatable(
            f"boundary version {version.id} has {version.error_count} validation error(s)",
            allowed="a version without validation errors: fix the file and import it again "
            "(GET /boundaries/versions/{id} lists them)",
            code="validation_errors",
            errors=version.validation.get("counts", {}).get("error", {}),
        )


def lock_boundaries(session: Session) -> None:
    """Take the activation lock: the first statement of the transaction."""
    try:
        store.bump(session, store.BOUNDARIES)
    except OperationalError as exc:  # SQLite: another writer held the lock past the timeout
        session.rollback()
        if "locked" in str(exc).lower():
            raise ActivationInProgress(
                "another activation or a long write holds the database",
                allowed="try again when it has finished",
            ) from None
        raise


def unit_changes(
    session: Session, boundaries: ActiveBoundaries, previous_id: int | None, raw: BoundaryIndex
) -> tuple[int | None, Changes | None]:
    """The units activating ``raw`` changes against the version ``previous_id``, that
    boundaries.activated lies in (None while no subscription exists: nothing is compared; a
    second at city scale, so made before the lock), with the version compared against."""
    if previous_id is None or not outbox.subscribed(session):
        return previous_id, None
    return previous_id, activation_changes(boundaries.geometry(previous_id).bset, raw.bset)


def switch(
    session: Session,
    cases: Cases,
    raw: BoundaryIndex,
    version_id: int,
    *,
    actor: str,
    role: str,
    now: datetime,
    changes: tuple[int | None, Changes | None] | None = None,
) -> Switched:
    """Everything an activation changes, in the caller's transaction (which holds the lock);
    ``changes``: the units it changes against a version (api.webhooks.boundaries), made
    before the lock."""
    previous = store.active_version(session)
    previous_id = previous.id if previous is not None else None
    holder = cases.boundaries
    unchanged = store.counters(session).get(store.ROSTER) == holder.seen.get(store.ROSTER)
    # the roster in memory is the database's when no one changed it since (a city's is large)
    roster = holder.roster if unchanged else Roster.read(session)
    seeded = seed_from_file(session, roster, raw.bset, version_id=version_id, now=now)
    if seeded:
        store.bump(session, store.ROSTER)
        roster = Roster.read(session)
    index = raw.with_leaders(roster.table())
    counts = cases.reroute(
        session,
        index,
        version_id,
        actor=actor,
        role=role,
        now=now,
        note=f"(activation of boundary version {version_id})",
    )
    store.record_activation(session, version_id, previous_id, actor=actor, now=now, counts=counts)
    if changes is None or changes[0] != previous_id:  # none made, or another version came first
        changes = unit_changes(session, holder, previous_id, raw)
    record_activation(session, version_id, previous_id, counts, now, changes[1])
    session.flush()
    return Switched(
        index=index,
        roster=roster,
        seen=store.counters(session),
        counts=counts,
        previous_id=previous_id,
        leaders_seeded=len(seeded),
    )


def activate_version(
    session: Session,
    boundaries: ActiveBoundaries,
    cases: Cases,
    version_id: int,
    *,
    actor: str,
    role: str,
) -> dict[str, Any]:
    """Activate a version (committed) and answer from it; what moved."""
    started = time.perf_counter()
    check_activatable(store.get_version(session, version_id))
    # seconds at city scale, before the lock: lookups and intake go on meanwhile
    raw = boundaries.geometry(version_id).prepare_snapping()
    active = store.active_version(session)
    changes = unit_changes(session, boundaries, active.id if active else None, raw)
    built = time.perf_counter()
    session.commit()  # the lock must open the next transaction (SQLite: no stale snapshot)
    lock_boundaries(session)
    version = store.get_version(session, version_id)
    session.refresh(version)
    check_activatable(version)  # another activation may have come first
    switched = switch(
        session, cases, raw, version_id, actor=actor, role=role, now=cases.clock(), changes=changes
    )
    session.commit()
    boundaries.adopt(version_id, switched.roster, switched.seen, index=switched.index)
    session.refresh(version)
    return {
        "version": store.version_summary(version, issues=0),
        "previous_version_id": switched.previous_id,
        "cases": switched.counts,
        "leaders_seeded": switched.leaders_seeded,
        "index_seconds": round(built - started, 3),
        "seconds": round(time.perf_counter() - started, 3),
    }
