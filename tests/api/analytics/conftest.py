"""A planted case set over the Hexi demo: a uniform background, hot grids, recurring places and
one rising trend, posted through the case service's intake at the times they were reported."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient

from api.access.keys import create_key
from api.access.policy import Principal, Role
from api.cases.intake import Submission
from api.cases.transitions import Change
from api.settings import Settings
from tests.api.conftest import auth, make_client

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
CATEGORIES = ("parking", "property", "noise", "rubbish", "leaking_pipe")
#: Background cases per grid per week, over BACKGROUND_WEEKS weeks before NOW.
BACKGROUND_RATE = 0.3
BACKGROUND_WEEKS = 16
#: Planted hot areas: a grid and its neighbours, this many parking cases each in 28 days.
HOT_GRIDS = 4
HOT_CASES = 8
#: Recurring places: (category, reports), each within 20 m of its centre.
PLACES = (("noise", 8), ("leaking_pipe", 6))
M_PER_DEG = 111_000.0


@dataclass
class Planted:
    client: TestClient
    keys: dict[str, str]
    hot_grids: list[str] = field(default_factory=list)
    hot_communities: list[str] = field(default_factory=list)
    rising_grid: str = ""
    rising_community: str = ""
    places: list[tuple[str, int, float, float]] = field(default_factory=list)


def _jitter(rng: np.random.Generator, lon: float, lat: float, metres: float, n: int):
    angle = rng.uniform(0, 2 * math.pi, n)
    radius = metres * np.sqrt(rng.uniform(0, 1, n))
    dlat = radius * np.sin(angle) / M_PER_DEG
    dlon = radius * np.cos(angle) / (M_PER_DEG * math.cos(math.radians(lat)))
    return lon + dlon, lat + dlat


@pytest.fixture(scope="module")
def planted(hexi_gpkg: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Planted]:
    settings = Settings(
        boundaries=str(hexi_gpkg),
        data_dir=tmp_path_factory.mktemp("data-analytics"),
        rate_limit_per_minute=100_000,
    )
    client, keys = make_client(settings)
    client.headers.update(auth(keys["dispatcher"]))
    state = client.app.state  # type: ignore[attr-defined]
    state.analytics.clock = lambda: NOW
    cases = state.cases
    bset = state.boundaries.bset
    rng = np.random.default_rng(14)
    units = bset.units
    grids = bset.level_positions("grid")
    micro = bset.level_positions("microgrid")
    parent = bset.parent_positions
    points = units.geometry.iloc[micro].representative_point()
    mx, my = points.x.to_numpy(), points.y.to_numpy()
    micro_of_grid: dict[int, list[int]] = {}
    for i, pos in enumerate(micro):
        micro_of_grid.setdefault(int(parent[pos]), []).append(i)

    out = Planted(client, keys)
    subs: list[Submission] = []

    def add(i: int, category: str, at: datetime, metres: float = 8.0) -> None:
        x, y = _jitter(rng, float(mx[i]), float(my[i]), metres, 1)
        subs.append(Submission(lon=float(x[0]), lat=float(y[0]), category=category, reported_at=at))

    # hot grids, in distinct communities far apart from each other
    order = rng.permutation(len(grids))
    chosen: list[int] = []
    communities: set[int] = set()
    for k in order:
        g = int(grids[k])
        c = int(parent[g])
        if c in communities:
            continue
        chosen.append(g)
        communities.add(c)
        if len(chosen) == HOT_GRIDS + 1 + len(PLACES):
            break
    hot, rising, place_grids = chosen[:HOT_GRIDS], chosen[HOT_GRIDS], chosen[HOT_GRIDS + 1 :]
    # the uniform background: every grid the same rate, any category (not in the micro-grid
    # of a planted place, so that a place's count is the planted one)
    place_micro = {micro_of_grid[g][0] for g in place_grids}
    n_background = rng.poisson(BACKGROUND_RATE * BACKGROUND_WEEKS, len(grids))
    for g, n in zip(grids, n_background, strict=True):
        choices = [i for i in micro_of_grid[int(g)] if i not in place_micro]
        for _ in range(int(n)):
            i = int(rng.choice(choices))
            at = NOW - timedelta(hours=float(rng.uniform(1, BACKGROUND_WEEKS * 7 * 24)))
            add(i, str(rng.choice(CATEGORIES)), at)
    grid_row = {int(g): k for k, g in enumerate(grids)}
    weights = state.analytics.weights.get(state.boundaries.version_id, bset, "grid")
    for g in hot:
        area = [g, *(int(grids[j]) for j in weights.w.neighbors[grid_row[g]])]
        for member in area:
            for _ in range(HOT_CASES):
                i = int(rng.choice(micro_of_grid[member]))
                add(i, "parking", NOW - timedelta(hours=float(rng.uniform(1, 27 * 24))))
        out.hot_grids.append(str(units["code"].iat[g]))
        out.hot_communities.append(str(units["code"].iat[int(parent[g])]))
    # one rising trend: week k of 12 (oldest first) gets 2k rubbish cases
    for k in range(1, 13):
        start = NOW - timedelta(weeks=13 - k)
        for _ in range(2 * k):
            i = int(rng.choice(micro_of_grid[rising]))
            add(i, "rubbish", start + timedelta(hours=float(rng.uniform(1, 166))))
    out.rising_grid = str(units["code"].iat[rising])
    out.rising_community = str(units["code"].iat[int(parent[rising])])
    # recurring places: reports within 20 m of one point over 60 days
    place_first: list[int] = []
    for (category, n), g in zip(PLACES, place_grids, strict=True):
        i = micro_of_grid[g][0]
        x, y = _jitter(rng, float(mx[i]), float(my[i]), 20.0, n)
        place_first.append(len(subs))
        for j in range(n):
            at = NOW - timedelta(days=60 - 7 * j)
            subs.append(
                Submission(lon=float(x[j]), lat=float(y[j]), category=category, reported_at=at)
            )
        out.places.append((category, n, float(mx[i]), float(my[i])))

    with cases.db.session() as session:
        row, _ = create_key(session, Role.REPORTER, name="planted")
        centre_row, _ = create_key(session, Role.DISPATCHER, name="centre")
    resident = Principal(row.id, Role.REPORTER, None, row.name)
    centre = Principal(centre_row.id, Role.DISPATCHER, None, centre_row.name)
    order_in_time = sorted(range(len(subs)), key=lambda j: subs[j].reported_at)  # type: ignore[arg-type,return-value]
    ids: dict[int, int] = {}
    for start in range(0, len(order_in_time), 500):
        batch = order_in_time[start : start + 500]
        receipts = cases.submit_many(resident, [(subs[j], None) for j in batch])
        for j, receipt in zip(batch, receipts, strict=True):
            ids[j] = int(receipt.body["id"])
    # the first report of each place is fixed and closed a day later: the next ones recur
    clock = cases.clock
    try:
        for first in place_first:
            report_id = ids[first]
            made = subs[first].reported_at
            assert made is not None
            for hours, to in ((2, "accepted"), (24, "resolved"), (30, "closed")):
                cases.clock = lambda at=made + timedelta(hours=hours): at
                with cases.db.session() as session:
                    cases.transition(session, report_id, centre, Change(to=to))
    finally:
        cases.clock = clock
    try:
        yield out
    finally:
        client.__exit__(None, None, None)
