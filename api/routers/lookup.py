"""Point lookup: which units contain a point and who leads them."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Annotated

import numpy as np
import orjson
from fastapi import APIRouter, Body, Depends, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from api.access.auth import allow
from api.access.policy import ALL_ROLES, Principal, sees_leader_phones
from api.deps import BoundariesDep, SettingsDep, VersionsDep
from api.errors import ApiError, error_responses
from api.schemas import BatchResult, CrsName, FeatureCollectionBatch, LookupResult, PointsBatch
from geo.assign import Assignment, BoundaryIndex

router = APIRouter(
    prefix="/lookup",
    tags=["lookup"],
    responses=error_responses(401, 403, (422, "Invalid coordinates, system or request"), 429),
)
Caller = Annotated[Principal, Depends(allow(*ALL_ROLES))]

CRS_QUERY = Query(
    description="Coordinate system of lon/lat: wgs84, gcj02, bd09 or EPSG:<code>",
    examples=["wgs84", "gcj02"],
)


AT_QUERY = Query(
    description="Answer with the boundary version that was active at this time (ISO 8601; "
    "no zone: UTC), and the leaders appointed then; default: now",
    examples=["2026-06-01T08:00:00+08:00"],
)


def _answering(
    boundaries: BoundariesDep, versions: VersionsDep, at: datetime | None
) -> tuple[int, BoundaryIndex]:
    """The version (and its index) a lookup answers with: the active one, or that of ``at``."""
    if at is not None:
        return versions.at(at)
    snapshot = boundaries.current
    return snapshot.version_id, snapshot.index


def _results(
    index: BoundaryIndex,
    result: Assignment,
    ids: list[str | int | None] | None,
    principal: Principal,
    version_id: int,
) -> list[LookupResult]:
    with_phone = sees_leader_phones(principal)
    return [
        LookupResult(
            **index.describe(result, i, with_phone=with_phone),
            lon=float(result.lon[i]),
            lat=float(result.lat[i]),
            id=ids[i] if ids else None,
            boundary_version_id=version_id,
        )
        for i in range(len(result))
    ]


@router.get("", response_model=LookupResult)
async def read_lookup(
    boundaries: BoundariesDep,
    versions: VersionsDep,
    principal: Caller,
    lon: Annotated[float, Query(description="Longitude (or x)", examples=[117.2175])],
    lat: Annotated[float, Query(description="Latitude (or y)", examples=[39.0985])],
    crs: Annotated[CrsName, CRS_QUERY] = "wgs84",
    at: Annotated[datetime | None, AT_QUERY] = None,
) -> Response:
    """The chain of units containing a point, top first, and the responsible leader.

    A point on a shared edge goes to the unit whose code sorts first; a point between
    micro-grids gets the grid (status `gap`); a point just outside the set (within the snap
    tolerance, 50 m by default) gets the nearest unit (status `snapped`).
    """
    # One point takes a fraction of a millisecond, answered on the event loop (a hop to the
    # thread pool and back costs more); an older version's index may have to be built first,
    # which takes seconds: that in a thread.
    if at is None:
        version_id, index = _answering(boundaries, versions, at)
    else:
        version_id, index = await run_in_threadpool(_answering, boundaries, versions, at)
    result = index.assign([lon], [lat], crs=crs)
    answer = index.describe(result, 0, with_phone=sees_leader_phones(principal))
    # the shape of LookupResult (tests validate it), encoded once without a model between
    answer |= {
        "lon": float(result.lon[0]),
        "lat": float(result.lat[0]),
        "id": None,
        "boundary_version_id": version_id,
    }
    return Response(orjson.dumps(answer), media_type="application/json")


BATCH_EXAMPLES = {
    "points": {
        "summary": "[lon, lat] pairs",
        "value": {"crs": "gcj02", "points": [[117.2235, 39.0996], [117.2301, 39.0871]]},
    },
    "geojson": {
        "summary": "A GeoJSON FeatureCollection of points",
        "value": {
            "type": "FeatureCollection",
            "features": [
                {
                    "type": "Feature",
                    "id": "r-1",
                    "geometry": {"type": "Point", "coordinates": [117.2175, 39.0985]},
                    "properties": {},
                }
            ],
        },
    },
}


@router.post(
    "/batch",
    response_model=BatchResult,
    responses=error_responses((413, "Body or batch too large (WANGGE_BATCH_MAX_POINTS)")),
)
def create_lookup_batch(
    boundaries: BoundariesDep,
    versions: VersionsDep,
    principal: Caller,
    settings: SettingsDep,
    body: Annotated[PointsBatch | FeatureCollectionBatch, Body(openapi_examples=BATCH_EXAMPLES)],
    crs: Annotated[CrsName | None, CRS_QUERY] = None,
    at: Annotated[datetime | None, AT_QUERY] = None,
) -> BatchResult:
    """Look up many points at once (at most WANGGE_BATCH_MAX_POINTS, 10,000 by default).

    Either `{"crs": ..., "points": [[lon, lat], ...]}` or a GeoJSON FeatureCollection of
    points (WGS84, as GeoJSON requires, unless `?crs=` says otherwise). If any point is invalid
    the whole batch is refused with the offending indices, so nothing is silently dropped.
    """
    ids: list[str | int | None] | None = None
    if isinstance(body, PointsBatch):
        if crs is not None and crs != body.crs:
            raise ApiError(
                422,
                "conflicting_crs",
                f"body says crs={body.crs!r} but query says {crs!r}",
                allowed="one of them, or both the same",
            )
        system = body.crs
        coords = np.array(body.points, dtype=float).reshape(-1, 2)
    else:
        system = crs or "wgs84"
        coords = np.array([f.geometry.coordinates[:2] for f in body.features], dtype=float).reshape(
            -1, 2
        )
        ids = [f.id for f in body.features]
    if len(coords) > settings.batch_max_points:
        raise ApiError(
            413,
            "batch_too_large",
            f"{len(coords)} points in one batch",
            allowed=f"at most {settings.batch_max_points} points per request",
        )
    version_id, index = _answering(boundaries, versions, at)
    result = index.assign(coords[:, 0], coords[:, 1], crs=system)
    results = _results(index, result, ids, principal, version_id)
    return BatchResult(
        boundary_version_id=version_id,
        count=len(results),
        summary=dict(Counter(result.status.tolist())),
        results=results,
    )
