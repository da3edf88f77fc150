"""The case service: the state case handling shares (boundaries, catalogue, open-case index,
writer, clock) and its operations. The logic lives in the modules beside this one; every
operation but intake takes the caller's session (intake writes through the group writer).

The boundaries are the active version (``api.versions.active.ActiveBoundaries``), read once
per operation: a version activated meanwhile is seen by the next one.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import String, and_, cast, func, or_, select
from sqlalchemy.orm import Session

from api.access.policy import Principal
from api.cases import intake, reroute, transitions
from api.cases.intake import Receipt, Submission
from api.cases.lifecycle import OPEN
from api.cases.photos import CleanPhoto, bound_decoding
from api.cases.queries import CaseFilter, page_of_reports
from api.cases.stats import unit_stats
from api.cases.transitions import Change
from api.cases.views import stored_view
from api.cases.visibility import get_visible
from api.db import Database
from api.db.models import Category, Report
from api.db.writer import BatchWrite, GroupWriter, InChild, InThread, LoopFed
from api.periodic import every
from api.settings import Settings
from geo.assign import BoundaryIndex
from geo.live_index import OpenCase, OpenCaseIndex

if TYPE_CHECKING:
    from api.versions.active import ActiveBoundaries

log = logging.getLogger("wangge")


#: How often each server reads the cases changed elsewhere, and how far back it reads again
#: (a report is stamped when it is prepared and committed a little later, possibly after
#: another worker's report stamped later: the margin covers that wait many times over).
FOLLOW_INTERVAL_S = 0.5
FOLLOW_MARGIN = timedelta(seconds=5)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Cases:
    """Case handling over the active boundaries and one database."""

    settings: Settings
    boundaries: ActiveBoundaries
    db: Database
    categories: dict[str, Category] = field(default_factory=dict)
    open_cases: OpenCaseIndex = field(default_factory=OpenCaseIndex)
    #: Batches intake writes into shared commits (None: each report commits alone).
    writer: (
        GroupWriter[intake.Job | intake.Wire, Receipt]
        | LoopFed[intake.Job | intake.Wire, Receipt]
        | None
    ) = None
    #: Where the service reads the time (the demo replays past weeks by setting it).
    clock: Callable[[], datetime] = utc_now
    #: The newest ``updated_at`` read by :meth:`follow_changes` (None: nothing read yet).
    seen_until: datetime | None = None
    #: The id and stored stamp of each report read by the last follow_changes.
    _seen_stamps: dict[int, str] = field(default_factory=dict)
    #: The highest report id :meth:`follow_changes` has read (None: none yet).
    _newest_id: int | None = None
    #: How many rows the last :meth:`follow_changes` read.
    rows_followed: int = 0
    _following: threading.Event | None = None

    @property
    def index(self) -> BoundaryIndex:
        """The active version's index (leaders of the roster now)."""
        return self.boundaries.index

    # -- start and stop ---------------------------------------------------------------------

    def load(self) -> None:
        """Read the catalogue, rebuild the open-case index, sweep orphaned photo files and
        bound the decoding of photos to come."""
        bound_decoding(self.settings.max_photo_pixels)
        with self.db.session() as session:
            self.categories = {c.code: c for c in session.scalars(select(Category))}
            for category in self.categories.values():
                session.expunge(category)
            self.seen_until = session.scalar(select(func.max(Report.updated_at)))
            rows = session.execute(
                select(Report.id, Report.category, Report.lon, Report.lat, Report.created_at).where(
                    Report.status.in_([s.value for s in OPEN])
                )
            )
            for row in rows:
                self.open_cases.add(
                    OpenCase(row.id, row.category, row.lon, row.lat, row.created_at)
                )
            intake.sweep_orphan_photos(session, self.settings.media)

    def start_writer(self, where: Literal["thread", "process"] = "thread") -> None:
        """Write new reports in group commits: in a thread, or (with ``process``) in a child
        process (api.db.writer.InChild) fed by the running event loop (LoopFed), or by a
        thread where no loop runs. A database in memory is written in the thread: a child
        could not see it."""
        url = self.db.url
        if where == "process" and not url.endswith(":memory:") and url != "sqlite://":
            child = InChild(url, "api.cases.intake:write_drafts")
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no event loop here (a script, a test): a thread feeds it
                write: BatchWrite = child
            else:  # a server: its event loop feeds the child, no thread in between
                self.writer = LoopFed(child, loop)
                return
        else:
            write = InThread(
                self.db.sessions,
                intake.write_jobs,
                turn=self.db.writers_turn,
                between=self.db.checkpoint_between_writes,
            )
        self.writer = GroupWriter(write)

    def follow_changes(self) -> int:
        """Bring the open-case index up to date with reports made or changed elsewhere (by
        another worker, another server, the command line): those whose ``updated_at`` is past
        the newest seen, less a margin for transactions that commit after others stamped
        later. Returns how many rows changed since the last call.

        A call reads the margin's rows again (at 1,000 reports a second, thousands), so it
        reads only their id, status and stamp as stored (no datetimes parsed), skips the rows
        whose stamp it saw last time, and reads the places of only the new open ones. On
        SQLite it reads far fewer: one writer commits at a time and a row's id is given inside
        its write transaction, so ids grow in commit order and the new rows are those past the
        newest id seen, each read once; of the margin it reads again only the rows changed
        since they were made (closed, or stamped later). On PostgreSQL ids are drawn before
        their commits, in any order, so the whole margin is read."""
        since = self.seen_until
        stamp = cast(Report.updated_at, String)
        statement = select(Report.id, Report.status, stamp)
        open_values = {s.value for s in OPEN}
        if since is not None:
            recent = Report.updated_at >= since - FOLLOW_MARGIN
            if self._newest_id is not None and self.db.url.startswith("sqlite"):
                changed_since_made = or_(
                    Report.status.not_in(open_values), Report.updated_at > Report.created_at
                )
                recent = or_(Report.id > self._newest_id, and_(recent, changed_since_made))
            statement = statement.where(recent)
        seen = self._seen_stamps
        now_seen: dict[int, str] = {}
        wanted: list[int] = []
        changed = 0
        with self.db.engine.connect() as connection:
            for report_id, status, stamped in connection.execute(statement):
                now_seen[report_id] = stamped
                if seen.get(report_id) == stamped:
                    continue
                changed += 1
                if status not in open_values:
                    self.open_cases.remove(report_id)
                elif report_id not in self.open_cases:
                    wanted.append(report_id)
            for start in range(0, len(wanted), 500):
                places = select(
                    Report.id, Report.category, Report.lon, Report.lat, Report.created_at
                ).where(Report.id.in_(wanted[start : start + 500]))
                for row in connection.execute(places):
                    self.open_cases.add(
                        OpenCase(row.id, row.category, row.lon, row.lat, row.created_at)
                    )
            if now_seen:  # the newest stamp (parsed once): of these rows, or of one since
                self.seen_until = connection.scalar(select(func.max(Report.updated_at)))
                self._newest_id = max(self._newest_id or 0, max(now_seen))
        self._seen_stamps = now_seen
        self.rows_followed = len(now_seen)
        return changed

    def follow(self, interval_s: float = FOLLOW_INTERVAL_S) -> None:
        """Follow changes to the cases made elsewhere every ``interval_s``, in a thread: a
        report made through any worker is a possible duplicate on every other within that."""
        if self._following is not None:
            return
        self._following = every(
            interval_s,
            self.follow_changes,
            name="wangge-follow-cases",
            failed="could not follow the cases' changes",
        )

    def close(self) -> None:
        """Stop following changes; finish queued writes."""
        if self._following is not None:
            self._following.set()
            self._following = None
        if self.writer is not None:
            self.writer.close()
            self.writer = None

    # -- intake -----------------------------------------------------------------------------

    def submit(
        self,
        principal: Principal,
        submission: Submission,
        photos: list[CleanPhoto] | None = None,
        idempotency_key: str | None = None,
    ) -> Receipt:
        """Assign, store and acknowledge a report, committed before this returns."""
        receipt = intake.submit(self, principal, submission, photos or [], idempotency_key)
        self._settle_version(receipt.body.get("assignment", {}).get("boundary_version_id"))
        return receipt

    async def submit_async(
        self, principal: Principal, submission: Submission, idempotency_key: str | None = None
    ) -> Receipt:
        """``submit`` for a report without photos, awaited on the event loop."""
        receipt = await intake.submit_async(self, principal, submission, idempotency_key)
        version_id = receipt.body.get("assignment", {}).get("boundary_version_id")
        if version_id is not None and version_id != self.boundaries.version_id:
            await asyncio.to_thread(self._settle_version, version_id)
        return receipt

    def submit_many(
        self, principal: Principal, submissions: list[tuple[Submission, str | None]]
    ) -> list[Receipt]:
        """Many reports (each with its Idempotency-Key or None) in one transaction."""
        receipts = intake.submit_many(self, principal, submissions)
        versions = {r.body.get("assignment", {}).get("boundary_version_id") for r in receipts}
        for version_id in versions:
            if self._settle_version(version_id):
                break  # one catch-up places every stale case
        return receipts

    # -- following the boundaries and the leaders -------------------------------------------

    def reroute(
        self,
        session: Session,
        index: BoundaryIndex,
        version_id: int,
        *,
        actor: str,
        role: str,
        now: datetime,
        keep_units: bool = False,
        in_units: list[str] | None = None,
        note: str = "",
    ) -> dict[str, int]:
        """Place the open cases again under ``index`` with their events, in the caller's
        transaction (see api.cases.reroute); the counts moved, unchanged, unassigned..."""
        cases = reroute.read_open_cases(
            session,
            not_in_version=None if keep_units else version_id,
            in_units=in_units,
            lock=True,
        )
        plan = reroute.plan_reroute(cases, index, version_id, keep_units=keep_units)
        return reroute.apply_reroute(session, plan, actor=actor, role=role, now=now, note=note)

    def catch_up(self) -> dict[str, int]:
        """Place again the open cases still assigned under another version than the active
        one: cases written while a version was being activated (here or by another server)."""
        active = self.boundaries.current
        with self.db.session() as session:
            counts = self.reroute(
                session,
                active.index,
                active.version_id,
                actor=transitions.SYSTEM,
                role=transitions.SYSTEM,
                now=self.clock(),
                note="(assigned meanwhile under an older version)",
            )
            session.commit()
        if counts["open"]:
            log.info("placed %d case(s) again under version %d", counts["open"], active.version_id)
        return counts

    def _settle_version(self, version_id: int | None) -> bool:
        """A case assigned under a version that is no longer active (it was activated while
        the case was being written) is placed again at once; whether that was needed."""
        if version_id is None or version_id == self.boundaries.version_id:
            return False
        self.catch_up()
        return True

    # -- reading ----------------------------------------------------------------------------

    def get(self, session: Session, report_id: int, principal: Principal) -> Report:
        """A case the caller may see (CaseNotFound otherwise)."""
        return get_visible(session, report_id, principal)

    def view(
        self, session: Session, report: Report, principal: Principal, *, now: datetime | None = None
    ) -> dict[str, Any]:
        """A stored case as the caller may see it (the shape of ReportOut)."""
        return stored_view(session, self.index, report, principal, now=now)

    def page(
        self,
        session: Session,
        principal: Principal,
        where: CaseFilter,
        *,
        limit: int,
        offset: int,
        now: datetime | None = None,
    ) -> tuple[int, list[Report]]:
        """The total and one page of the cases the caller may see, newest first."""
        return page_of_reports(
            session,
            principal,
            where,
            bset=self.index.bset,
            dialect=self.db.dialect,
            limit=limit,
            offset=offset,
            now=now,
        )

    def unit_stats(self, session: Session, code: str, principal: Principal) -> dict[str, Any]:
        return unit_stats(session, self.index.bset, code, principal)

    # -- lifecycle --------------------------------------------------------------------------

    def transition(
        self, session: Session, report_id: int, principal: Principal, change: Change
    ) -> Report:
        """Move a case to another state (committed), if the lifecycle and the role allow it."""
        report = transitions.transition(self, session, report_id, principal, change)
        if report.status in {s.value for s in OPEN} and self._settle_version(
            report.boundary_version_id
        ):
            session.refresh(report)
        return report

    def rate(
        self, session: Session, report_id: int, principal: Principal, score: int, comment: str
    ) -> Report:
        """The reporter rates a resolved case (评单): below the threshold reopens it."""
        return transitions.rate(self, session, report_id, principal, score, comment)
