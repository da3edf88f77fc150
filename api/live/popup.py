"""What a case's popup on the map offers: the caller's next actions, duplicate candidates
nearby, and units to reassign to."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any, cast

import numpy as np
import pyproj
from sqlalchemy import Select, and_, select
from sqlalchemy.orm import Session

from api.access.policy import Principal
from api.cases.lifecycle import OPEN
from api.cases.visibility import get_visible, scoped
from api.db.models import Category, Report
from api.live.cases import case_query, live_case
from api.live.schemas import CaseActions, NearbyCase, UnitHit
from geo.units import BoundarySet

_GEOD = pyproj.Geod(ellps="WGS84")
#: How far a duplicate may lie, and how many are offered.
NEARBY_M = 300.0
NEARBY_MAX = 10


def case_actions(
    session: Session,
    principal: Principal,
    categories: Mapping[str, Category],
    report_id: int,
    *,
    now: datetime,
) -> CaseActions:
    """The case (CaseNotFound when the caller may not see it) with its next actions and the
    open cases of its category within :data:`NEARBY_M`, nearest first."""
    report = get_visible(session, report_id, principal)
    row = session.execute(case_query().where(Report.id == report.id)).one()
    # a box a little larger than the circle, then the distance on the ellipsoid
    dlat = NEARBY_M / 110_574.0
    dlon = NEARBY_M / (111_320.0 * max(math.cos(math.radians(report.lat)), 0.01))
    near = session.execute(
        scoped(
            cast(
                Select[Any],
                select(Report.id, Report.category, Report.status, Report.lon, Report.lat),
            ).where(
                and_(
                    Report.id != report.id,
                    Report.category == report.category,
                    Report.status.in_([s.value for s in OPEN]),
                    Report.lon.between(report.lon - dlon, report.lon + dlon),
                    Report.lat.between(report.lat - dlat, report.lat + dlat),
                )
            ),
            principal,
        ).limit(500)
    ).all()
    nearby: list[NearbyCase] = []
    if near:
        lons = np.array([r.lon for r in near])
        lats = np.array([r.lat for r in near])
        _, _, dist = _GEOD.inv(
            np.full_like(lons, report.lon), np.full_like(lats, report.lat), lons, lats
        )
        order = np.argsort(dist, kind="stable")
        nearby = [
            NearbyCase(
                id=near[i].id,
                category=near[i].category,
                status=near[i].status,
                distance_m=round(float(dist[i]), 1),
            )
            for i in order
            if dist[i] <= NEARBY_M
        ][:NEARBY_MAX]
    return CaseActions(case=live_case(row, categories, principal, now), nearby=nearby)


def search_units(bset: BoundarySet, text: str, limit: int) -> list[UnitHit]:
    """Units whose code starts with ``text`` or whose name contains it (case-insensitive),
    codes first, then by level from the top."""
    needle = text.strip().lower()
    if not needle:
        return []
    units = bset.units
    codes = units["code"].astype(str)
    names = units["name"].astype(str)
    by_code = codes.str.lower().str.startswith(needle).to_numpy()
    by_name = names.str.lower().str.contains(needle, regex=False).to_numpy()
    rank = np.where(by_code, 0, np.where(by_name, 1, 2))
    hits = np.flatnonzero(rank < 2)
    depth = units["depth"].to_numpy() if "depth" in units else np.zeros(len(units))
    hits = hits[np.lexsort((codes.to_numpy()[hits], depth[hits], rank[hits]))][:limit]
    return [
        UnitHit(code=codes.iat[i], name=names.iat[i], level=str(units["level"].iat[i]))
        for i in hits
    ]
