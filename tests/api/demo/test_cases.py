"""Demo reports: posted through the intake path, spread over weeks, each case moved along."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from api.db.models import Report, ReportEvent
from api.demo.cases import CATEGORY_SHARES, seed_reports
from api.services import open_services


@pytest.fixture(scope="module")
def seeded(backend):
    services = open_services(backend)
    service = services.cases
    now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    statuses = seed_reports(service, count=400, days=21, seed=7, now=now)
    yield service, statuses, now
    services.close()


def test_cases_move_along_their_life(seeded):
    service, statuses, now = seeded
    assert sum(statuses.values()) == 400
    # most old cases are done, the newest still open, some rejected as duplicates
    assert statuses["closed"] > 150
    assert statuses["assigned"] > 0
    assert statuses["rejected"] > 0
    with service.db.session() as session:
        rows = session.execute(
            select(Report.status, Report.due_at, Report.category, Report.created_at)
        ).all()
        events = session.scalar(select(func.count()).select_from(ReportEvent))
    overdue = sum(
        1 for r in rows if r.status in ("assigned", "accepted", "in_progress") and r.due_at < now
    )
    assert overdue > 0
    assert min(r.created_at for r in rows) < now - timedelta(days=14)  # spread over weeks
    assert events > 3 * 400 / 2
    shares = Counter(r.category for r in rows)
    assert shares.most_common(1)[0][0] == "parking"
    assert set(shares) <= set(CATEGORY_SHARES)


def test_seeding_twice_adds_nothing(seeded):
    service, _, now = seeded
    assert seed_reports(service, count=50, now=now) == Counter()


def test_events_carry_the_time_they_happened(seeded):
    service, _, now = seeded
    with service.db.session() as session:
        closed = session.scalars(select(Report).where(Report.status == "closed").limit(20)).all()
        for report in closed:
            times = session.scalars(
                select(ReportEvent.at)
                .where(ReportEvent.report_id == report.id)
                .order_by(ReportEvent.id)
            ).all()
            assert times == sorted(times)
            assert times[0] == report.created_at and times[-1] <= now
