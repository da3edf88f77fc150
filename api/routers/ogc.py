"""OGC API - Features: the landing page, conformance, collections and their items.

Keys as everywhere else (the Authorization header), so desktop GIS connects with one; the
landing page, conformance and API definition hold no data and need none.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from api.access.auth import allow
from api.access.policy import ALL_ROLES, Principal
from api.cases.queries import parse_bbox
from api.deps import CasesDep, IndexDep, SessionDep
from api.standards import ogc
from api.standards.errors import ogc_error, standard_route
from api.standards.levels import levels_of
from api.standards.ogc_openapi import openapi_30

router = APIRouter(prefix="/ogc", tags=["ogc"], route_class=standard_route(ogc_error))
Anyone = Annotated[Principal, Depends(allow(*ALL_ROLES))]
CollectionId = Annotated[
    str, Path(max_length=200, description="A level's name, facilities or reports")
]

DOCUMENT: dict[int | str, dict[str, Any]] = {
    200: {"content": {"application/json": {}}, "description": "The document"},
    401: {"description": "No or invalid key"},
    403: {"description": "Role not allowed for this collection"},
    404: {"description": "No such collection or feature"},
}
FEATURES: dict[int | str, dict[str, Any]] = {
    **DOCUMENT,
    200: {"content": {ogc.GEOJSON: {}}, "description": "GeoJSON"},
    400: {"description": "Invalid parameter"},
}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


def _geojson(text: str) -> Response:
    return Response(text, media_type=ogc.GEOJSON)


@router.get("", response_model=None, responses=DOCUMENT)
def read_landing(request: Request) -> JSONResponse:
    """The landing page: links to the API definition, conformance and the collections."""
    return JSONResponse(ogc.landing(_base(request)))


@router.get("/api", response_model=None, responses=DOCUMENT)
def read_api(request: Request) -> JSONResponse:
    """The OpenAPI 3.0 definition of these routes (the landing page's service-desc)."""
    return JSONResponse(openapi_30(_base(request)), media_type=ogc.OPENAPI_30)


@router.get("/conformance", response_model=None, responses=DOCUMENT)
def read_conformance() -> JSONResponse:
    """Conformance classes: Core, GeoJSON, OpenAPI 3.0."""
    return JSONResponse(ogc.conformance())


@router.get("/collections", response_model=None, responses=DOCUMENT)
def read_collections(request: Request, index: IndexDep, principal: Anyone) -> JSONResponse:
    """The collections this caller may read: each boundary level, facilities, reports."""
    return JSONResponse(ogc.collections(levels_of(index), principal, _base(request)))


@router.get("/collections/{collection_id}", response_model=None, responses=DOCUMENT)
def read_collection(
    request: Request, index: IndexDep, principal: Anyone, collection_id: CollectionId
) -> JSONResponse:
    """One collection: its extent (CRS84) and the link to its items."""
    ogc.check_collection(index.bset, principal, collection_id)
    return JSONResponse(ogc.collection(levels_of(index), collection_id, _base(request)))


@router.get("/collections/{collection_id}/items", response_model=None, responses=FEATURES)
def read_items(
    request: Request,
    index: IndexDep,
    cases: CasesDep,
    session: SessionDep,
    principal: Anyone,
    collection_id: CollectionId,
    limit: Annotated[
        int, Query(ge=1, description=f"Features per page; above {ogc.MAX_LIMIT} served as it")
    ] = ogc.DEFAULT_LIMIT,
    offset: Annotated[int, Query(ge=0, description="Features to skip")] = 0,
    bbox: Annotated[
        str | None, Query(max_length=200, description="minlon,minlat,maxlon,maxlat (CRS84)")
    ] = None,
    when: Annotated[
        str | None,
        Query(max_length=200, alias="datetime", description="reports: instant or start/end"),
    ] = None,
    f: Annotated[Literal["json", "geojson"] | None, Query(description="Format")] = None,
    code: Annotated[str | None, Query(max_length=200, description="units: code equals")] = None,
    name: Annotated[
        str | None, Query(max_length=200, description="units, facilities: name equals")
    ] = None,
    parent: Annotated[
        str | None, Query(max_length=200, description="units: parent code equals")
    ] = None,
    leader_name: Annotated[
        str | None, Query(max_length=200, description="units: leader equals")
    ] = None,
    type: Annotated[str | None, Query(max_length=200, description="facilities: type")] = None,
    status: Annotated[
        str | None, Query(max_length=200, description="reports: Wangge status")
    ] = None,
    category: Annotated[
        str | None, Query(max_length=200, description="reports: category code")
    ] = None,
    unit: Annotated[
        str | None, Query(max_length=200, description="reports: a unit code, and below")
    ] = None,
) -> Response:
    """A page of a collection's features (GeoJSON), filtered, with next/prev links."""
    bset = index.bset
    ogc.check_collection(bset, principal, collection_id)
    given = dict(
        code=code,
        name=name,
        parent=parent,
        leader_name=leader_name,
        type=type,
        status=status,
        category=category,
        unit=unit,
    )
    query = ogc.ItemsQuery(
        limit=limit,
        offset=offset,
        bbox=parse_bbox(bbox) if bbox else None,
        datetime=when,
        filters={k: v for k, v in given.items() if v is not None},
    )
    ogc.check_filters(collection_id, query)

    def page_url(start: int) -> str:
        return str(request.url.include_query_params(offset=start, limit=query.page_size))

    if collection_id == ogc.FACILITIES:
        return _geojson(ogc.facility_items(session, query, page_url))
    if collection_id == ogc.REPORTS:
        return _geojson(ogc.report_items(cases, session, principal, query, page_url))
    return _geojson(ogc.unit_items(levels_of(index), collection_id, principal, query, page_url))


@router.get(
    "/collections/{collection_id}/items/{feature_id}", response_model=None, responses=FEATURES
)
def read_item(
    index: IndexDep,
    cases: CasesDep,
    session: SessionDep,
    principal: Anyone,
    collection_id: CollectionId,
    feature_id: Annotated[
        str, Path(max_length=200, description="A unit's code, a facility's or case's id")
    ],
) -> Response:
    """One feature."""
    ogc.check_collection(index.bset, principal, collection_id)
    if collection_id == ogc.FACILITIES:
        return _geojson(ogc.facility_item(session, feature_id))
    if collection_id == ogc.REPORTS:
        return _geojson(ogc.report_item(cases, session, principal, feature_id))
    return _geojson(ogc.unit_item(levels_of(index), collection_id, principal, feature_id))
