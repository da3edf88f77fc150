"""The open cases' index finds exactly what a scan of every case finds."""

from __future__ import annotations

import math
from datetime import datetime, timedelta

import pyproj
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.live_index import CELL_DEG, OpenCase, OpenCaseIndex

GEOD = pyproj.Geod(ellps="WGS84")
T0 = datetime(2026, 1, 1)
CATEGORIES = ["noise", "parking"]


def scan(cases, lon, lat, category, radius_m, since, exclude=None):
    """Every case tested one by one: the answer the index must give."""
    found = []
    for case in cases.values():
        if case.category != category or case.created_at < since or case.id == exclude:
            continue
        distance = GEOD.inv(lon, lat, case.lon, case.lat)[2]
        if distance <= radius_m:
            found.append((case.id, distance))
    return sorted(found, key=lambda f: (f[1], f[0]))


# cases around a centre, some on cell edges exactly (multiples of the cell side)
offsets = st.one_of(
    st.floats(-0.004, 0.004, allow_nan=False),
    st.integers(-4, 4).map(lambda k: k * CELL_DEG),
)
case_lists = st.lists(
    st.tuples(offsets, offsets, st.sampled_from(CATEGORIES), st.integers(0, 100)),
    max_size=60,
)


@settings(max_examples=150, deadline=None)
@given(
    case_lists,
    st.sampled_from([(117.2, 39.1), (-71.1, 42.37), (0.0, 0.0), (179.999, -60.0)]),
    st.floats(1.0, 600.0),
    st.integers(0, 100),
    st.sets(st.integers(0, 59), max_size=10),
)
def test_nearby_is_a_scan_of_every_case(cases, centre, radius_m, since_h, removed):
    lon0, lat0 = centre
    index = OpenCaseIndex()
    kept = {}
    for i, (dx, dy, category, hours) in enumerate(cases):
        case = OpenCase(i, category, lon0 + dx, lat0 + dy, T0 + timedelta(hours=hours))
        index.add(case)
        kept[i] = case
    for i in removed:
        index.remove(i)
        kept.pop(i, None)
    assert len(index) == len(kept)
    since = T0 + timedelta(hours=since_h)
    for category in CATEGORIES:
        got = index.nearby(lon0, lat0, category, radius_m, since, exclude=3)
        want = scan(kept, lon0, lat0, category, radius_m, since, exclude=3)
        assert [(n.case.id, n.distance_m) for n in got] == want


def test_a_moved_case_is_found_where_it_is_now():
    index = OpenCaseIndex()
    index.add(OpenCase(1, "noise", 117.2, 39.1, T0))
    index.add(OpenCase(1, "noise", 117.3, 39.2, T0))  # the same id, elsewhere: moved
    assert len(index) == 1
    assert index.nearby(117.2, 39.1, "noise", 100, T0) == []
    [near] = index.nearby(117.3, 39.2, "noise", 100, T0)
    assert near.case.id == 1 and math.isclose(near.distance_m, 0.0, abs_tol=1e-6)
    index.remove(1)
    index.remove(1)  # twice: nothing left, no error
    assert len(index) == 0 and index.nearby(117.3, 39.2, "noise", 100, T0) == []


def test_a_search_wider_than_the_cases_visits_them_all():
    """A radius of many kilometres covers more cells than there are cases: it reads the cases
    rather than every empty cell, and still finds each one."""
    index = OpenCaseIndex()
    for i in range(5):
        index.add(OpenCase(i, "noise", 117.2 + i * 0.05, 39.1, T0))
    found = index.nearby(117.2, 39.1, "noise", 30_000, T0)
    assert [n.case.id for n in found] == [0, 1, 2, 3, 4]
