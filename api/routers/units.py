"""Units of the boundary set as GeoJSON: list with filters and pagination, and one by code."""

from __future__ import annotations

from typing import Annotated, Any

import numpy as np
import shapely
from fastapi import APIRouter, Depends, Path, Query

from api.access.auth import allow
from api.access.policy import ALL_ROLES, Principal, Role, sees_leader_phones
from api.deps import CasesDep, IndexDep, SessionDep, VersionsDep
from api.errors import KEYED, error_responses
from api.schemas import (
    MAX_OFFSET,
    Code,
    Leader,
    UnitCollection,
    UnitFeature,
    UnitProperties,
    UnitStats,
)
from geo.units import BoundarySet

router = APIRouter(
    prefix="/units",
    tags=["units"],
    responses=error_responses(*KEYED, (404, "No unit with that code")),
)
Caller = Annotated[Principal, Depends(allow(*ALL_ROLES))]

MAX_LIMIT = 1000
VERSION_QUERY = Query(
    ge=1,
    description="A boundary version id (GET /boundaries/versions): its units, with the "
    "leaders of now; default: the active version",
)


def unit_feature(bset: BoundarySet, pos: int, *, with_phone: bool = True) -> UnitFeature:
    """One unit as a GeoJSON Feature whose id is its code (leader's phone if allowed)."""
    row = bset.units.iloc[pos]
    leader = None
    if any(row[c] is not None for c in ("leader_name", "leader_phone", "leader_id")):
        leader = Leader(
            name=row["leader_name"],
            phone=row["leader_phone"] if with_phone else None,
            id=row["leader_id"],
            unit_code=row["code"],
            level=row["level"],
        )
    geometry: dict[str, Any] = shapely.geometry.mapping(row.geometry)
    return UnitFeature(
        id=row["code"],
        geometry=geometry,
        properties=UnitProperties(
            code=row["code"],
            name=row["name"],
            level=row["level"],
            parent=row["parent"] or None,
            leader=leader,
            children=int(bset.children_count[pos]),
            properties=row["properties"] or {},
        ),
    )


@router.get(
    "",
    response_model=UnitCollection,
    responses=error_responses(
        (404, "No unit with the parent's code, or no such version"),
        (422, "Unknown level or bad paging"),
    ),
)
def read_units(
    index: IndexDep,
    versions: VersionsDep,
    principal: Caller,
    level: Annotated[
        Code | None, Query(description="Only units of this level", examples=["community"])
    ] = None,
    parent: Annotated[Code | None, Query(description="Only the children of this unit code")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size")] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET, description="Units to skip")] = 0,
    version: Annotated[int | None, VERSION_QUERY] = None,
) -> UnitCollection:
    """Units as a GeoJSON FeatureCollection, in set order, with the total matched."""
    bset = (index if version is None else versions.of(version)).bset
    mask = np.ones(len(bset), dtype=bool)
    if level is not None:
        mask &= bset.units["depth"].to_numpy() == bset.depth_of(level)
    if parent is not None:
        mask &= bset.parent_positions == bset.position(parent)
    matched = np.flatnonzero(mask)
    page = matched[offset : offset + limit]
    return UnitCollection(
        numberMatched=int(matched.size),
        numberReturned=int(page.size),
        limit=limit,
        offset=offset,
        features=[
            unit_feature(bset, int(p), with_phone=sees_leader_phones(principal)) for p in page
        ],
    )


@router.get(
    "/{code}",
    response_model=UnitFeature,
    responses=error_responses((404, "No unit (or version) with that code")),
)
def read_unit(
    index: IndexDep,
    versions: VersionsDep,
    principal: Caller,
    code: Annotated[Code, Path(description="Unit code", examples=["120103001"])],
    version: Annotated[int | None, VERSION_QUERY] = None,
) -> UnitFeature:
    """One unit as a GeoJSON Feature: name, level, leader, parent and number of children."""
    bset = (index if version is None else versions.of(version)).bset
    return unit_feature(bset, bset.position(code), with_phone=sees_leader_phones(principal))


@router.get("/{code}/stats", response_model=UnitStats)
def read_unit_stats(
    cases: CasesDep,
    session: SessionDep,
    principal: Annotated[
        Principal, Depends(allow(Role.PLANNER, Role.GRID_WORKER, Role.DISPATCHER, Role.ADMIN))
    ],
    code: Annotated[Code, Path(description="Unit code at any level")],
) -> UnitStats:
    """Cases in a unit and below: counts by status and category, overdue, median hours to
    resolve. No personal data."""
    return UnitStats.model_validate(cases.unit_stats(session, code, principal))
