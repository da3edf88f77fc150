"""The dispatcher's density map: the units and cases a caller may see, built with maps/."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from api.access.policy import (
    SEES_ALL_CASES,
    Principal,
    Role,
    sees_case_details,
    sees_leader_phones,
)
from api.analytics import Analytics
from api.analytics.errors import NoCases, TooFewUnits
from api.cases.lifecycle import OPEN, Status, status_label
from api.cases.queries import CaseFilter, filtered
from api.cases.service import Cases
from api.cases.visibility import area_ids, scoped
from api.db.heat import HeatCell
from api.db.models import HEAT_CELL_M, Report, ReportUnit
from api.standards.levels import levels_of
from api.standards.tiles import tile_set
from geo.units import BoundarySet
from maps import CaseStatus, render_html
from maps.analytics import with_analytics_layers
from maps.density import CaseSummary, build_summary_map
from maps.heat import HeatCells
from maps.i18n import DEFAULT_LANG, Lang, label, level_name
from maps.tiles import TileLevel

#: More units than this in the set and the page draws them from vector tiles (``units="auto"``).
TILES_ABOVE = 20_000


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
    lang: Lang = DEFAULT_LANG,
    tiles_crs: str = "wgs84",
    units_from: str = "auto",
    tile_cache_bytes: int = 64 * 1024 * 1024,
) -> str:
    """The HTML page of the density map as this caller may see it.

    ``principal`` None is the operator at the command line (everything, phones only if asked).
    A grid worker sees its own area: asked for a level above its unit, the map shows its unit.
    ``units_from`` "tiles" draws the units from the vector tiles, level by zoom (no unit
    geometry in the page), "inline" puts them in the page, "auto" chooses tiles when the set
    has more than :data:`TILES_ABOVE` units.
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
    max_markers = 5000 if sees_case_details(principal) else 0
    units = gpd.GeoDataFrame(units, geometry="geometry", crs=4326)
    summary = _aggregates(
        cases,
        session,
        level,
        units["code"].astype(str).tolist(),
        where,
        principal,
        now,
        max_markers=max_markers,
    )
    page = build_summary_map(
        units,
        summary,
        level=level,
        title=_title(bset, level, lang),
        built_at=now,
        statuses=[CaseStatus(s.value, open=s in OPEN, label=status_label(s, lang)) for s in Status],
        categories={
            code: c.name_zh if lang == "zh" else c.name_en for code, c in cases.categories.items()
        },
        filters=caption(where, cases, lang),
        tiles=tiles,
        tiles_attribution=tiles_attribution,
        show_phones=show_phones,
        case_url=case_url,
        asset_base=asset_base,
        heat_cell_m=HEAT_CELL_M,
        max_markers=max_markers,
        display_tz=display_tz,
        lang=lang,
        tiles_crs=tiles_crs,
        unit_tiles=_unit_tiles(cases, session, principal, units_from, tile_cache_bytes, tiles_crs),
    )
    return render_html(page, asset_base)


def with_written_analytics(
    page: str, analytics: Analytics, cases: Cases, session: Session, level: str
) -> str:
    """A written page with the analytics layers the served page asks for (the hot and cold
    units of its level over the last 28 days, the recurring places of the last 90) in it."""
    try:
        hot = analytics.hotspots(session, None, level=level, geometry=True)["units"]
    except (NoCases, TooFewUnits):  # nothing to colour, as on the served page
        hot = []
    places = analytics.recurring(session, None)["places"]
    return with_analytics_layers(
        page,
        level=level,
        units=[u for u in hot if u["class"] != "not_significant"],
        places=[
            {**p, "first": p["first"].isoformat(), "last": p["last"].isoformat()} for p in places
        ],
        categories=[
            {"code": c.code, "name_zh": c.name_zh, "name_en": c.name_en}
            for c in cases.categories.values()
        ],
    )


def caption(where: CaseFilter, cases: Cases, lang: Lang) -> str:
    """The filter in words in the page's language (categories and statuses by their names)."""
    names = label(lang, "filter.list")
    parts = []
    if where.categories:
        known = cases.categories
        shown = [
            (known[c].name_zh if lang == "zh" else known[c].name_en) if c in known else c
            for c in where.categories
        ]
        parts.append(label(lang, "filter.category", names=names.join(shown)))
    if where.statuses:
        statuses = {s.value: status_label(s, lang) for s in Status}
        shown = [statuses.get(s, s) for s in where.statuses]
        parts.append(label(lang, "filter.status", names=names.join(shown)))
    if where.since:
        parts.append(label(lang, "filter.since", time=f"{where.since:%Y-%m-%d %H:%M}"))
    if where.until:
        parts.append(label(lang, "filter.until", time=f"{where.until:%Y-%m-%d %H:%M}"))
    return label(lang, "filter.join").join(parts) or label(lang, "filter.all")


def _level_for(bset: BoundarySet, level: str, principal: Principal | None) -> str:
    """The level asked for, or a grid worker's own level when the one asked is above it."""
    depth = bset.depth_of(level)  # an unknown level is an error
    if principal is None or principal.role != Role.GRID_WORKER or not principal.unit_code:
        return level
    own = str(bset.units["level"].iat[bset.position(principal.unit_code)])
    return own if bset.depth_of(own) > depth else level


def _title(bset: BoundarySet, level: str, lang: Lang) -> str:
    top = bset.units["name"].iloc[bset.level_positions(0)].tolist()
    where = (
        top[0]
        if len(top) == 1
        else label(lang, "density.places", n=len(top), level=level_name(lang, bset.levels[0]))
    )
    return label(lang, "density.title", place=where, level=level_name(lang, level))


def _aggregates(
    cases: Cases,
    session: Session,
    level: str,
    codes: list[str],
    where: CaseFilter,
    principal: Principal | None,
    now: datetime,
    *,
    max_markers: int,
) -> CaseSummary:
    """What the map needs, aggregated in the database: counts per unit (GROUP BY), heat cells
    binned in SQL, open and overdue counts, and at most ``max_markers`` open cases (overdue
    ones first, then the newest). No query returns a row per case, so a million stored cases
    cost a few scans of indexes, not a million Python objects."""
    dialect = cases.db.dialect
    bset = cases.index.bset

    def restricted(statement: Any) -> Any:  # any select of reports, with columns of its own
        if principal is not None:
            statement = scoped(statement, principal)
        return filtered(statement, where, bset=bset, dialect=dialect)

    if dialect == "postgresql":  # short scans: compiling them (JIT) costs more than it saves
        session.execute(text("SET LOCAL jit = off"))
    unfiltered = where == CaseFilter() and (principal is None or principal.role in SEES_ALL_CASES)
    per_unit = select(ReportUnit.code, func.count()).where(ReportUnit.level == level)
    area = area_ids(principal) if principal is not None else None
    if where == CaseFilter() and area is not None:  # a grid worker's area: units alone
        per_unit = per_unit.where(ReportUnit.report_id.in_(area))
    elif not unfiltered:  # reports only when a filter or a scope needs them
        # the reports selected first, then their units: joined the other way round, a million
        # units of the level would each look up their report
        per_unit = per_unit.where(ReportUnit.report_id.in_(restricted(select(Report.id))))
    tally = {str(c): int(n) for c, n in session.execute(per_unit.group_by(ReportUnit.code))}
    counts = np.array([int(tally.get(code, 0)) for code in codes], dtype=np.int64)

    # each report's cell is stored with it (geo.grid); the database keeps the reports per
    # cell (api.db.heat), which is the whole heat layer when nothing is filtered
    if unfiltered:
        heat_query: Any = select(
            HeatCell.lat_sum / HeatCell.cases, HeatCell.lon_sum / HeatCell.cases, HeatCell.cases
        ).where(HeatCell.cases > 0)
    else:
        heat_query = restricted(
            select(func.avg(Report.lat), func.avg(Report.lon), func.count()).select_from(Report)
        ).group_by(Report.heat_y, Report.heat_x)
    heat_rows = session.execute(heat_query).all()
    heat_array = np.array(heat_rows, dtype=float).reshape(-1, 3)
    heat = HeatCells(heat_array[:, 0], heat_array[:, 1], heat_array[:, 2].astype(np.int64))
    total = int(heat.weight.sum())  # every case is in one cell: no second scan for the total

    open_values = [s.value for s in OPEN]
    is_open = Report.status.in_(open_values)
    late = Report.due_at < now
    by_status = restricted(
        select(Report.status, func.count()).select_from(Report).where(is_open)
    ).group_by(Report.status)
    open_by_status = {str(s): int(n) for s, n in session.execute(by_status).all()}
    overdue = int(
        session.scalar(restricted(select(func.count()).select_from(Report).where(is_open, late)))
        or 0
    )
    rows: list[Any] = []
    if max_markers > 0:
        for condition in (late, ~late):
            wanted = max_markers - len(rows)
            if wanted <= 0:
                break
            marker_query = restricted(select(*MARKER_COLUMNS).where(is_open, condition)).order_by(
                Report.created_at.desc(), Report.id.desc()
            )
            rows += session.execute(marker_query.limit(wanted)).all()
    return CaseSummary(
        counts=counts,
        total=total,
        heat=heat,
        markers=_marker_frame(rows, now),
        open_by_status=open_by_status,
        overdue_open=overdue,
    )


MARKER_COLUMNS = (
    Report.id,
    Report.category,
    Report.status,
    Report.created_at,
    Report.due_at,
    Report.unit_code,
    Report.leader_name,
    Report.lon,
    Report.lat,
)


def _marker_frame(rows: list[Any], now: datetime) -> gpd.GeoDataFrame:
    """The open cases that may become markers, as build_summary_map takes them."""
    frame = pd.DataFrame(rows, columns=[c.key for c in MARKER_COLUMNS])
    frame["created_at"] = pd.to_datetime(frame["created_at"], utc=True)
    frame["due_at"] = pd.to_datetime(frame["due_at"], utc=True)
    frame["overdue"] = (frame["due_at"] < pd.Timestamp(now)).astype(bool)
    frame["case_unit"] = None
    geometry = gpd.points_from_xy(frame["lon"].to_numpy(float), frame["lat"].to_numpy(float))
    return gpd.GeoDataFrame(frame.drop(columns=["lon", "lat"]), geometry=geometry, crs=4326)


def _unit_tiles(
    cases: Cases,
    session: Session,
    principal: Principal | None,
    units_from: str,
    cache_bytes: int,
    tiles_crs: str,
) -> list[TileLevel] | None:
    """The levels drawn from tiles, with every unit's count (as the tiles count: the cases the
    caller may see, without the page's filters), or None to put the units in the page."""
    bset = cases.index.bset
    if units_from == "inline" or (units_from == "auto" and len(bset.units) <= TILES_ABOVE):
        return None
    per_unit: Any = select(ReportUnit.level, ReportUnit.code, func.count())
    if principal is not None and principal.role not in SEES_ALL_CASES:
        per_unit = scoped(per_unit.join(Report, Report.id == ReportUnit.report_id), principal)
    tally = {
        (str(lv), str(c)): int(n)
        for lv, c, n in session.execute(per_unit.group_by(ReportUnit.level, ReportUnit.code))
    }
    tiles = tile_set(levels_of(cases.index), cache_bytes)
    query = "?crs=gcj02" if tiles_crs == "gcj02" else ""
    found = []
    for name in bset.levels:
        level = tiles.level(name)
        codes = level.codes
        found.append(
            TileLevel(
                name=name,
                url=f"/tiles/{name}/{{z}}/{{x}}/{{y}}.mvt{query}",
                minzoom=level.minzoom,
                counts=np.array([tally.get((name, c), 0) for c in codes], dtype=np.int64),
                bounds=tuple(float(b) for b in level.level.bounds),  # type: ignore[arg-type]
            )
        )
    return found
