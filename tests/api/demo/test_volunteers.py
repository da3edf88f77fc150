"""Demo volunteer services: teams per street, volunteers, orders moved along, an exchange."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from api.db.models import (
    ExchangeItem,
    PointsBalance,
    PointsEntry,
    ServiceOrderEvent,
    Volunteer,
    VolunteerTeam,
)
from api.demo.volunteers import seed_volunteers
from api.services import open_services


@pytest.fixture(scope="module")
def seeded(backend):  # type: ignore[no-untyped-def]
    services = open_services(backend, writer=False, watch=False)
    now = datetime(2026, 11, 24, 8, 0, tzinfo=UTC)
    statuses = seed_volunteers(
        services.db.sessions, services.boundaries, orders=60, seed=3, now=now
    )
    yield services, statuses
    services.close()


def test_orders_move_along_their_chain(seeded):
    services, statuses = seeded
    assert sum(statuses.values()) == 60
    assert statuses["rated"] > 10 and statuses["completed"] + statuses["rated"] > 20
    with services.db.session() as session:
        assert session.scalar(select(func.count()).select_from(VolunteerTeam)) >= 3
        people = list(session.scalars(select(Volunteer)))
        assert all(p.phone and p.phone.startswith("100-0000-") for p in people)
        assert session.scalar(select(func.count()).select_from(ServiceOrderEvent)) > 3 * 60
        # the balances are the ledger's sums, and some points were exchanged
        balances = dict(
            session.execute(select(PointsBalance.volunteer_id, PointsBalance.balance)).all()
        )
        sums = dict(
            session.execute(
                select(PointsEntry.volunteer_id, func.sum(PointsEntry.points)).group_by(
                    PointsEntry.volunteer_id
                )
            ).all()
        )
        assert sums and all(abs(balances[v] - s) < 1e-6 for v, s in sums.items())
        kinds = set(session.scalars(select(PointsEntry.kind)))
        assert kinds == {"credit", "redemption"}
        assert {i.name for i in session.scalars(select(ExchangeItem))} >= {"牙膏", "毛巾", "洗手液"}


def test_seeding_twice_adds_nothing(seeded):
    services, _ = seeded
    assert not seed_volunteers(services.db.sessions, services.boundaries, orders=5)
