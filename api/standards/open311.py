"""Open311 GeoReport v2 (wiki.open311.org/GeoReport_v2) over Wangge's cases.

The translation both ways: the category catalogue as services, a case as a service request,
a posted form as a :class:`~api.cases.intake.Submission`; the documents in JSON and in XML
(the same content, XML written with ElementTree); the spec's error shape. Reading goes
through api.cases (visibility, filters, views), so a service request shows exactly what
GET /reports/{id} shows the same caller, in the spec's fields.
"""

from __future__ import annotations

import hashlib
import json
import re
import secrets
import xml.etree.ElementTree as ET
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import Request, Response
from sqlalchemy.orm import Session

from api.access.policy import Principal, Role
from api.cases.intake import Submission, recorded_report
from api.cases.lifecycle import DONE, OPEN
from api.cases.queries import CaseFilter, media_links
from api.cases.service import Cases
from api.cases.views import jsonable
from api.db.models import Category
from api.standards.errors import (
    FeatureNotFound,
    InvalidStandardRequest,
    LocationRequired,
    described,
    standard_status,
)

SPEC = "http://wiki.open311.org/GeoReport_v2"
#: When this implementation of the spec last changed (the discovery document's changeset).
CHANGESET = "2026-01-15T00:00:00Z"
FORMATS = {"json": "application/json; charset=utf-8", "xml": "text/xml; charset=utf-8"}
#: The spec's longest date range for GET requests, and the default window.
WINDOW = timedelta(days=90)
#: Roles that read service requests with a key (as GET /reports), and that post them.
READERS = (Role.REPORTER, Role.GRID_WORKER, Role.DISPATCHER, Role.ADMIN)
REPORTERS = READERS
#: The public, when public read is on: every case, nobody's personal data. It reads as a
#: planner does (policy.sees_reporter and sees_leader_phones say no to planners; the case
#: queries do not narrow a planner's scope), the one role that handles no case.
PUBLIC = Principal(key_id=0, role=Role.PLANNER, unit_code=None, name="public")
#: Fields a POST /requests form may carry (``token`` and ``media`` are common extensions).
FORM_FIELDS = (
    "api_key",
    "jurisdiction_id",
    "service_code",
    "lat",
    "long",
    "address_string",
    "address_id",
    "email",
    "device_id",
    "account_id",
    "first_name",
    "last_name",
    "phone",
    "description",
    "media_url",
    "token",
    "media",
)
TOKEN_PATTERN = re.compile(r"^[A-Za-z0-9_\-]{8,100}$")
DISPATCH_CENTRE = "指挥中心 dispatch centre"


# -- documents ---------------------------------------------------------------------------


def discovery(base_url: str, key_service: str) -> dict[str, Any]:
    """The discovery document: where the endpoint is and how to get a key."""
    return {
        "changeset": CHANGESET,
        "contact": "the operator of this Wangge service",
        "key_service": key_service,
        "endpoints": [
            {
                "specification": SPEC,
                "url": base_url,
                "changeset": CHANGESET,
                "type": "production",
                "formats": ["text/xml", "application/json"],
            }
        ],
    }


def service(category: Category) -> dict[str, Any]:
    """A category as an Open311 service: Chinese name, English in the description."""
    return {
        "service_code": category.code,
        "service_name": category.name_zh,
        "description": f"{category.name_en} ({category.name_zh})",
        "metadata": False,
        "type": "realtime",
        "keywords": ", ".join([category.code, category.name_zh, category.name_en]),
        "group": category.department,
    }


def service_definition(category: Category) -> dict[str, Any]:
    """The definition of a service: no category declares attributes (yet), so none."""
    return {"service_code": category.code, "attributes": []}


def service_request(
    view: Mapping[str, Any], category: Category | None, *, base_url: str, media_url: str | None
) -> dict[str, Any]:
    """A case as the caller may see it (``Cases.view``) in the spec's fields.

    ``status`` is open or closed (resolved, closed and rejected cases are closed); Wangge's own
    status is in ``status_notes``. The reporter's name and phone come only when the view has
    them (the handlers of the case), as extension fields.
    """
    view = jsonable(dict(view))
    photos = view["photos"]
    media = f"{base_url}{photos[0]['url']}" if photos else media_url
    out = {
        "service_request_id": str(view["id"]),
        "status": "closed" if view["status"] in DONE else "open",
        "status_notes": view["status"],
        "service_name": category.name_zh if category else view["category"],
        "service_code": view["category"],
        "description": view["description"],
        "agency_responsible": agency_responsible(view, category),
        "service_notice": "",
        "requested_datetime": view["created_at"],
        "updated_datetime": view["updated_at"],
        "expected_datetime": view["due_at"],
        "address": view["address"] or "",
        "address_id": "",
        "zipcode": "",
        "lat": view["lat"],
        "long": view["lon"],
        "media_url": media or "",
    }
    if view.get("reporter"):
        out["reporter_name"] = view["reporter"]["name"] or ""
        out["reporter_phone"] = view["reporter"]["phone"] or ""
    return out


def agency_responsible(view: Mapping[str, Any], category: Category | None) -> str:
    """Who has the case: its department after an escalation across (吹哨 to a department:
    the case's department differs from its category's, or it is escalated without a move up),
    else its unit and the unit of the leader responsible, else the dispatch centre."""
    assignment = view["assignment"]
    across = view["department"] and (
        (category is not None and view["department"] != category.department)
        or (view["status"] == "escalated" and assignment["status"] != "escalated")
    )
    if across:
        return str(view["department"])
    if not assignment["units"]:
        return DISPATCH_CENTRE
    unit = assignment["units"][-1]
    text = f"{unit['name']} ({unit['code']})"
    leader = assignment["leader"]
    return f"{text}; leader unit {leader['unit_code']}" if leader else text


def service_notice(body: Mapping[str, Any]) -> str:
    """What the reporter is told on intake: where the case went and when it is due."""
    units = body["assignment"]["units"]
    due = body["due_at"]
    if not units:
        text = "已收到，等待指挥中心派单。 Received: the dispatch centre will route it."
    else:
        unit = units[-1]
        text = (
            f"已派至{unit['name']}（{unit['code']}），应于 {due} 前处理。"
            f" Assigned to {unit['name']} ({unit['code']}), due {due}."
        )
    duplicates = body.get("possible_duplicates") or []
    if duplicates:
        text += f" 附近有 {len(duplicates)} 件相似案件 ({len(duplicates)} similar open nearby)."
    return text


# -- reading -----------------------------------------------------------------------------


def request_filter(
    *,
    service_request_id: str | None,
    service_code: str | None,
    start_date: datetime | None,
    end_date: datetime | None,
    status: str | None,
    known_codes: Sequence[str],
    now: datetime,
) -> CaseFilter:
    """The spec's GET requests parameters as a case filter.

    ``service_request_id`` (a comma list) overrides every other parameter. Otherwise the
    dates default to the last 90 days (either bound alone spans 90 days from it) and may not
    span more.
    """
    if service_request_id:
        return CaseFilter(ids=_ids(service_request_id))
    codes = _comma_list(service_code)
    unknown = sorted(set(codes) - set(known_codes))
    if unknown:
        raise InvalidStandardRequest(
            f"unknown service_code {', '.join(unknown)}",
            allowed=", ".join(sorted(known_codes)),
        )
    start, end = _aware(start_date), _aware(end_date)
    if start is None and end is None:
        end = now
    if start is None:
        assert end is not None
        start = end - WINDOW
    if end is None:
        end = start + WINDOW
    if end < start:
        raise InvalidStandardRequest(
            f"end_date {end.isoformat()} is before start_date {start.isoformat()}",
            allowed="start_date <= end_date",
        )
    if end - start > WINDOW:
        raise InvalidStandardRequest(
            f"start_date to end_date spans {(end - start).days} days",
            allowed="at most 90 days (the spec's limit)",
        )
    return CaseFilter(
        statuses=_statuses(_comma_list(status)),
        categories=tuple(codes),
        since=start,
        until=end + timedelta(microseconds=1),  # end_date is inclusive
    )


def read_requests(
    cases: Cases,
    session: Session,
    principal: Principal,
    where: CaseFilter,
    *,
    page: int,
    page_size: int,
    base_url: str,
) -> tuple[int, list[dict[str, Any]]]:
    """The total and one page of service requests the caller may see, newest first."""
    total, rows = cases.page(
        session, principal, where, limit=page_size, offset=(page - 1) * page_size
    )
    links = media_links(session, [r.id for r in rows]) if rows else {}
    return total, [
        service_request(
            cases.view(session, row, principal),
            cases.categories.get(row.category),
            base_url=base_url,
            media_url=links.get(row.id),
        )
        for row in rows
    ]


def read_request(
    cases: Cases, session: Session, principal: Principal, request_id: str, *, base_url: str
) -> dict[str, Any]:
    """One service request the caller may see (404 otherwise, as for GET /reports/{id})."""
    [number] = _ids(request_id)
    _, found = read_requests(
        cases, session, principal, CaseFilter(ids=(number,)), page=1, page_size=1, base_url=base_url
    )
    if not found:
        raise FeatureNotFound(
            f"no service request {request_id} visible to you",
            allowed="ids from GET /open311/v2/requests",
            code="request_not_found",
        )
    return found[0]


def read_token(
    cases: Cases, session: Session, principal: Principal, token: str
) -> list[dict[str, Any]]:
    """The service request a token stands for (the spec's tokens/{token})."""
    report_id = recorded_report(session, token, principal.client)
    missing = FeatureNotFound(
        f"no service request with token {token!r} visible to you",
        allowed="a token returned by POST /open311/v2/requests",
        code="token_not_found",
    )
    if report_id is None:
        raise missing
    _, found = cases.page(session, principal, CaseFilter(ids=(report_id,)), limit=1, offset=0)
    if not found:
        raise missing
    return [{"service_request_id": str(report_id), "token": token}]


# -- posting -----------------------------------------------------------------------------


def check_fields(names: Sequence[str], files: Sequence[str] = ()) -> None:
    """Refuse fields the spec does not define (and attributes, which no service has), a
    field given twice, and files other than ``media``."""
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise InvalidStandardRequest(
            f"field(s) {', '.join(repeated)} given more than once", allowed="each field once"
        )
    misplaced = sorted(set(files) - {"media"})
    if misplaced:
        raise InvalidStandardRequest(
            f"unexpected file field {misplaced[0]!r}", allowed="files only in 'media'"
        )
    unknown = sorted(set(names) - set(FORM_FIELDS))
    attributes = [f for f in unknown if f.startswith("attribute[")]
    if attributes:
        raise InvalidStandardRequest(
            f"no service has attribute {attributes[0]}",
            allowed="no attribute[...] fields: every service's attributes are empty",
        )
    if unknown:
        raise InvalidStandardRequest(
            f"unknown field(s) {', '.join(unknown)}", allowed=", ".join(FORM_FIELDS)
        )


def submission(fields: Mapping[str, Any]) -> Submission:
    """A posted form, its fields checked (``Open311RequestIn``), as a submission to the intake.

    The spec's lat/long are WGS84. An address alone cannot be placed: Wangge has no geocoder.
    """
    lat, lon = fields.get("lat"), fields.get("long")
    if lat is None or lon is None:
        given = [f for f in ("address_string", "address_id") if fields.get(f)]
        if given and lat is None and lon is None:
            raise LocationRequired(
                f"{given[0]} alone cannot be placed: this service has no geocoder",
                allowed="lat and long (WGS84), with address_string as a description if wanted",
            )
        raise LocationRequired(
            "a service request needs lat and long", allowed="lat and long in WGS84 degrees"
        )
    return Submission(
        lon=float(lon),
        lat=float(lat),
        crs="wgs84",
        category=fields.get("service_code") or "",
        description=fields.get("description") or "",
        address=fields.get("address_string") or None,
        name=reporter_name(fields.get("first_name"), fields.get("last_name")),
        phone=fields.get("phone") or None,
        media_url=fields.get("media_url") or None,
    )


def reporter_name(first: str | None, last: str | None) -> str | None:
    """One name from the spec's two: Chinese family name first and no space (王 + 芳 = 王芳),
    otherwise "first last"."""
    parts = [p.strip() for p in (first, last) if p and p.strip()]
    if not parts:
        return None
    if any(_is_cjk(p) for p in parts) and first and last:
        return f"{last.strip()}{first.strip()}"
    return " ".join(parts)


def retry_token(
    principal: Principal,
    *,
    device_id: str | None,
    idempotency_key: str | None,
    token: str | None,
) -> str:
    """The token of a new service request, which is also its Idempotency-Key in the intake.

    A retry with the same device_id and Idempotency-Key header, or with the same ``token``
    field, gets the same token and so the first answer; a POST with neither gets a new one.
    """
    if idempotency_key:
        seed = f"{principal.client}\n{device_id or ''}\n{idempotency_key}"
        return "o311-" + hashlib.sha256(seed.encode()).hexdigest()[:32]
    if token:
        if not TOKEN_PATTERN.match(token):
            raise InvalidStandardRequest(
                f"token {token[:40]!r} is not a token", allowed="8 to 100 of A-Z a-z 0-9 _ -"
            )
        return token
    return "o311-" + secrets.token_hex(16)


def check_jurisdiction(given: str | None, configured: str | None) -> None:
    """A jurisdiction_id, when one is configured, must be this one."""
    if given and configured and given != configured:
        raise InvalidStandardRequest(
            f"jurisdiction_id {given!r} is not served here", allowed=configured
        )


# -- JSON and XML ------------------------------------------------------------------------

#: The element of each item of a list, by the list's element.
ITEMS = {
    "services": "service",
    "service_requests": "request",
    "errors": "error",
    "endpoints": "endpoint",
    "formats": "format",
    "attributes": "attribute",
    "values": "value",
}
#: Characters XML 1.0 does not allow, even escaped.
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def to_xml(root: str, content: Any) -> bytes:
    """A document as UTF-8 XML with its declaration: dicts become elements, lists repeat
    their item element (``ITEMS``), None an empty element; text is escaped by ElementTree
    and characters XML cannot hold become U+FFFD."""
    element = ET.Element(root)
    _fill(element, content)
    return ET.tostring(element, encoding="utf-8", xml_declaration=True)


def _fill(element: ET.Element, value: Any) -> None:
    if isinstance(value, Mapping):
        for name, item in value.items():
            _fill(ET.SubElement(element, name), item)
    elif isinstance(value, list):
        for item in value:
            _fill(ET.SubElement(element, ITEMS[element.tag]), item)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = NOT_XML.sub("\ufffd", str(value))


def document(
    fmt: str, root: str, content: Any, *, status: int = 200, headers: dict[str, str] | None = None
) -> Response:
    """The answer in the asked format: JSON as is, XML under ``root``."""
    if fmt == "xml":
        body = to_xml(root, content)
    else:
        body = json.dumps(content, ensure_ascii=False).encode()
    return Response(body, status_code=status, media_type=FORMATS[fmt], headers=headers)


def error_document(request: Request, status: int, body: dict[str, Any]) -> Response:
    """An error in the spec's shape, in the format the path asked for."""
    status = standard_status(status)
    fmt = "xml" if request.url.path.endswith(".xml") else "json"
    if status == 401:  # the spec's own way of presenting a key
        body = {**body, "allowed": f"api_key=<key> or {body.get('allowed')}"}
    return document(
        fmt, "errors", [{"code": status, "description": described(body)}], status=status
    )


# -- small parsers -----------------------------------------------------------------------


def _comma_list(text: str | None) -> list[str]:
    return [p.strip() for p in (text or "").split(",") if p.strip()]


def _ids(text: str) -> tuple[int, ...]:
    parts = _comma_list(text)
    if not parts or not all(p.isdigit() and len(p) < 19 for p in parts):
        raise InvalidStandardRequest(
            f"service_request_id {text[:80]!r} is not a list of ids",
            allowed="ids (digits), separated by commas",
        )
    return tuple(int(p) for p in parts)


def _statuses(values: list[str]) -> tuple[str, ...]:
    unknown = sorted(set(values) - {"open", "closed"})
    if unknown:
        raise InvalidStandardRequest(f"unknown status {', '.join(unknown)}", allowed="open, closed")
    chosen: set[str] = set()
    if "open" in values:
        chosen |= {s.value for s in OPEN}
    if "closed" in values:
        chosen |= {s.value for s in DONE}
    return tuple(sorted(chosen))


def _aware(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _is_cjk(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)
