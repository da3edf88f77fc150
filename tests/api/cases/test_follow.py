"""Following the cases written elsewhere: another service on the same database (as another
worker would be) sees new reports as possible duplicates and drops closed ones."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from api.access.keys import create_key
from api.access.policy import Principal, Role
from api.cases.intake import Submission
from api.db.models import Report
from api.services import open_services


@pytest.fixture(scope="module")
def pair(backend):
    here = open_services(backend, watch=False)
    there = open_services(backend, watch=False)
    with here.db.session() as session:
        row, _ = create_key(session, Role.REPORTER, name="follow")
    yield here.cases, there.cases, Principal(row.id, Role.REPORTER, None, row.name)
    here.close()
    there.close()


def test_new_and_closed_reports_made_elsewhere_are_followed(pair):
    here, there, resident = pair
    there.follow_changes()  # up to date before
    receipts = [
        here.submit(resident, Submission(lon=117.2005 + i * 1e-4, lat=39.1005, category="noise"))
        for i in range(3)
    ]
    ids = [r.body["id"] for r in receipts]
    assert not any(i in there.open_cases for i in ids)
    assert there.follow_changes() == 3
    assert all(i in there.open_cases for i in ids)
    # the margin's rows are read again, and skipped: nothing changed, nothing counted
    assert there.follow_changes() == 0
    with here.db.session() as session:
        stamp = session.get(Report, ids[0]).updated_at + timedelta(seconds=1)  # type: ignore[union-attr]
        session.execute(
            update(Report).where(Report.id == ids[0]).values(status="closed", updated_at=stamp)
        )
        session.commit()
    assert there.follow_changes() == 1
    assert ids[0] not in there.open_cases
    assert all(i in there.open_cases for i in ids[1:])
    nearby = there.open_cases.nearby(117.2006, 39.1005, "noise", 500, there.clock() - timedelta(1))
    assert {d.case.id for d in nearby} >= set(ids[1:])


def test_on_sqlite_only_new_and_changed_rows_are_read_again(pair):
    here, there, resident = pair
    there.follow_changes()
    made = [
        here.submit(resident, Submission(lon=117.2105 + i * 1e-4, lat=39.1005, category="noise"))
        for i in range(4)
    ]
    assert there.follow_changes() == 4
    assert there.follow_changes() == 0
    changed = there.rows_followed  # the margin's rows changed since made (an earlier test's)
    one = here.submit(resident, Submission(lon=117.2115, lat=39.1005, category="noise"))
    assert there.follow_changes() == 1
    assert one.body["id"] in there.open_cases
    sqlite = here.db.url.startswith("sqlite")
    if sqlite:  # the one new row, not the margin's other reports again (4 made just now)
        assert there.rows_followed == changed + 1 < 4
    else:  # PostgreSQL's ids come in any order: the whole margin, these 5 reports or more
        assert there.rows_followed >= 5
    first = made[0].body["id"]
    with here.db.session() as session:  # closed elsewhere
        stamp = session.get(Report, first).updated_at + timedelta(seconds=1)  # type: ignore[union-attr]
        session.execute(
            update(Report).where(Report.id == first).values(status="closed", updated_at=stamp)
        )
        session.commit()
    assert there.follow_changes() == 1
    assert first not in there.open_cases
    if sqlite:  # the closed row, read again within the margin, and skipped: nothing new
        assert there.follow_changes() == 0
        assert there.rows_followed == changed + 1
