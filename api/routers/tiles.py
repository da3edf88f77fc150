"""Vector tiles (MVT) of the boundary levels, with case counts for the roles that see them,
and a TileJSON document per level for map clients."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from api.access.auth import allow
from api.access.policy import ALL_ROLES, Principal, sees_case_counts
from api.cases.catalogue import check_categories
from api.cases.queries import CaseFilter, check_statuses
from api.cases.stats import counts_by_unit
from api.deps import CasesDep, IndexDep, SessionDep, SettingsDep
from api.schemas import Code, DateTime, StatusName
from api.standards.errors import ogc_error, standard_route
from api.standards.levels import levels_of
from api.standards.tiles import MEDIA_TYPE, tile_set

router = APIRouter(prefix="/tiles", tags=["tiles"], route_class=standard_route(ogc_error))
Anyone = Annotated[Principal, Depends(allow(*ALL_ROLES))]
Collection = Annotated[
    str, Path(max_length=200, description="A level of the boundary set", examples=["grid"])
]

ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "No or invalid key"},
    404: {"description": "No such level, or a tile outside the matrix or the level's zooms"},
    422: {"description": "Not a tile address"},
}


@router.get("/{collection}.json", response_model=None, responses=ERRORS)
def read_tilejson(
    request: Request,
    index: IndexDep,
    settings: SettingsDep,
    principal: Anyone,
    collection: Collection,
) -> JSONResponse:
    """The TileJSON document of a level: the tile URL template, zooms, bounds, fields."""
    url = f"{str(request.base_url).rstrip('/')}{router.prefix}/{collection}/{{z}}/{{x}}/{{y}}.mvt"
    tiles = tile_set(levels_of(index), settings.tile_cache_bytes)
    return JSONResponse(tiles.tilejson(collection, url, with_counts=sees_case_counts(principal)))


@router.get(
    "/{collection}/{z}/{x}/{y}.mvt",
    response_model=None,
    responses={200: {"content": {MEDIA_TYPE: {}}, "description": "The tile"}, **ERRORS},
)
def read_tile(
    index: IndexDep,
    cases: CasesDep,
    session: SessionDep,
    settings: SettingsDep,
    principal: Anyone,
    collection: Collection,
    z: Annotated[int, Path(description="Zoom")],
    x: Annotated[int, Path(description="Column, from the west")],
    y: Annotated[int, Path(description="Row, from the north")],
    if_none_match: Annotated[str | None, Header(max_length=200, alias="If-None-Match")] = None,
    crs: Annotated[
        Literal["wgs84", "gcj02"],
        Query(description="Coordinates the geometry is drawn in (gcj02: for GCJ-02 base maps)"),
    ] = "wgs84",
    category: Annotated[
        list[Code] | None, Query(description="Count only these categories' cases")
    ] = None,
    status: Annotated[
        list[StatusName] | None, Query(description="Count only cases in these statuses")
    ] = None,
    since: Annotated[DateTime | None, Query(description="Count cases created at or after")] = None,
    until: Annotated[DateTime | None, Query(description="Count cases created before")] = None,
) -> Response:
    """One Web Mercator tile of a level's units (code, name, parent, leader; case counts for
    the roles that see them, of the cases the filters select, as on the density page),
    simplified for its zoom. ETag; 304 when unchanged."""
    tiles = tile_set(levels_of(index), settings.tile_cache_bytes)
    counts = None
    if sees_case_counts(principal):
        where = CaseFilter(
            categories=check_categories(cases.categories, category),
            statuses=check_statuses(status),
            since=since,
            until=until,
        )

        def counts(codes: list[str]) -> dict[str, tuple[int, int]]:
            return counts_by_unit(session, codes, principal, where, index.bset)

    tile = tiles.tile(collection, z, x, y, counts, crs)
    headers = {"ETag": tile.etag, "Cache-Control": "private, no-cache", "Vary": "Authorization"}
    if if_none_match == tile.etag:
        return Response(status_code=304, headers=headers)
    return Response(tile.data, media_type=MEDIA_TYPE, headers=headers)
