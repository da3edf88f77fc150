"""Planner coverage: service circles, gaps per unit, suggested sites."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Header, Query, Response

from api.access.auth import allow
from api.access.policy import Principal, Role
from api.deps import PlanningDep
from api.errors import error_responses
from api.planning import DEFAULT_FACILITY_TYPE, MINUTES_RANGE, SPEED_RANGE, CoverageParams
from api.schemas import Code, CoverageOut, SuggestIn, SuggestOut
from geo.coverage import DEFAULT_MINUTES

router = APIRouter(
    prefix="/coverage",
    tags=["coverage"],
    responses=error_responses(
        401,
        403,
        (409, "Network mode without a (readable) street network: WANGGE_STREET_NETWORK"),
        (422, "Unknown level or facility type, parameter out of range, bad candidates"),
        429,
    ),
)

Planner = Annotated[Principal, Depends(allow(Role.PLANNER, Role.DISPATCHER, Role.ADMIN))]


# The body is JSON bytes made once per data version (api.planning.payload says why not through
# CoverageOut, and a test holds them to it); CoverageOut documents them here.
@router.get(
    "",
    response_model=None,
    responses={
        200: {"model": CoverageOut, "description": "Summary, units and gaps"},
        304: {"description": "Not modified (If-None-Match matched the ETag)"},
    },
)
def read_coverage(
    service: PlanningDep,
    _: Planner,
    facility_type: Annotated[
        Code, Query(description="A code from GET /facilities/types")
    ] = DEFAULT_FACILITY_TYPE,
    minutes: Annotated[
        float,
        Query(ge=MINUTES_RANGE[0], le=MINUTES_RANGE[1], description="Minutes of walking"),
    ] = DEFAULT_MINUTES,
    speed: Annotated[
        float | None,
        Query(
            ge=SPEED_RANGE[0],
            le=SPEED_RANGE[1],
            description="Walking speed in metres per minute (default 1000/15, about 66.7: "
            "1,000 m in 15 minutes, GB 50180-2018)",
        ),
    ] = None,
    level: Annotated[
        Code | None,
        Query(description="Level of the units table (default community, else the deepest)"),
    ] = None,
    mode: Annotated[
        Literal["circle", "network"],
        Query(description="circle: a disc; network: along the streets (WANGGE_STREET_NETWORK)"),
    ] = "circle",
    population: Annotated[
        Literal["units", "points"] | None,
        Query(description="Population table to count (default: units if it has rows)"),
    ] = None,
    if_none_match: Annotated[str | None, Header(include_in_schema=False)] = None,
) -> Response:
    """Residents aged 60+ inside and outside the service areas of the facilities of a type:
    totals, one row per unit of the level, and the uncovered pieces as GeoJSON (EPSG:4326).

    The service distance is minutes x speed. Answers are cached until the facilities or the
    population change; the ETag lets a map skip a download it already has. No personal data.
    """
    entry = service.coverage(
        CoverageParams.of(facility_type, minutes, speed, level, mode, population)
    )
    headers = {"ETag": entry.etag, "Cache-Control": "private, no-cache"}
    if if_none_match and entry.etag in {tag.strip() for tag in if_none_match.split(",")}:
        return Response(status_code=304, headers=headers)
    return Response(entry.payload, media_type="application/json", headers=headers)


@router.post("/suggest", response_model=SuggestOut, responses=error_responses(413))
def create_coverage_suggestion(service: PlanningDep, _: Planner, body: SuggestIn) -> SuggestOut:
    """Up to k new sites that would cover the most residents aged 60+ now outside every
    service area, picked greedily (maximal covering location problem): each site's gain
    counts only residents no earlier site covers, so gains never increase."""
    answer = service.suggest(
        CoverageParams.of(
            body.facility_type, body.minutes, body.speed, body.level, body.mode, body.population
        ),
        body.k,
        candidates=body.candidates,
        crs=body.crs,
    )
    return SuggestOut.model_validate(answer)
