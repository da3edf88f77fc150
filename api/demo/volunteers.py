"""Demo volunteer services: teams in every street, a few hundred volunteers with generated
names and obviously fictitious phones (100-0000-xxxx, as for the demo cases: no phone number
begins with 100), four weeks of orders moved along their chain through the service's own
operations, and an exchange with daily goods."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from api.access.keys import create_key
from api.access.policy import Principal, Role
from api.db.models import ServiceOrder, VolunteerTeam
from api.versions import ActiveBoundaries
from api.volunteers.candidates import rank_candidates
from api.volunteers.catalogue import DEFAULT_SERVICE_TYPES, sync_service_types
from api.volunteers.errors import InsufficientPoints
from api.volunteers.orders import (
    OrderSpec,
    accept_order,
    complete_order,
    decline_order,
    dispatch_order,
    get_order,
    place_order,
    rate_order,
)
from api.volunteers.points import create_item, redeem
from api.volunteers.teams import TeamSpec, VolunteerSpec, create_team, create_volunteer
from geo.errors import WanggeError

SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何林高罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀英华平刚桂兰霞"
#: The exchange of the points station (积分兑换): name, points, stock.
ITEMS = [("牙膏", 5, 200), ("毛巾", 12, 150), ("洗手液", 8, 150), ("大米 5kg", 30, 60)]
TEAM_KINDS = [
    ("理发志愿队", ["haircut", "knife_sharpening"]),
    ("助老服务队", ["elder_company", "meal_help", "cleaning"]),
    ("便民维修队", ["home_repair", "knife_sharpening"]),
    ("健康法律服务队", ["health_talk", "legal_advice"]),
]
DESCRIPTIONS = {
    "haircut": "老人行动不便，请上门理发",
    "knife_sharpening": "菜刀钝了，想磨一下",
    "home_repair": "水龙头漏水，需要维修",
    "health_talk": "社区想办一次高血压讲座",
    "elder_company": "独居老人，希望有人陪伴聊天",
    "cleaning": "家里需要打扫卫生",
    "legal_advice": "咨询赡养纠纷",
    "meal_help": "需要送餐上门",
}


def _name(rng: np.random.Generator) -> str:
    given = "".join(rng.choice(list(GIVEN), size=int(rng.integers(1, 3))))
    return f"{rng.choice(list(SURNAMES))}{given}"


def seed_volunteers(
    sessions: sessionmaker[Session],
    boundaries: ActiveBoundaries,
    *,
    orders: int = 300,
    days: float = 28.0,
    seed: int = 20231,
    now: datetime | None = None,
) -> Counter[str]:
    """Store the demo teams, volunteers and exchange, and ``orders`` orders over the last
    ``days`` each moved along (most rated, some declined and re-dispatched, the newest still
    open). Returns the orders in each status; does nothing if teams exist already."""
    now = now or datetime.now(UTC)
    rng = np.random.default_rng(seed)
    bset = boundaries.index.bset
    with sessions() as session:
        if session.scalar(select(func.count()).select_from(VolunteerTeam)):
            return Counter()
        sync_service_types(session, list(DEFAULT_SERVICE_TYPES))
        resident_row, _ = create_key(session, Role.REPORTER, name="居民点单 (demo)")
        centre_row, _ = create_key(session, Role.DISPATCHER, name="志愿服务中心 (demo)")
        resident = Principal(resident_row.id, Role.REPORTER, None, resident_row.name)
        centre = Principal(centre_row.id, Role.DISPATCHER, None, centre_row.name)
        streets = bset.level_positions("street") if "street" in bset.levels else np.array([0])
        points = bset.units.geometry.representative_point()
        leads: dict[int, Principal] = {}
        members: dict[int, list[int]] = {}
        start = now - timedelta(days=days + 1)
        for street in streets:
            code = str(bset.codes[street])
            short = str(bset.units["name"].iloc[street])
            for n, (label, services) in enumerate(TEAM_KINDS):
                if n == 3 and rng.random() < 0.5:  # not every street has all four
                    continue
                spec = TeamSpec(
                    name=f"{short}{label}",
                    organisation=f"{short}新时代文明实践站",
                    services=services,
                    capacity_per_day=int(rng.integers(2, 6)),
                    units=[code] if n != 2 else [],
                    # the repair teams serve around their base, across street borders
                    lon=float(points.iloc[street].x) if n == 2 else None,
                    lat=float(points.iloc[street].y) if n == 2 else None,
                    radius_m=1500.0 if n == 2 else None,
                )
                team = create_team(session, bset, spec, start)
                row, _ = create_key(
                    session, Role.TEAM_LEAD, name=f"{team.name}队长", team_id=team.id
                )
                leads[team.id] = Principal(row.id, Role.TEAM_LEAD, None, row.name, team.id)
                members[team.id] = []
                for _ in range(int(rng.integers(4, 9))):
                    phone = f"100-0000-{len(leads) * 10 + len(members[team.id]):04d}"  # fictitious
                    person = VolunteerSpec(_name(rng), team.id, phone, list(services))
                    members[team.id].append(create_volunteer(session, None, person, start).id)
        session.commit()
        items = [create_item(session, n, p, s, start).id for n, p, s in ITEMS]
        leaves = bset.level_positions(bset.levels[-1])
        lx = points.iloc[leaves].x.to_numpy()
        ly = points.iloc[leaves].y.to_numpy()
        kinds = list(DESCRIPTIONS)
        ages_h = np.sort(rng.uniform(2, days * 24, orders))[::-1]
        for i in range(orders):
            kind = str(rng.choice(kinds))
            at = now - timedelta(hours=float(ages_h[i]))
            leaf = int(rng.integers(0, len(leaves)))
            wanted = at + timedelta(hours=float(rng.uniform(4, 48)))
            spec_o = OrderSpec(
                service=kind,
                lon=float(lx[leaf] + rng.normal(0, 0.0005)),
                lat=float(ly[leaf] + rng.normal(0, 0.0005)),
                wanted_from=wanted,
                wanted_until=wanted + timedelta(hours=3),
                description=DESCRIPTIONS[kind],
            )
            try:
                body = place_order(session, boundaries, resident, spec_o, at).body
            except WanggeError:  # a place the service refuses: not this demo's concern
                session.rollback()
                continue
            _live(session, rng, body["id"], centre, resident, leads, members, at, now)
        for people in members.values():  # some points exchanged at the station
            for volunteer in people[:2]:
                try:
                    redeem(session, None, volunteer, int(rng.choice(items)), 1, "积分兑换站", now)
                except InsufficientPoints:
                    session.rollback()
        counts = Counter(str(s) for s in session.scalars(select(ServiceOrder.status)))
    return counts


def _live(
    session: Session,
    rng: np.random.Generator,
    order_id: int,
    centre: Principal,
    resident: Principal,
    leads: dict[int, Principal],
    members: dict[int, list[int]],
    at: datetime,
    now: datetime,
) -> None:
    """Move one order along its chain, as far as its age allows."""
    order = get_order(session, order_id, None)
    for attempt in range(2):
        if order.status != "ordered":
            return  # dispatched automatically
        at += timedelta(minutes=float(rng.uniform(10, 120)))
        if at > now:
            return
        ranked = [c for c in rank_candidates(session, order) if c["free_capacity"] > 0]
        if not ranked:
            return  # waits in the queue: no team reaches it, or none has room
        order = dispatch_order(session, order_id, centre, ranked[0]["team_id"], at)
        lead = leads[ranked[0]["team_id"]]
        at += timedelta(minutes=float(rng.uniform(5, 90)))
        if at > now:
            return
        if attempt == 0 and rng.random() < 0.1:
            order = decline_order(session, order_id, lead, "人手不足，请改派", at)
            continue
        order = accept_order(session, order_id, lead, at)
        break
    else:
        return
    if order.status != "accepted":
        return
    at = max(at, order.wanted_from) + timedelta(hours=float(rng.uniform(1, 3)))
    if at > now:
        return
    team = members[lead.team_id or 0]
    chosen = rng.choice(team, size=min(len(team), int(rng.integers(1, 3))), replace=False)
    hours = [(int(v), float(rng.choice([1.0, 1.5, 2.0, 3.0]))) for v in chosen]
    complete_order(session, order_id, lead, hours, at)
    at += timedelta(hours=float(rng.uniform(1, 24)))
    if at <= now and rng.random() < 0.85:
        stars = int(rng.choice([5, 5, 5, 4, 4, 3, 2]))
        rate_order(session, order_id, resident, stars, "服务很好" if stars >= 4 else "", at)
