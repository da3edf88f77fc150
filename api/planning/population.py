"""The population base table (一张表): residents and residents aged 60+, per unit or per point.

Two tables: per unit code (any level; codes must be in the boundary set when imported; units
must not contain one another) and per point (a building or household, WGS84 with the input
kept). Coverage uses the per-unit table when it has rows, else the points
(``population=units|points`` chooses).

Imports upsert per unit by code (a code's row is replaced, other codes are kept) and append
per point; ``replace`` empties the table(s) the file has rows for first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from api.db.models import PopulationPoint, PopulationUnit
from api.planning.imports import ParsedFile, RowProblem, read_population_file
from api.planning.store import POPULATION, bump_version, delete_rows, insert_rows, now_utc
from geo.units import BoundarySet

#: The population tables coverage can count.
POPULATION_SOURCES = ("units", "points")
#: The columns of a checked row stored in each table (besides source and time).
UNIT_COLUMNS = ("code", "residents", "residents_60")
POINT_COLUMNS = ("lon", "lat", "input_crs", "input_lon", "input_lat", "residents", "residents_60")
#: Codes per DELETE when upserting unit rows (databases limit the parameters of a statement).
CODES_PER_DELETE = 5_000


def read_population_import(
    path: str | Path,
    *,
    session: Session,
    bset: BoundarySet,
    crs: str | None = None,
    replace: bool = False,
) -> ParsedFile:
    """Read a population file (:func:`~api.planning.imports.read_population_file`) and refuse
    unit rows nested in, or around, units with a row: what an import would store."""
    parsed = read_population_file(path, bset=bset, crs=crs)
    stored = [] if replace else stored_unit_codes(session=session)
    check_population_nesting(parsed, bset, stored)
    return parsed


def check_population_nesting(
    parsed: ParsedFile, bset: BoundarySet, stored_codes: Iterable[str]
) -> None:
    """Refuse unit rows whose unit contains, or lies in, another unit with a population row
    (in the file or kept in the table): such residents would be counted twice."""
    rows = [r for r in parsed.rows if r["kind"] == "unit"]
    if not rows:
        return
    line_of = {r["code"]: r["line"] for r in rows}
    present = set(stored_codes) | set(line_of)
    codes = sorted(present)
    positions = bset.positions(codes)
    known = positions >= 0
    code_at = dict(
        zip(positions[known].tolist(), np.array(codes, dtype=object)[known], strict=True)
    )
    chains = bset.chains
    bad: dict[str, str] = {}
    for code, pos in zip(codes, positions.tolist(), strict=True):
        if pos < 0:
            continue
        depth = int(bset.units["depth"].iat[pos])
        for ancestor in chains[pos, :depth].tolist():
            outer = code_at.get(ancestor)
            if outer is None:
                continue
            where = "in this file" if outer in line_of else "already in the table"
            inner_where = "in this file" if code in line_of else "already in the table"
            if code in line_of:
                bad.setdefault(code, f"unit {code!r} lies in unit {outer!r}, whose row is {where}")
            if outer in line_of:
                bad.setdefault(
                    outer, f"unit {outer!r} contains unit {code!r}, whose row is {inner_where}"
                )
    if not bad:
        return
    hint = " (--replace empties the table first)"
    for code, reason in bad.items():
        stored_only = "already in the table" in reason
        parsed.problems.append(RowProblem(line_of[code], reason + (hint if stored_only else "")))
    parsed.rows = [r for r in parsed.rows if r.get("code") not in bad]
    parsed.sort()


def stored_unit_codes(*, session: Session) -> list[str]:
    """The codes of the per-unit table."""
    return list(session.scalars(select(PopulationUnit.code)))


def store_population(
    rows: list[dict[str, Any]],
    *,
    session: Session,
    replace: bool = False,
    source: str = "",
    on_progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Store checked population rows in one transaction: unit rows upserted by code, point rows
    appended; with ``replace`` the table(s) the rows belong to are emptied first. Commits;
    returns counts."""
    units = [r for r in rows if r["kind"] == "unit"]
    points = [r for r in rows if r["kind"] == "point"]
    now = now_utc()
    counts = {"units": len(units), "points": len(points), "units_replaced": 0, "deleted": 0}
    if replace and units:
        counts["deleted"] += delete_rows(delete(PopulationUnit), session=session)
    if replace and points:
        counts["deleted"] += delete_rows(delete(PopulationPoint), session=session)
    if units and not replace:
        codes = [u["code"] for u in units]
        for start in range(0, len(codes), CODES_PER_DELETE):
            chunk = codes[start : start + CODES_PER_DELETE]
            counts["units_replaced"] += delete_rows(
                delete(PopulationUnit).where(PopulationUnit.code.in_(chunk)), session=session
            )
    values = {
        PopulationUnit: [
            {**{c: u[c] for c in UNIT_COLUMNS}, "source": source, "updated_at": now} for u in units
        ],
        PopulationPoint: [
            {**{c: p[c] for c in POINT_COLUMNS}, "source": source, "created_at": now}
            for p in points
        ],
    }
    for model, table_rows in values.items():
        insert_rows(model, table_rows, session=session, on_progress=on_progress)
    bump_version(POPULATION, session=session)
    session.commit()
    return counts


def population_totals(*, session: Session) -> dict[str, int]:
    """Rows and residents in each population table."""
    totals: dict[str, int] = {}
    for key, table in (("unit", PopulationUnit), ("point", PopulationPoint)):
        rows, residents, residents_60 = session.execute(
            select(
                func.count(),
                func.coalesce(func.sum(table.residents), 0),
                func.coalesce(func.sum(table.residents_60), 0),
            )
        ).one()
        totals |= {
            f"{key}_rows": int(rows),
            f"{key}_residents": int(residents),
            f"{key}_residents_60": int(residents_60),
        }
    return totals


def totals_by_kind(rows: Iterable[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Rows, residents and residents aged 60+ of checked rows, per kind ("unit", "point")."""
    totals: dict[str, dict[str, int]] = {}
    for row in rows:
        kind = totals.setdefault(row["kind"], {"rows": 0, "residents": 0, "residents_60": 0})
        kind["rows"] += 1
        kind["residents"] += row["residents"]
        kind["residents_60"] += row["residents_60"]
    return totals


def population_for_coverage(
    *, session: Session, bset: BoundarySet, source: str | None
) -> tuple[str, pd.DataFrame | gpd.GeoDataFrame | None, int]:
    """(The table counted, its rows for :func:`geo.coverage.coverage_by_unit`, per-unit rows
    left out because their code is not in ``bset``).

    ``source`` None counts the per-unit table if it has rows, else the points ("none" if both
    are empty).
    """
    if source is None:
        has_units = session.scalar(select(func.count()).select_from(PopulationUnit)) or 0
        has_points = session.scalar(select(func.count()).select_from(PopulationPoint)) or 0
        source = "units" if has_units or not has_points else "points"
        if not has_units and not has_points:
            return "none", None, 0
    if source == "units":
        rows = session.execute(
            select(PopulationUnit.code, PopulationUnit.residents, PopulationUnit.residents_60)
        ).all()
        frame = pd.DataFrame(rows, columns=["code", "residents", "residents_60"])
        known = bset.positions(frame["code"].to_numpy(dtype=object)) >= 0
        return "units", frame[known].reset_index(drop=True), int((~known).sum())
    located = session.execute(
        select(
            PopulationPoint.lon,
            PopulationPoint.lat,
            PopulationPoint.residents,
            PopulationPoint.residents_60,
        )
    ).all()
    frame = pd.DataFrame(located, columns=["lon", "lat", "residents", "residents_60"])
    points = gpd.GeoDataFrame(
        frame[["residents", "residents_60"]],
        geometry=gpd.points_from_xy(frame["lon"].astype(float), frame["lat"].astype(float)),
        crs=4326,
    )
    return "points", points, 0


def units_without_population(bset: BoundarySet, codes: list[str]) -> int:
    """Units of the deepest level the per-unit table gives population for that have none,
    neither their own nor an ancestor's: new units of a redrawn version, until theirs is
    imported."""
    positions = bset.positions(codes)
    positions = positions[positions >= 0]
    if positions.size == 0:
        return 0
    depth = int(bset.units["depth"].to_numpy()[positions].max())
    has = np.zeros(len(bset), dtype=bool)
    has[positions] = True
    chains = bset.chains[bset.level_positions(depth)][:, : depth + 1]
    counted = np.where(chains >= 0, has[np.maximum(chains, 0)], False).any(axis=1)
    return int((~counted).sum())
