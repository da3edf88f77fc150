"""The ``Versions`` service: boundary versions and the leader roster, for the API and the CLI.

Operations take the caller's session and commit what they change; the holder of the active
boundaries (api.versions.active) is told at once, and the other servers within a second.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from api.planning.imports import ParsedFile
from api.versions import store
from api.versions.activation import activate_version, lock_boundaries, switch
from api.versions.active import ActiveBoundaries
from api.versions.diff import DEFAULT_LIMIT, diff_version
from api.versions.files import read_version_file, sha256_of
from api.versions.roster import (
    Appointment,
    NewLeader,
    Roster,
    appoint,
    end_appointment,
    read_roster_file,
)
from api.webhooks.boundaries import record_leader_changes
from geo.assign import BoundaryIndex
from geo.units import BoundarySet
from geo.validate import validate_boundary_set

if TYPE_CHECKING:
    from api.cases.service import Cases

log = logging.getLogger("wangge")


@dataclass(frozen=True)
class Actor:
    """Who makes a change, as events and records name them."""

    name: str
    role: str


CLI = Actor("cli", "admin")


@dataclass
class Versions:
    """Boundary versions (import, list, diff, activate) and leaders (appoint, end, history)."""

    boundaries: ActiveBoundaries
    cases: Cases

    @property
    def db(self) -> Any:
        return self.boundaries.db

    # -- versions ---------------------------------------------------------------------------

    def import_file(
        self,
        session: Session,
        path: Path,
        *,
        crs: str | None,
        name: str | None,
        actor: Actor,
        on_progress: Callable[[int], None] | None = None,
    ) -> dict[str, Any]:
        """Read, validate and store a boundary file as a new draft version (committed)."""
        bset = read_version_file(path, crs=crs)
        report = validate_boundary_set(bset)
        version = store.store_version(
            session,
            bset,
            report,
            name=name or path.stem,
            source_name=path.name,
            source_sha256=sha256_of(path),
            imported_by=actor.name,
            now=self.cases.clock(),
            on_progress=on_progress,
        )
        session.commit()
        # the draft is likely to be diffed and activated next: keep its index at hand
        stored = replace(bset, name=f"version {version.id}: {version.name}")
        self.boundaries.keep(
            version.id, BoundaryIndex(stored, snap_tolerance_m=self.boundaries.snap_tolerance_m)
        )
        return store.version_summary(version)

    def seed(self, read: Callable[[], tuple[BoundarySet, list[Path]]]) -> bool:
        """On an empty database, import the configured boundaries (``read()``: the set and its
        files) as version 1 and activate it, whatever its validation says (the service has to
        start); False if there are versions already. Two servers starting at once import it
        once."""
        with self.db.session() as session:
            if store.has_versions(session):
                return False
        bset, paths = read()
        report = validate_boundary_set(bset)
        if not report.ok:
            log.warning(
                "the configured boundaries have %d validation error(s); activating them as "
                "version 1 all the same",
                len(report.errors),
            )
        digest = hashlib.sha256("".join(sha256_of(p) for p in paths).encode()).hexdigest()
        with self.db.session() as session:
            lock_boundaries(session)
            if store.has_versions(session):  # another server seeded it meanwhile
                session.rollback()
                return False
            now = self.cases.clock()
            version = store.store_version(
                session,
                bset,
                report,
                name=paths[0].stem,
                source_name=", ".join(p.name for p in paths),
                source_sha256=sha256_of(paths[0]) if len(paths) == 1 else digest,
                imported_by="configuration (WANGGE_BOUNDARIES)",
                now=now,
            )
            stored = replace(bset, name=f"version {version.id}: {version.name}")
            raw = BoundaryIndex(stored, snap_tolerance_m=self.boundaries.snap_tolerance_m)
            switched = switch(
                session, self.cases, raw, version.id, actor="system", role="system", now=now
            )
            session.commit()
        self.boundaries.keep(version.id, raw)
        self.boundaries.adopt(version.id, switched.roster, switched.seen, index=switched.index)
        log.info("imported the configured boundaries as version %d and activated it", version.id)
        return True

    def list_versions(self, session: Session) -> list[dict[str, Any]]:
        return [store.version_summary(v, issues=0) for v in store.list_versions(session)]

    def get(self, session: Session, version_id: int, *, issues: int = 1000) -> dict[str, Any]:
        return store.version_summary(store.get_version(session, version_id), issues=issues)

    def diff(
        self, session: Session, version_id: int, *, limit: int = DEFAULT_LIMIT
    ) -> dict[str, Any]:
        """What activating the version would change (nothing is written)."""
        return diff_version(session, self.boundaries, version_id, limit=limit)

    def activate(self, session: Session, version_id: int, *, actor: Actor) -> dict[str, Any]:
        """Activate a version: re-route the open cases, answer from it (committed)."""
        return activate_version(
            session, self.boundaries, self.cases, version_id, actor=actor.name, role=actor.role
        )

    def at(self, at: datetime) -> tuple[int, BoundaryIndex]:
        """The version active at a time and its index, led by the leaders of that time."""
        with self.db.session() as session:
            version_id = store.version_at(session, at)
        return version_id, self.boundaries.view(version_id, at=_aware(at))

    def of(self, version_id: int) -> BoundaryIndex:
        """Any stored version's index, led by the leaders of now."""
        with self.db.session() as session:
            store.get_version(session, version_id)
        return self.boundaries.view(version_id)

    # -- leaders ----------------------------------------------------------------------------

    def appoint(self, session: Session, leaders: list[NewLeader], *, actor: Actor) -> list[str]:
        """Appoint leaders (committed); open cases whose responsible leader changes get a
        ``leader_changed`` event. The codes whose leader changed."""
        bset = self.boundaries.bset
        for leader in leaders:
            bset.position(leader.code)  # UnitNotFound for a unit not in the active version
        return self._change_roster(
            session,
            lambda roster, now: appoint(
                session, roster, leaders, actor=actor.name, source="api", now=now
            ),
            actor,
        )

    def end(self, session: Session, code: str, *, actor: Actor) -> None:
        """End a unit's current appointment with no successor (committed)."""
        self.boundaries.bset.position(code)

        def change(roster: Roster, now: datetime) -> list[str]:
            end_appointment(session, roster, code, actor=actor.name, now=now)
            return [code]

        self._change_roster(session, change, actor)

    def history(self, code: str) -> list[Appointment]:
        """Who led a unit, oldest first (any code the roster knows, or of the active version)."""
        found = self.boundaries.roster.history(code)
        if not found:
            self.boundaries.bset.position(code)
        return found

    def read_roster(self, path: Path) -> ParsedFile:
        """A roster file checked row by row against the active version and the roster."""
        return read_roster_file(
            path, self.boundaries.bset, self.boundaries.roster, now=self.cases.clock()
        )

    def import_roster(self, session: Session, parsed: ParsedFile, *, actor: Actor) -> list[str]:
        """Store a checked roster file's rows (all of them, committed)."""
        leaders = [row["leader"] for row in parsed.rows]
        return self._change_roster(
            session,
            lambda roster, now: appoint(
                session,
                roster,
                leaders,
                actor=actor.name,
                source=f"import:{parsed.path.name}",
                now=now,
            ),
            actor,
        )

    def _change_roster(
        self,
        session: Session,
        change: Callable[[Roster, datetime], list[str]],
        actor: Actor,
    ) -> list[str]:
        """Change the roster in one transaction that starts by taking the roster's lock, move
        the open cases to their new leaders, commit, and answer from the new roster."""
        session.commit()  # the lock must open the transaction
        store.bump(session, store.ROSTER)
        now = self.cases.clock()
        codes = change(Roster.read(session), now)
        roster = Roster.read(session)
        active = self.boundaries.current
        record_leader_changes(session, roster, active.index.bset, codes, now)
        index = self.boundaries.geometry(active.version_id).with_leaders(roster.table())
        self.cases.reroute(
            session,
            index,
            active.version_id,
            actor=actor.name,
            role=actor.role,
            now=now,
            keep_units=True,
            in_units=codes,
        )
        seen = store.counters(session)
        session.commit()
        self.boundaries.adopt(active.version_id, roster, seen, index=index)
        return codes


def _aware(at: datetime) -> datetime:
    """A time without a zone is read as UTC."""
    return at if at.tzinfo else at.replace(tzinfo=UTC)
