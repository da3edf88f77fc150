"""Map pages (HTML) and the files they need, all served by the service itself (offline)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse

from api.access.auth import authenticate, csrf_for, require_role
from api.access.policy import Principal, Role
from api.cases.catalogue import check_categories
from api.cases.queries import CaseFilter, check_statuses
from api.deps import CasesDep, PlanningDep, SessionDep, SettingsDep
from api.errors import KEYED, ApiError, SignInRequired, error_responses
from api.live import feed_head
from api.pages.coverage import coverage_page
from api.pages.density import density_page
from api.planning import (
    DEFAULT_FACILITY_TYPE,
    MINUTES_RANGE,
    SPEED_RANGE,
    CoverageParams,
)
from api.schemas import Code, DateTime, StatusName
from api.volunteers.coverage import service_reach
from geo.coverage import DEFAULT_MINUTES
from maps import asset_files
from maps.i18n import Lang, negotiate
from maps.live import with_live_panel

router = APIRouter(tags=["maps"])
assets = APIRouter(include_in_schema=False)

ASSET_BASE = "/static/maps"
MAP_ROLES = (Role.DISPATCHER, Role.GRID_WORKER, Role.ADMIN, Role.PLANNER)
COVERAGE_ROLES = (Role.PLANNER, Role.DISPATCHER, Role.ADMIN)


def page_allow(*roles: Role) -> Callable[[Request], Awaitable[Principal]]:
    """Like ``allow(*roles)``, but a browser without a session goes to the sign-in page."""

    async def dependency(request: Request) -> Principal:
        try:
            principal = await authenticate(request)
        except ApiError as exc:
            if exc.status == 401 and "text/html" in request.headers.get("accept", ""):
                query = f"?{request.url.query}" if request.url.query else ""
                raise SignInRequired(request.url.path + query) from None
            raise
        return require_role(principal, roles)

    return dependency


#: ?lang=: the page's language; without it the browser's Accept-Language, else Chinese.
LangQuery = Annotated[
    Literal["zh", "en"] | None,
    Query(description="Language of the page (default: Accept-Language, else zh)"),
]
#: Pages differ by language and hold the caller's data: never cached.
PAGE_HEADERS = {"Cache-Control": "no-store", "Vary": "Accept-Language"}


def page_lang(request: Request, asked: str | None) -> Lang:
    """The language of a page: ?lang=, else the browser's Accept-Language, else Chinese."""
    return negotiate(asked, request.headers.get("accept-language"))


#: A page's answers: the page, a browser sent to sign in, and errors in JSON like the API's.
PAGE_ERRORS: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {"schema": {"type": "string"}}}, "description": "The page"},
    303: {
        "description": "A browser (Accept: text/html) without a session: to /signin?next=...",
        "headers": {"Location": {"schema": {"type": "string"}}},
    },
    **error_responses(
        *KEYED,
        (409, "Network mode without a (readable) street network"),
        html=True,
    ),
}


@router.get("/maps/density", response_class=HTMLResponse, responses=PAGE_ERRORS)
def read_density_map(
    request: Request,
    cases: CasesDep,
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, Depends(page_allow(*MAP_ROLES))],
    level: Annotated[
        Code, Query(description="Level of the choropleth", examples=["community", "grid"])
    ] = "grid",
    category: Annotated[list[Code] | None, Query(description="Only these categories")] = None,
    status: Annotated[list[StatusName] | None, Query(description="Only these statuses")] = None,
    since: Annotated[DateTime | None, Query(description="Created at or after")] = None,
    until: Annotated[DateTime | None, Query(description="Created before")] = None,
    lang: LangQuery = None,
    units: Annotated[
        Literal["auto", "tiles", "inline"],
        Query(description="Units from vector tiles, in the page, or tiles for large sets"),
    ] = "auto",
) -> HTMLResponse:
    """The dispatcher's map (一张图): cases per unit, a heat layer, open cases with overdue ones
    marked, and who leads each unit. Works with no internet: every file comes from here.
    Browsers sign in at /signin; API clients send their key as usual."""
    where = CaseFilter(
        categories=check_categories(cases.categories, category),
        statuses=check_statuses(status),
        since=since,
        until=until,
    )
    cursor = feed_head(session)  # before the page's data: the stream resumes from here
    html = density_page(
        cases,
        session,
        level,
        where,
        principal,
        asset_base=ASSET_BASE,
        tiles=settings.tiles_url,
        tiles_attribution=settings.tiles_attribution,
        display_tz=settings.display_tz,
        lang=page_lang(request, lang),
        tiles_crs=settings.tiles_crs,
        units_from=units,
        tile_cache_bytes=settings.tile_cache_bytes,
    )
    html = with_live_panel(
        html,
        csrf_token=csrf_for(request),
        cursor=cursor,
        asset_base=ASSET_BASE,
        # hot spots of the page's own level, if it has units enough (Gi* needs neighbours)
        analytics=level if len(cases.index.bset.level_positions(level)) >= 3 else None,
    )
    return HTMLResponse(html, headers=PAGE_HEADERS)


@router.get("/maps/coverage", response_class=HTMLResponse, responses=PAGE_ERRORS)
def read_coverage_map(
    request: Request,
    planning: PlanningDep,
    settings: SettingsDep,
    session: SessionDep,
    _: Annotated[Principal, Depends(page_allow(*COVERAGE_ROLES))],
    facility_type: Annotated[Code, Query(description="A code from GET /facilities/types")] = (
        DEFAULT_FACILITY_TYPE
    ),
    minutes: Annotated[
        float, Query(ge=MINUTES_RANGE[0], le=MINUTES_RANGE[1], description="Minutes of walking")
    ] = DEFAULT_MINUTES,
    speed: Annotated[
        float | None,
        Query(ge=SPEED_RANGE[0], le=SPEED_RANGE[1], description="Metres per minute"),
    ] = None,
    level: Annotated[Code | None, Query(description="Level of the units (default community)")] = (
        None
    ),
    mode: Annotated[Literal["circle", "network"], Query()] = "circle",
    sites: Annotated[int, Query(ge=0, le=10, description="Suggested new sites to show")] = 3,
    service: Annotated[
        Code | None,
        Query(description="A volunteer service type: add its teams' reach and the units without"),
    ] = None,
    lang: LangQuery = None,
) -> HTMLResponse:
    """The planners' map: units shaded by residents aged 60+ outside every service circle,
    the facilities and their circles (or isochrones), the gaps, and suggested new sites."""
    params = CoverageParams.of(facility_type, minutes, speed, level, mode)
    reach = None
    if service is not None:
        now = datetime.now(UTC)

        def reach(unit_level: str) -> dict[str, Any]:
            return service_reach(session, planning.bset, service, unit_level, now)

    html = coverage_page(
        planning,
        params,
        sites=sites,
        asset_base=ASSET_BASE,
        tiles=settings.tiles_url,
        tiles_attribution=settings.tiles_attribution,
        display_tz=settings.display_tz,
        volunteer_reach=reach,
        lang=page_lang(request, lang),
        tiles_crs=settings.tiles_crs,
    )
    return HTMLResponse(html, headers=PAGE_HEADERS)


@lru_cache(maxsize=1)
def _files() -> dict[str, Path]:
    return asset_files()


@assets.get(ASSET_BASE + "/{path:path}")
def read_map_asset(path: str) -> FileResponse:
    """A script, stylesheet, font or image of the map pages (public: no data in them)."""
    local = _files().get(path)
    if local is None:
        raise ApiError(
            404, "not_found", f"no map asset {path!r}", allowed="files referenced by the map pages"
        )
    return FileResponse(local, headers={"Cache-Control": "public, max-age=86400"})
