"""The dispatcher's density map: the units and cases a caller may see, built with maps/."""

from __future__ import annotations

from datetime import UTC, datetime

import geopandas as gpd
import pandas as pd
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.access.policy import Principal, Role, sees_case_details, sees_leader_phones
from api.cases.lifecycle import DONE, OPEN, Status
from api.cases.queries import CaseFilter, filtered
from api.cases.service import Cases
from api.cases.visibility import scoped
from api.db.models import Report, ReportUnit
from geo.units import BoundarySet
from maps import CaseStatus, build_density_map, render_html

CASE_COLUMNS = [
    "id",
    "category",
    "status",
    "created_at",
    "due_at",
    "unit_code",
    "leader_name",
    "lon",
    "lat",
    "case_unit",
]


def density_page(
    cases: Cases,
    session: Session,
    level: str,
    where: CaseFilter,
    principal: Principal | None,
    *,
    asset_base: str = "/static/maps",
    tiles: str | None = None,
    tiles_attribution: str | None = None,
    case_url: str = "/reports/{id}",
    show_phones: bool | None = None,
    display_tz: str | None = None,
) -> str:
    """The HTML page of the density map as this caller may see it.

    ``principal`` None is the operator at the command line (everything, phones only if asked).
    A grid worker sees its own area: asked for a level above its unit, the map shows its unit.
    """
    bset = cases.index.bset
    level = _level_for(bset, level, principal)
    depth = bset.depth_of(level)
    units = bset.units.iloc[bset.level_positions(depth)]
    if principal is not None and principal.role == Role.GRID_WORKER and principal.unit_code:
        inside = bset.chains[bset.level_positions(depth)] == bset.position(principal.unit_code)
        units = units[inside.any(axis=1)]
    if show_phones is None:
        show_phones = principal is not None and sees_leader_phones(principal)
    now = datetime.now(UTC)
    frame = _cases(cases, session, level, where, principal, now)
    page = build_density_map(
        gpd.GeoDataFrame(units, geometry="geometry", crs=4326),
        frame,
        level=level,
        title=_title(bset, level),
        built_at=now,
        statuses=[CaseStatus(s.value, open=s in OPEN) for s in Status],
        categories={code: f"{c.name_zh} {c.name_en}" for code, c in cases.categories.items()},
        filters=where.describe(),
        tiles=tiles,
        tiles_attribution=tiles_attribution,
        show_phones=show_phones,
        case_url=case_url,
        asset_base=asset_base,
        max_markers=5000 if sees_case_details(principal) else 0,
        display_tz=display_tz,
    )
    return render_html(page, asset_base)


def _level_for(bset: BoundarySet, level: str, principal: Principal | None) -> str:
    """The level asked for, or a grid worker's own level when the one asked is above it."""
    depth = bset.depth_of(level)  # an unknown level is an error
    if principal is None or principal.role != Role.GRID_WORKER or not principal.unit_code:
        return level
    own = str(bset.units["level"].iat[bset.position(principal.unit_code)])
    return own if bset.depth_of(own) > depth else level


def _title(bset: BoundarySet, level: str) -> str:
    top = bset.units["name"].iloc[bset.level_positions(0)].tolist()
    where = top[0] if len(top) == 1 else f"{len(top)} {bset.levels[0]}s"
    return f"{where} · 案件密度 case density by {level}"


def _cases(
    cases: Cases,
    session: Session,
    level: str,
    where: CaseFilter,
    principal: Principal | None,
    now: datetime,
) -> gpd.GeoDataFrame:
    """The filtered cases the caller may see, with the unit of the map's level for each."""
    level_unit = (
        select(ReportUnit.report_id, ReportUnit.code).where(ReportUnit.level == level).subquery()
    )
    statement = select(
        Report.id,
        Report.category,
        Report.status,
        Report.created_at,
        Report.due_at,
        Report.unit_code,
        Report.leader_name,
        Report.lon,
        Report.lat,
        level_unit.c.code.label("case_unit"),
    ).outerjoin(level_unit, level_unit.c.report_id == Report.id)
    if principal is not None:
        statement = scoped(statement, principal)
    statement = filtered(statement, where, bset=cases.index.bset, dialect=cases.db.dialect)
    frame = pd.DataFrame(session.execute(statement).all(), columns=CASE_COLUMNS)
    done = [s.value for s in DONE]
    if len(frame):
        frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
        frame["due_at"] = pd.to_datetime(frame["due_at"], utc=True)
        frame["overdue"] = ~frame["status"].isin(done) & (frame["due_at"] < pd.Timestamp(now))
    else:
        frame["overdue"] = pd.Series(dtype=bool)
    frame["case_unit"] = frame["case_unit"].astype(object).where(frame["case_unit"].notna(), None)
    geometry = gpd.points_from_xy(frame["lon"].to_numpy(float), frame["lat"].to_numpy(float))
    return gpd.GeoDataFrame(frame.drop(columns=["lon", "lat"]), geometry=geometry, crs=4326)
