"""Targeted governance (靶向治理): hot spots, emerging trends, recurring places, targets and
handling performance of the units of the active boundary version."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request

from api.access.auth import allow
from api.access.policy import Principal, Role
from api.analytics import Analytics
from api.analytics.emerging import WEEKS_RANGE
from api.analytics.hotspots import PERMUTATIONS_RANGE
from api.analytics.recurring import DAYS_RANGE, MIN_REPORTS_RANGE, RADIUS_RANGE
from api.analytics.schemas import (
    EmergingOut,
    HotSpotsOut,
    PerformanceOut,
    RecurringOut,
    TargetsOut,
)
from api.analytics.targets import DAYS_RANGE as TARGET_DAYS_RANGE
from api.analytics.targets import TOP_RANGE
from api.deps import SessionDep
from api.errors import KEYED, error_responses
from api.schemas import DateTime

router = APIRouter(
    prefix="/analytics",
    tags=["analytics"],
    responses=error_responses(
        *KEYED[:2],
        (
            422,
            "Unknown level or category, since not before until, a window without cases, "
            "a parameter out of range",
        ),
        429,
    ),
)

Analyst = Annotated[
    Principal, Depends(allow(Role.GRID_WORKER, Role.DISPATCHER, Role.PLANNER, Role.ADMIN))
]


async def get_analytics(request: Request) -> Analytics:
    analytics: Analytics = request.app.state.analytics
    return analytics


AnalyticsDep = Annotated[Analytics, Depends(get_analytics)]

LevelQuery = Annotated[str, Query(min_length=1, max_length=64, description="A level of the set")]
CategoryQuery = Annotated[
    str | None, Query(min_length=1, max_length=64, description="A code from GET /categories")
]
SinceQuery = Annotated[
    DateTime | None, Query(description="Start of the window (default: 28 days before until)")
]
UntilQuery = Annotated[DateTime | None, Query(description="End of the window (default: now)")]


@router.get("/hotspots", response_model=HotSpotsOut, response_model_by_alias=True)
def read_hotspots(
    service: AnalyticsDep,
    session: SessionDep,
    principal: Analyst,
    level: LevelQuery = "grid",
    category: CategoryQuery = None,
    since: SinceQuery = None,
    until: UntilQuery = None,
    permutations: Annotated[int, Query(ge=PERMUTATIONS_RANGE[0], le=PERMUTATIONS_RANGE[1])] = 999,
    geometry: Annotated[bool, Query(description="Add each unit's polygon (GeoJSON)")] = False,
) -> Any:
    """Getis-Ord Gi* of every unit of the level (queen contiguity, permutation p-values), its
    class after a false-discovery-rate correction over all units, and a summary. Grid
    workers get the units of their own area."""
    return service.hotspots(
        session,
        principal,
        level=level,
        category=category,
        since=since,
        until=until,
        permutations=permutations,
        geometry=geometry,
    )


@router.get("/emerging", response_model=EmergingOut, response_model_by_alias=True)
def read_emerging(
    service: AnalyticsDep,
    session: SessionDep,
    principal: Analyst,
    level: LevelQuery = "grid",
    category: CategoryQuery = None,
    weeks: Annotated[int, Query(ge=WEEKS_RANGE[0], le=WEEKS_RANGE[1])] = 12,
    until: UntilQuery = None,
) -> Any:
    """The Emerging Hot Spot class of each unit over weekly windows (new, consecutive,
    intensifying, persistent, diminishing, sporadic, oscillating, historical, no pattern;
    hot or cold) from weekly Gi* and a Mann-Kendall trend test of its z-scores."""
    return service.emerging(
        session, principal, level=level, category=category, weeks=weeks, until=until
    )


@router.get("/recurring", response_model=RecurringOut)
def read_recurring(
    service: AnalyticsDep,
    session: SessionDep,
    principal: Analyst,
    category: CategoryQuery = None,
    days: Annotated[int, Query(ge=DAYS_RANGE[0], le=DAYS_RANGE[1])] = 90,
    radius_m: Annotated[float, Query(ge=RADIUS_RANGE[0], le=RADIUS_RANGE[1])] = 50.0,
    min_reports: Annotated[int, Query(ge=MIN_REPORTS_RANGE[0], le=MIN_REPORTS_RANGE[1])] = 5,
    until: UntilQuery = None,
) -> Any:
    """Places where the same problem keeps being reported: DBSCAN in metres per category,
    with the count, first and last report, units, open cases, median hours to resolve and the
    reports made after an earlier one there was closed."""
    return service.recurring(
        session,
        principal,
        category=category,
        days=days,
        radius_m=radius_m,
        min_reports=min_reports,
        until=until,
    )


@router.get("/targets", response_model=TargetsOut)
def read_targets(
    service: AnalyticsDep,
    session: SessionDep,
    principal: Analyst,
    level: LevelQuery = "community",
    days: Annotated[int, Query(ge=TARGET_DAYS_RANGE[0], le=TARGET_DAYS_RANGE[1])] = 28,
    top: Annotated[int, Query(ge=TOP_RANGE[0], le=TOP_RANGE[1])] = 10,
    until: UntilQuery = None,
) -> Any:
    """The (unit, category) pairs to target first, each with a score and one sentence in
    Chinese and English saying why (reports, rate against the 90 days before, hot-spot class,
    recurring places)."""
    return service.targets(session, principal, level=level, days=days, top=top, until=until)


@router.get("/performance", response_model=PerformanceOut)
def read_performance(
    service: AnalyticsDep,
    session: SessionDep,
    principal: Analyst,
    level: LevelQuery = "grid",
    since: SinceQuery = None,
    until: UntilQuery = None,
    sort: Annotated[
        Literal[
            "received",
            "resolved",
            "on_time_pct",
            "overdue",
            "median_hours_to_accept",
            "median_hours_to_resolve",
            "rating",
            "reopen_rate",
            "escalations",
        ],
        Query(description="The figure to sort by"),
    ] = "received",
    order: Annotated[Literal["asc", "desc"], Query()] = "desc",
) -> Any:
    """Per unit of the level: received, resolved, resolved on time (%), overdue now, median
    hours to accept and to resolve, average rating, reopen rate, escalations, and the unit's
    leader (phones not for planners). Sortable by any of these figures."""
    return service.performance(
        session,
        principal,
        level=level,
        since=since,
        until=until,
        sort=sort,
        descending=order == "desc",
    )
