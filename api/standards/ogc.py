"""OGC API - Features (Part 1: Core, GeoJSON, OpenAPI 3.0) over Wangge's data.

Collections: one per boundary level of the active version (id = the level's name), then
``facilities`` (for the roles that read GET /facilities) and ``reports`` (for the roles that
read GET /reports, each seeing the cases and personal data it sees there). Coordinates are
CRS84 (WGS84 longitude, latitude), as Wangge holds them. Items are GeoJSON with
``numberMatched``, ``numberReturned`` and ``self``/``next``/``prev`` links; ``limit`` above
:data:`MAX_LIMIT` is served as :data:`MAX_LIMIT`, as the standard says.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import shapely
from sqlalchemy.orm import Session

from api.access.errors import Forbidden
from api.access.policy import Principal, Role, sees_leader_phones
from api.cases.catalogue import check_categories
from api.cases.errors import CaseNotFound
from api.cases.queries import CaseFilter, check_statuses
from api.cases.service import Cases
from api.cases.views import jsonable
from api.planning import facilities
from api.standards.errors import FeatureNotFound, InvalidStandardRequest, UnknownCollection
from api.standards.levels import Levels
from geo.units import BoundarySet

CONFORMANCE = [
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/oas30",
]
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
GEOJSON = "application/geo+json"
OPENAPI_30 = "application/vnd.oai.openapi+json;version=3.0"
DEFAULT_LIMIT = 100
#: The most features one page holds (a larger limit is served as this).
MAX_LIMIT = 10_000
FACILITIES, REPORTS = "facilities", "reports"
#: Who reads the two non-boundary collections: as GET /facilities and GET /reports.
FACILITY_READERS = (Role.PLANNER, Role.DISPATCHER, Role.ADMIN)
CASE_READERS = (Role.REPORTER, Role.GRID_WORKER, Role.DISPATCHER, Role.ADMIN)
#: The simple properties each kind of collection can be filtered on (``?parent=G1``).
UNIT_FILTERS = ("code", "name", "parent", "leader_name")
FACILITY_FILTERS = ("type", "name")
REPORT_FILTERS = ("status", "category", "unit")
FILTERS = tuple(dict.fromkeys((*UNIT_FILTERS, *FACILITY_FILTERS, *REPORT_FILTERS)))
#: Makes the URL of the page starting at an offset (the request's own, offset replaced).
PageUrl = Callable[[int], str]


@dataclass(frozen=True)
class ItemsQuery:
    """The parameters of an items request, checked."""

    limit: int = DEFAULT_LIMIT
    offset: int = 0
    bbox: tuple[float, float, float, float] | None = None
    datetime: str | None = None
    filters: Mapping[str, str] = field(default_factory=dict)

    @property
    def page_size(self) -> int:
        return min(self.limit, MAX_LIMIT)


# -- the documents -----------------------------------------------------------------------


def landing(base: str) -> dict[str, Any]:
    """The landing page: what this is and where everything is."""
    return {
        "title": "Wangge 网格",
        "description": "Grid-management units, care facilities and cases as OGC API features",
        "links": [
            _link(f"{base}/ogc", "self", "application/json", "This document"),
            _link(f"{base}/ogc/api", "service-desc", OPENAPI_30, "The API definition"),
            _link(f"{base}/docs", "service-doc", "text/html", "The API documentation"),
            _link(f"{base}/ogc/conformance", "conformance", "application/json", "Conformance"),
            _link(f"{base}/ogc/collections", "data", "application/json", "Collections"),
        ],
    }


def conformance() -> dict[str, Any]:
    return {"conformsTo": CONFORMANCE}


def collection_ids(bset: BoundarySet, principal: Principal) -> list[str]:
    """The collections this caller may read: the levels, then facilities and reports."""
    ids = list(bset.levels)
    if principal.role in FACILITY_READERS:
        ids.append(FACILITIES)
    if principal.role in CASE_READERS:
        ids.append(REPORTS)
    return ids


def check_collection(bset: BoundarySet, principal: Principal, collection_id: str) -> str:
    """The collection's id if it exists and the caller may read it (404, 403 otherwise)."""
    readers = {FACILITIES: FACILITY_READERS, REPORTS: CASE_READERS}.get(collection_id)
    if readers is not None and principal.role not in readers:
        raise Forbidden(
            f"role {principal.role.value!r} may not read collection {collection_id!r}",
            allowed="roles: " + ", ".join(r.value for r in readers),
        )
    if readers is None and collection_id not in bset.levels:
        raise UnknownCollection(
            f"no collection {collection_id!r}",
            allowed=", ".join(collection_ids(bset, principal)),
        )
    return collection_id


def collection(levels: Levels, collection_id: str, base: str) -> dict[str, Any]:
    """A collection's description: title, extent (CRS84), links to its items."""
    bset = levels.bset
    url = f"{base}/ogc/collections/{collection_id}"
    if collection_id in bset.levels:
        level = levels.level(collection_id)
        title = f"{collection_id} ({level.positions.size} units)"
        description = f"Units of level {collection_id} of boundary set {bset.name}"
        bbox = level.bounds
    else:
        title = {FACILITIES: "Care facilities 服务设施", REPORTS: "Cases 案件"}[collection_id]
        description = title
        bbox = bset.bounds
    extent: dict[str, Any] = {"spatial": {"bbox": [list(bbox)], "crs": CRS84}}
    if collection_id == REPORTS:
        extent["temporal"] = {"interval": [[None, None]]}
    return {
        "id": collection_id,
        "title": title,
        "description": description,
        "itemType": "feature",
        "crs": [CRS84],
        "extent": extent,
        "links": [
            _link(url, "self", "application/json", title),
            _link(f"{url}/items", "items", GEOJSON, "Items"),
        ],
    }


def collections(levels: Levels, principal: Principal, base: str) -> dict[str, Any]:
    return {
        "links": [_link(f"{base}/ogc/collections", "self", "application/json", "Collections")],
        "collections": [
            collection(levels, cid, base) for cid in collection_ids(levels.bset, principal)
        ],
    }


# -- items -------------------------------------------------------------------------------


def check_filters(collection_id: str, query: ItemsQuery) -> None:
    """Refuse property filters and datetime where the collection has no such thing."""
    allowed = (
        FACILITY_FILTERS
        if collection_id == FACILITIES
        else REPORT_FILTERS
        if collection_id == REPORTS
        else UNIT_FILTERS
    )
    unknown = sorted(set(query.filters) - set(allowed))
    if unknown:
        raise InvalidStandardRequest(
            f"collection {collection_id!r} cannot be filtered on {', '.join(unknown)}",
            allowed=", ".join(allowed),
        )
    if query.datetime and collection_id != REPORTS:
        raise InvalidStandardRequest(
            f"collection {collection_id!r} has no time", allowed="datetime only for reports"
        )


def unit_items(
    levels: Levels, collection_id: str, principal: Principal, query: ItemsQuery, page_url: PageUrl
) -> str:
    """A page of a level's units as a GeoJSON FeatureCollection (JSON text)."""
    level = levels.level(collection_id)
    units = levels.bset.units
    chosen = level.in_bbox(query.bbox) if query.bbox else np.arange(level.positions.size)
    positions = level.positions[chosen]
    for name, value in query.filters.items():
        column = units[name].to_numpy(dtype=object)[positions]
        keep = column == value
        positions, chosen = positions[keep], chosen[keep]
    page = slice(query.offset, query.offset + query.page_size)
    features = _unit_features(
        levels.bset, positions[page], level.geometries[chosen[page]], principal
    )
    return feature_collection(features, int(positions.size), query, page_url)


def unit_item(levels: Levels, collection_id: str, principal: Principal, feature_id: str) -> str:
    """One unit of a level as a GeoJSON Feature."""
    level = levels.level(collection_id)
    found = np.flatnonzero(levels.bset.codes[level.positions] == feature_id)
    if found.size == 0:
        raise FeatureNotFound(
            f"no {collection_id} {feature_id!r}", allowed=f"ids from the {collection_id} items"
        )
    [feature] = _unit_features(
        levels.bset, level.positions[found[:1]], level.geometries[found[:1]], principal
    )
    return feature


def _unit_features(
    bset: BoundarySet, positions: np.ndarray, geometries: np.ndarray, principal: Principal
) -> list[str]:
    units = bset.units
    columns = {
        c: units[c].to_numpy(dtype=object)[positions]
        for c in ("code", "name", "level", "parent", "leader_name", "leader_phone")
    }
    with_phone = sees_leader_phones(principal)
    properties = []
    for i in range(positions.size):
        props = {
            "code": columns["code"][i],
            "name": columns["name"][i],
            "level": columns["level"][i],
            "parent": columns["parent"][i] or None,
            "leader_name": columns["leader_name"][i],
        }
        if with_phone:
            props["leader_phone"] = columns["leader_phone"][i]
        properties.append(props)
    return _features(list(columns["code"]), geometries, properties)


def facility_items(session: Session, query: ItemsQuery, page_url: PageUrl) -> str:
    """A page of the care facilities (points) as a FeatureCollection."""
    kind = query.filters.get("type")
    if kind is not None:
        facilities.check_facility_type(session=session, facility_type=kind)
    frame = facilities.facilities_frame(session=session, facility_type=kind)
    keep = np.ones(len(frame), dtype=bool)
    if "name" in query.filters:
        keep &= frame["name"].to_numpy(dtype=object) == query.filters["name"]
    if query.bbox:
        keep &= shapely.intersects(frame.geometry.to_numpy(), shapely.box(*query.bbox))
    chosen = frame[keep]
    page = chosen.iloc[query.offset : query.offset + query.page_size]
    features = _features(
        [int(i) for i in page["id"]],
        page.geometry.to_numpy(),
        [
            {
                "type": r.type,
                "name": r.name,
                "capacity": None if pd.isna(r.capacity) else r.capacity,
            }
            for r in page.itertuples()
        ],
    )
    return feature_collection(features, len(chosen), query, page_url)


def facility_item(session: Session, feature_id: str) -> str:
    row = facilities.get_facility(session=session, facility_id=_number(feature_id, FACILITIES))
    [feature] = _features(
        [row.id],
        np.array([shapely.Point(row.lon, row.lat)]),
        [{"type": row.type, "name": row.name, "capacity": row.capacity}],
    )
    return feature


def report_items(
    cases: Cases, session: Session, principal: Principal, query: ItemsQuery, page_url: PageUrl
) -> str:
    """A page of the cases this caller may see (newest first) as a FeatureCollection."""
    since, until = parse_datetime(query.datetime) if query.datetime else (None, None)
    status = query.filters.get("status")
    category = query.filters.get("category")
    where = CaseFilter(
        statuses=check_statuses([status] if status else None),
        categories=check_categories(cases.categories, [category] if category else None),
        unit=query.filters.get("unit"),
        since=since,
        until=until,
        bbox=query.bbox,
    )
    total, rows = cases.page(session, principal, where, limit=query.page_size, offset=query.offset)
    views = [cases.view(session, row, principal) for row in rows]
    return feature_collection(_report_features(views), total, query, page_url)


def report_item(cases: Cases, session: Session, principal: Principal, feature_id: str) -> str:
    try:
        report = cases.get(session, _number(feature_id, REPORTS), principal)
    except CaseNotFound as exc:
        raise FeatureNotFound(exc.message, allowed=exc.allowed) from None
    [feature] = _report_features([cases.view(session, report, principal)])
    return feature


def _report_features(views: Sequence[Mapping[str, Any]]) -> list[str]:
    properties = []
    for view in views:
        view = jsonable(dict(view))
        assignment = view["assignment"]
        unit = assignment["units"][-1] if assignment["units"] else None
        leader = assignment["leader"] or {}
        props = {
            "status": view["status"],
            "category": view["category"],
            "description": view["description"],
            "address": view["address"],
            "unit_code": unit["code"] if unit else None,
            "unit_name": unit["name"] if unit else None,
            "assignment": assignment["status"],
            "leader_name": leader.get("name"),
            "leader_phone": leader.get("phone"),
            "department": view["department"],
            "created_at": view["created_at"],
            "updated_at": view["updated_at"],
            "due_at": view["due_at"],
            "overdue": view["overdue"],
        }
        if view["reporter"]:  # only for the handlers of the case
            props["reporter_name"] = view["reporter"]["name"]
            props["reporter_phone"] = view["reporter"]["phone"]
        properties.append(props)
    points = shapely.points([v["lon"] for v in views], [v["lat"] for v in views])
    return _features([int(v["id"]) for v in views], np.asarray(points), properties)


# -- GeoJSON text ------------------------------------------------------------------------


def _features(
    ids: Sequence[str | int], geometries: np.ndarray, properties: Sequence[Mapping[str, Any]]
) -> list[str]:
    """Features as JSON text: geometries written by GEOS (shapely.to_geojson), the rest by
    json, so a page of 10,000 polygons costs no Python loop over coordinates."""
    if len(ids) == 0:
        return []
    shapes = shapely.to_geojson(np.asarray(geometries, dtype=object))
    return [
        f'{{"type": "Feature", "id": {json.dumps(i)}, "geometry": {g}, '
        f'"properties": {json.dumps(p, ensure_ascii=False)}}}'
        for i, g, p in zip(ids, shapes, properties, strict=True)
    ]


def feature_collection(
    features: list[str], matched: int, query: ItemsQuery, page_url: PageUrl
) -> str:
    """A FeatureCollection page with its counts and self/next/prev links."""
    size = query.page_size
    links = [_link(page_url(query.offset), "self", GEOJSON, "This page")]
    if query.offset + len(features) < matched:
        links.append(_link(page_url(query.offset + size), "next", GEOJSON, "Next page"))
    if query.offset > 0:
        links.append(_link(page_url(max(0, query.offset - size)), "prev", GEOJSON, "Previous"))
    head = {
        "type": "FeatureCollection",
        "numberMatched": matched,
        "numberReturned": len(features),
        "timeStamp": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
        "links": links,
    }
    return (
        json.dumps(head, ensure_ascii=False)[:-1] + ', "features": [' + ", ".join(features) + "]}"
    )


def _link(href: str, rel: str, media_type: str, title: str) -> dict[str, str]:
    return {"href": href, "rel": rel, "type": media_type, "title": title}


# -- parameters --------------------------------------------------------------------------


def parse_datetime(text: str) -> tuple[datetime | None, datetime | None]:
    """OGC's datetime: an instant, or an interval ``start/end`` with ``..`` (or nothing) for
    an open end; as (since, until) with until exclusive."""
    allowed = "an RFC 3339 time, or start/end with '..' for an open end"
    parts = text.split("/")
    if len(parts) > 2:
        raise InvalidStandardRequest(f"datetime {text!r} has more than two parts", allowed=allowed)
    try:
        times = [None if p in ("", "..") else _aware(datetime.fromisoformat(p)) for p in parts]
    except ValueError:
        raise InvalidStandardRequest(f"datetime {text!r} is not a time", allowed=allowed) from None
    tick = timedelta(microseconds=1)
    if len(times) == 1:
        if times[0] is None:
            raise InvalidStandardRequest("datetime is empty", allowed=allowed)
        return times[0], times[0] + tick
    start, end = times
    if start and end and end < start:
        raise InvalidStandardRequest(f"datetime {text!r} ends before it starts", allowed=allowed)
    return start, end + tick if end else None


def _aware(value: datetime) -> datetime:
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _number(feature_id: str, collection_id: str) -> int:
    if not feature_id.isdigit() or len(feature_id) > 18:
        raise FeatureNotFound(
            f"no {collection_id} item {feature_id!r}", allowed="ids (digits) from the items"
        )
    return int(feature_id)
