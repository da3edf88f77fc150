"""Demo cases: a few thousand plausible reports over recent weeks, through the intake path.

Reports cluster around a handful of hot spots (a market street, old housing estates) over a
background spread across the district; categories follow the proportions residents' reports
usually show (parking and property first); phones report GCJ-02 locations. Each case then
lives its life up to now: accepted, resolved, rated and closed, or still open (and some of
those overdue), or rejected as a duplicate.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import func, select

from api.access.keys import create_key
from api.access.policy import Principal, Role
from api.cases.intake import Submission
from api.cases.lifecycle import Status
from api.cases.service import Cases
from api.cases.transitions import Change
from api.db.models import Report
from geo.crs import wgs84_to_gcj02

#: Reports submitted in one transaction.
BATCH = 200
#: Category shares of the demo's reports.
CATEGORY_SHARES = {
    "parking": 0.24,
    "property": 0.18,
    "noise": 0.13,
    "rubbish": 0.12,
    "flying_wires": 0.08,
    "corridor_light": 0.08,
    "leaking_pipe": 0.07,
    "building_repair": 0.06,
    "water_cut": 0.04,
}
DESCRIPTIONS = {
    "parking": "小区门口车辆乱停，堵住消防通道",
    "property": "物业不处理电梯故障",
    "noise": "夜间施工噪音扰民",
    "rubbish": "楼下垃圾堆放多日无人清运",
    "flying_wires": "楼道里电动车飞线充电",
    "corridor_light": "楼道灯坏了，晚上看不见",
    "leaking_pipe": "地下室管道漏水",
    "building_repair": "外墙瓷砖脱落，有安全隐患",
    "water_cut": "整栋楼停水，没有通知",
}


def seed_reports(
    cases: Cases,
    *,
    count: int = 2500,
    days: float = 28.0,
    seed: int = 20231,
    now: datetime | None = None,
) -> Counter[str]:
    """Post ``count`` demo reports dated over the last ``days`` and move them along.

    Returns the number of cases in each status. Does nothing if reports exist already.
    Everything goes through the case service's public operations: reports are submitted with
    the time they were reported, and the service's clock is set to each change's time.
    """
    with cases.db.session() as session:
        if session.scalar(select(func.count()).select_from(Report)):
            return Counter()
        resident_row, _ = create_key(session, Role.REPORTER, name="居民随手拍 (demo)")
        dispatch_row, _ = create_key(session, Role.DISPATCHER, name="区指挥中心 (demo)")
    resident = Principal(resident_row.id, Role.REPORTER, None, resident_row.name)
    centre = Principal(dispatch_row.id, Role.DISPATCHER, None, dispatch_row.name)
    now = now or datetime.now(UTC)
    rng = np.random.default_rng(seed)
    lon, lat = _places(cases, rng, count)
    glon, glat = wgs84_to_gcj02(lon, lat)
    categories = rng.choice(
        list(CATEGORY_SHARES), size=count, p=np.array(list(CATEGORY_SHARES.values()))
    )
    ages_h = np.sort(rng.uniform(0, days * 24, count))[::-1]  # oldest first
    submissions = [
        Submission(
            lon=float(glon[i]),
            lat=float(glat[i]),
            crs="gcj02",
            category=str(categories[i]),
            description=DESCRIPTIONS[str(categories[i])],
            phone=f"100-{i // 10000:04d}-{i % 10000:04d}",  # fictitious
            reported_at=now - timedelta(hours=float(ages_h[i])),
        )
        for i in range(count)
    ]
    clock = cases.clock
    try:
        for start in range(0, count, BATCH):
            batch = submissions[start : start + BATCH]
            receipts = cases.submit_many(resident, [(s, None) for s in batch])
            for submission, receipt in zip(batch, receipts, strict=True):
                assert submission.reported_at is not None
                _live(
                    cases,
                    centre,
                    resident,
                    rng,
                    receipt.body,
                    submission.reported_at,
                    now,
                )
    finally:
        cases.clock = clock
    with cases.db.session() as session:
        return Counter(
            {
                status: number
                for status, number in session.execute(
                    select(Report.status, func.count()).group_by(Report.status)
                )
            }
        )


def _places(cases: Cases, rng: np.random.Generator, count: int) -> tuple[np.ndarray, ...]:
    """Report locations: 60% around hot spots, the rest spread over the micro-grids."""
    bset = cases.index.bset
    leaves = bset.level_positions(bset.levels[-1])
    points = bset.units.geometry.iloc[leaves].representative_point()
    px, py = points.x.to_numpy(), points.y.to_numpy()
    spots = min(12, len(leaves))
    hot = rng.choice(len(leaves), size=spots, replace=False)
    weights = rng.pareto(1.5, size=spots) + 1
    near = rng.random(count) < 0.6
    spot = rng.choice(hot, size=count, p=weights / weights.sum())
    base = np.where(near, spot, rng.integers(0, len(leaves), count))
    spread_m = np.where(near, 150.0, 25.0)
    metres_per_deg_lat = 111_000.0
    dlat = rng.normal(0, 1, count) * spread_m / metres_per_deg_lat
    dlon = (
        rng.normal(0, 1, count)
        * spread_m
        / (metres_per_deg_lat * math.cos(math.radians(float(py.mean()))))
    )
    return px[base] + dlon, py[base] + dlat


def _live(
    cases: Cases,
    centre: Principal,
    resident: Principal,
    rng: np.random.Generator,
    report: dict[str, Any],
    created: datetime,
    now: datetime,
) -> None:
    """Move one case through its life as far as its age allows."""
    if report["status"] != Status.ASSIGNED.value:
        return  # outside the jurisdiction: stays in the dispatchers' queue
    report_id = int(report["id"])

    def move(at: datetime, change: Change) -> None:
        cases.clock = lambda: at
        with cases.db.session() as session:
            cases.transition(session, report_id, centre, change)

    def rate(at: datetime, score: int, comment: str) -> None:
        cases.clock = lambda: at
        with cases.db.session() as session:
            cases.rate(session, report_id, resident, score, comment)

    twins = report["possible_duplicates"] or []
    if twins and rng.random() < 0.5:
        at = created + timedelta(hours=float(rng.uniform(0.2, 3)))
        if at < now:
            move(at, Change(to="rejected", duplicate_of=int(twins[0]["id"]), note="重复上报"))
        return
    steps = [
        ("accepted", rng.uniform(0.3, 8)),
        ("in_progress", rng.uniform(0.2, 4)),
        ("resolved", rng.lognormal(2.5, 0.8)),
    ]
    at = created
    if rng.random() < 0.03:  # a few stall: nobody takes them, they go overdue
        return
    for to, hours in steps:
        at = at + timedelta(hours=float(hours))
        if at >= now:
            return
        move(at, Change(to=to, note="已处理" if to == "resolved" else ""))
    at = at + timedelta(hours=float(rng.uniform(1, 30)))
    if at >= now or rng.random() < 0.1:
        return  # not rated yet
    score = int(rng.choice([5, 4, 3, 2, 1], p=[0.55, 0.3, 0.09, 0.04, 0.02]))
    rate(at, score, "" if score > 2 else "没有解决")
    if score > 2:
        return
    # reopened: most get a second, better try
    for to, hours in (("accepted", rng.uniform(0.5, 6)), ("resolved", rng.lognormal(2.2, 0.6))):
        at = at + timedelta(hours=float(hours))
        if at >= now or rng.random() < 0.15:
            return
        move(at, Change(to=to, note="二次处理"))
    at = at + timedelta(hours=float(rng.uniform(1, 24)))
    if at < now:
        rate(at, 4, "")
