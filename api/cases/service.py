"""The case service: the state case handling shares (boundaries, catalogue, open-case index,
writer, clock) and its operations. The logic lives in the modules beside this one; every
operation but intake takes the caller's session (intake writes through the group writer).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.access.policy import Principal
from api.cases import intake, transitions
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
from api.db.writer import GroupWriter
from api.settings import Settings
from geo.assign import BoundaryIndex
from geo.live_index import OpenCase, OpenCaseIndex

log = logging.getLogger("wangge")


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class Cases:
    """Case handling over one boundary index and database."""

    settings: Settings
    index: BoundaryIndex
    db: Database
    categories: dict[str, Category] = field(default_factory=dict)
    open_cases: OpenCaseIndex = field(default_factory=OpenCaseIndex)
    #: Batches intake writes into shared commits (None: each report commits alone).
    writer: GroupWriter[intake.Job, Receipt] | None = None
    #: Where the service reads the time (the demo replays past weeks by setting it).
    clock: Callable[[], datetime] = utc_now

    # -- start and stop ---------------------------------------------------------------------

    def load(self) -> None:
        """Read the catalogue, rebuild the open-case index, sweep orphaned photo files and
        bound the decoding of photos to come."""
        bound_decoding(self.settings.max_photo_pixels)
        with self.db.session() as session:
            self.categories = {c.code: c for c in session.scalars(select(Category))}
            for category in self.categories.values():
                session.expunge(category)
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

    def start_writer(self) -> None:
        """Write new reports through one thread in group commits."""
        self.writer = GroupWriter(
            self.db.sessions, lambda session, jobs: intake.write_jobs(self, session, jobs)
        )

    def close(self) -> None:
        """Finish queued writes."""
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
        return intake.submit(self, principal, submission, photos or [], idempotency_key)

    def submit_many(
        self, principal: Principal, submissions: list[tuple[Submission, str | None]]
    ) -> list[Receipt]:
        """Many reports (each with its Idempotency-Key or None) in one transaction."""
        return intake.submit_many(self, principal, submissions)

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
        return transitions.transition(self, session, report_id, principal, change)

    def rate(
        self, session: Session, report_id: int, principal: Principal, score: int, comment: str
    ) -> Report:
        """The reporter rates a resolved case (评单): below the threshold reopens it."""
        return transitions.rate(self, session, report_id, principal, score, comment)
