"""The dispatcher's density map: read units and cases for a caller, build the page with maps/."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import geopandas as gpd
import pandas as pd
from sqlalchemy import ColumnElement, and_, select

from api.access.policy import Principal, Role
from api.cases.lifecycle import DONE, OPEN, Status
from api.cases.service import Reports
from api.db.models import Report, ReportUnit
from maps import CaseStatus, build_density_map, render_html

#: Roles that see leaders' and cases' details on the map (planners see aggregates only).
DETAIL_ROLES = (Role.DISPATCHER, Role.ADMIN, Role.GRID_WORKER)


@dataclass(frozen=True)
class DensityQuery:
    """What the map shows."""

    level: str
    categories: tuple[str, ...] = ()
    statuses: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None

    def describe(self) -> str:
        parts = []
        if self.categories:
            parts.append("category: " + ", ".join(self.categories))
        if self.statuses:
            parts.append("status: " + ", ".join(self.statuses))
        if self.since:
            parts.append(f"since {self.since:%Y-%m-%d %H:%M}")
        if self.until:
            parts.append(f"until {self.until:%Y-%m-%d %H:%M}")
        return "; ".join(parts) or "all cases"


def density_page(
    reports: Reports,
    query: DensityQuery,
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
    """
    bset = reports.index.bset
    depth = bset.depth_of(query.level)
    units = bset.units.iloc[bset.level_positions(depth)]
    scope = principal.unit_code if principal and principal.role == Role.GRID_WORKER else None
    if scope:
        # a grid worker sees the units of its area only
        inside = (bset.chains[bset.level_positions(depth)] == bset.position(scope)).any(axis=1)
        units = units[inside]
    detail = principal is None or principal.role in DETAIL_ROLES
    if show_phones is None:
        show_phones = principal is not None and principal.role in DETAIL_ROLES
    now = datetime.now(UTC)
    cases = _cases(reports, query, principal, now)
    page = build_density_map(
        gpd.GeoDataFrame(units, geometry="geometry", crs=4326),
        cases,
        level=query.level,
        title=_title(reports, query.level),
        built_at=now,
        statuses=[CaseStatus(s.value, open=s in OPEN) for s in Status],
        categories={code: f"{c.name_zh} {c.name_en}" for code, c in reports.categories.items()},
        filters=query.describe(),
        tiles=tiles,
        tiles_attribution=tiles_attribution,
        show_phones=show_phones,
        case_url=case_url,
        asset_base=asset_base,
        max_markers=5000 if detail else 0,
        display_tz=display_tz,
    )
    return render_html(page, asset_base)


def _title(reports: Reports, level: str) -> str:
    bset = reports.index.bset
    top = bset.units["name"].iloc[bset.level_positions(0)].tolist()
    where = top[0] if len(top) == 1 else f"{len(top)} {bset.levels[0]}s"
    return f"{where} · 案件密度 case density by {level}"


def _cases(
    reports: Reports, query: DensityQuery, principal: Principal | None, now: datetime
) -> gpd.GeoDataFrame:
    """The filtered cases the caller may see, with the unit of the map's level for each."""
    level_unit = (
        select(ReportUnit.report_id, ReportUnit.code)
        .where(ReportUnit.level == query.level)
        .subquery()
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
        statement = reports.scoped(statement, principal)
    conditions: list[ColumnElement[bool]] = []
    if query.categories:
        conditions.append(Report.category.in_(query.categories))
    if query.statuses:
        conditions.append(Report.status.in_(query.statuses))
    if query.since:
        conditions.append(Report.created_at >= query.since)
    if query.until:
        conditions.append(Report.created_at < query.until)
    if conditions:
        statement = statement.where(and_(*conditions))
    with reports.db.session() as session:
        rows = session.execute(statement).all()
    frame = pd.DataFrame(
        rows,
        columns=[
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
        ],
    )
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


def parse_statuses(values: list[str] | None) -> tuple[str, ...]:
    """Check status filters against the lifecycle."""
    from api.errors import ApiError

    known = {s.value for s in Status}
    bad = sorted(set(values or ()) - known)
    if bad:
        raise ApiError(
            422, "unknown_status", f"unknown status {bad}", allowed=", ".join(sorted(known))
        )
    return tuple(values or ())
