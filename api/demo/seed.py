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

import numpy as np
from sqlalchemy import func, select

from api.access.keys import create_key
from api.access.policy import Principal, Role
from api.cases.lifecycle import Status
from api.cases.service import Reports
from api.db.models import Report
from api.schemas import ReportIn, TransitionIn
from geo.crs import wgs84_to_gcj02

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
    reports: Reports,
    *,
    count: int = 2500,
    days: float = 28.0,
    seed: int = 20231,
    now: datetime | None = None,
) -> Counter[str]:
    """Post ``count`` demo reports dated over the last ``days`` and move them along.

    Returns the number of cases in each status. Does nothing if reports exist already.
    """
    with reports.db.session() as session:
        if session.scalar(select(func.count()).select_from(Report)):
            return Counter()
        resident_row, _ = create_key(session, Role.REPORTER, name="居民随手拍 (demo)")
        dispatch_row, _ = create_key(session, Role.DISPATCHER, name="区指挥中心 (demo)")
    resident = Principal(resident_row.id, Role.REPORTER, None, resident_row.name)
    centre = Principal(dispatch_row.id, Role.DISPATCHER, None, dispatch_row.name)
    now = now or datetime.now(UTC)
    rng = np.random.default_rng(seed)
    lon, lat = _places(reports, rng, count)
    glon, glat = wgs84_to_gcj02(lon, lat)
    categories = rng.choice(
        list(CATEGORY_SHARES), size=count, p=np.array(list(CATEGORY_SHARES.values()))
    )
    ages_h = np.sort(rng.uniform(0, days * 24, count))[::-1]  # oldest first
    written: list[tuple[int, str, datetime, bool]] = []
    jobs = []
    for i in range(count):
        created = now - timedelta(hours=float(ages_h[i]))
        body = ReportIn(
            lon=float(glon[i]),
            lat=float(glat[i]),
            crs="gcj02",
            category=str(categories[i]),
            description=DESCRIPTIONS[str(categories[i])],
            phone=f"100-{i // 10000:04d}-{i % 10000:04d}",  # fictitious
        )
        jobs.append(reports.prepare(resident, body, [], None, f"demo-{i}", now=created))
        if len(jobs) == 200 or i == count - 1:
            with reports.db.session() as session:
                results = reports.write_intakes(session, jobs)
                session.commit()
            for job, (_, payload, _) in zip(jobs, results, strict=True):
                reports.track_new(job, payload["id"])
                written.append(
                    (
                        payload["id"],
                        job.row["category"],
                        job.row["created_at"],
                        bool(payload["possible_duplicates"]),
                    )
                )
            jobs = []
    for report_id, category, created, has_twin in written:
        _live(reports, centre, resident, rng, report_id, category, created, has_twin, now)
    with reports.db.session() as session:
        return Counter(
            dict(
                session.execute(select(Report.status, func.count()).group_by(Report.status))
                .tuples()
                .all()
            )
        )


def _places(reports: Reports, rng: np.random.Generator, count: int) -> tuple[np.ndarray, ...]:
    """Report locations: 60% around hot spots, the rest spread over the micro-grids."""
    bset = reports.index.bset
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
    reports: Reports,
    centre: Principal,
    resident: Principal,
    rng: np.random.Generator,
    report_id: int,
    category: str,
    created: datetime,
    has_twin: bool,
    now: datetime,
) -> None:
    """Move one case through its life as far as its age allows."""
    with reports.db.session() as session:
        status = session.scalar(select(Report.status).where(Report.id == report_id))
    if status != Status.ASSIGNED.value:
        return  # outside the jurisdiction: stays in the dispatchers' queue
    if has_twin and rng.random() < 0.5:
        with reports.db.session() as session:
            twin = session.scalar(
                select(Report.id)
                .where(Report.category == category, Report.id < report_id)
                .order_by(Report.id.desc())
                .limit(1)
            )
        if twin is not None:
            at = created + timedelta(hours=float(rng.uniform(0.2, 3)))
            if at < now:
                reports.transition(
                    report_id,
                    centre,
                    TransitionIn(to="rejected", duplicate_of=twin, note="重复上报"),
                    at=at,
                )
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
        note = "已处理" if to == "resolved" else ""
        reports.transition(report_id, centre, TransitionIn(to=to, note=note), at=at, view=False)
    at = at + timedelta(hours=float(rng.uniform(1, 30)))
    if at >= now or rng.random() < 0.1:
        return  # not rated yet
    score = int(rng.choice([5, 4, 3, 2, 1], p=[0.55, 0.3, 0.09, 0.04, 0.02]))
    reports.rate(report_id, resident, score, "" if score > 2 else "没有解决", at=at)
    if score > 2:
        return
    # reopened: most get a second, better try
    for to, hours in (("accepted", rng.uniform(0.5, 6)), ("resolved", rng.lognormal(2.2, 0.6))):
        at = at + timedelta(hours=float(hours))
        if at >= now or rng.random() < 0.15:
            return
        reports.transition(
            report_id, centre, TransitionIn(to=to, note="二次处理"), at=at, view=False
        )
    at = at + timedelta(hours=float(rng.uniform(1, 24)))
    if at < now:
        reports.rate(report_id, resident, 4, "", at=at)
