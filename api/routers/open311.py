"""Open311 GeoReport v2: services, service requests and tokens, in JSON or XML.

Every error here answers in the spec's shape (``[{"code": 400, "description": ...}]``, or
``<errors>`` in XML) through the router's route class; the statuses are the API's own.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Header, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from pydantic import ValidationError
from starlette.datastructures import UploadFile

from api.access.auth import authenticate, require_role
from api.access.policy import ALL_ROLES, Principal, Role
from api.cases.errors import UnknownCategory
from api.cases.photos import clean_photo
from api.deps import CasesDep, SessionDep, SettingsDep
from api.errors import ApiError
from api.standards import open311
from api.standards.errors import standard_route
from api.standards.schemas import (
    Open311Created,
    Open311Discovery,
    Open311Error,
    Open311Request,
    Open311RequestIn,
    Open311Service,
    Open311ServiceDefinition,
    Open311Token,
)

router = APIRouter(
    prefix="/open311/v2",
    tags=["open311"],
    route_class=standard_route(open311.error_document),
)

Format = Annotated[Literal["json", "xml"], Path(description="json or xml")]
KEY_SERVICE = "an API key from the operator (`wangge keys create --role reporter`)"


def _answers(model: Any, description: str) -> dict[int | str, dict[str, Any]]:
    """The OpenAPI description of a route answering ``model`` in JSON or XML."""
    return {
        200: {"model": model, "description": description, "content": {"text/xml": {}}},
        400: {"model": list[Open311Error], "description": "Invalid parameter"},
        401: {"model": list[Open311Error], "description": "No or invalid key"},
        403: {"model": list[Open311Error], "description": "Role not allowed"},
        404: {"model": list[Open311Error], "description": "Not found"},
    }


def caller(*roles: Role) -> Callable[..., Awaitable[Principal]]:
    """The caller, by ``api_key`` parameter or the usual headers; with public read on, a
    caller without a key reads as the public (no personal data)."""

    async def dependency(
        request: Request,
        api_key: Annotated[
            str | None,
            Query(max_length=200, description="A Wangge key (or the Authorization header)"),
        ] = None,
        jurisdiction_id: Annotated[
            str | None,
            Query(max_length=200, description="Checked against WANGGE_OPEN311_JURISDICTION_ID"),
        ] = None,
    ) -> Principal:
        settings = request.app.state.settings
        open311.check_jurisdiction(jurisdiction_id, settings.open311_jurisdiction_id)
        try:
            principal = await authenticate(request, key=api_key)
        except ApiError as exc:
            if settings.open311_public_read and exc.code == "not_authenticated":
                return open311.PUBLIC
            raise
        return require_role(principal, roles)

    return dependency


Anyone = Annotated[Principal, Depends(caller(*ALL_ROLES))]
Reader = Annotated[Principal, Depends(caller(*open311.READERS))]


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get(
    "/discovery.{fmt}", response_model=None, responses=_answers(Open311Discovery, "Discovery")
)
def read_discovery(request: Request, fmt: Format, _: Anyone) -> Response:
    """Where this endpoint is, its formats, and how to get a key."""
    content = open311.discovery(_base(request) + router.prefix, KEY_SERVICE)
    return open311.document(fmt, "discovery", content)


@router.get(
    "/services.{fmt}", response_model=None, responses=_answers(list[Open311Service], "Services")
)
def read_services(fmt: Format, cases: CasesDep, _: Anyone) -> Response:
    """The category catalogue as services (service_code = the category's code)."""
    content = [open311.service(c) for c in cases.categories.values()]
    return open311.document(fmt, "services", content)


@router.get(
    "/services/{service_code}.{fmt}",
    response_model=None,
    responses=_answers(Open311ServiceDefinition, "Service definition"),
)
def read_service(
    fmt: Format,
    cases: CasesDep,
    _: Anyone,
    service_code: Annotated[
        str,
        Path(
            max_length=200,
        ),
    ],
) -> Response:
    """A service's definition: its attributes (none declared)."""
    category = cases.categories.get(service_code)
    if category is None:
        raise UnknownCategory(
            f"unknown service_code {service_code!r}", allowed=", ".join(sorted(cases.categories))
        )
    return open311.document(fmt, "service_definition", open311.service_definition(category))


@router.get(
    "/requests.{fmt}",
    response_model=None,
    responses=_answers(list[Open311Request], "Service requests, newest first"),
)
def read_requests(
    request: Request,
    fmt: Format,
    cases: CasesDep,
    session: SessionDep,
    principal: Reader,
    service_request_id: Annotated[
        str | None,
        Query(max_length=200, description="Ids, comma separated; overrides every other filter"),
    ] = None,
    service_code: Annotated[
        str | None, Query(max_length=200, description="Codes, comma separated")
    ] = None,
    start_date: Annotated[datetime | None, Query(description="Requested at or after")] = None,
    end_date: Annotated[datetime | None, Query(description="Requested at or before")] = None,
    status: Annotated[
        str | None, Query(max_length=200, description="open, closed or open,closed")
    ] = None,
    page: Annotated[int, Query(ge=1, le=100_000, description="Extension: page number")] = 1,
    page_size: Annotated[int, Query(ge=1, le=500, description="Extension: page size")] = 50,
) -> Response:
    """Service requests the caller may see; by default those requested in the last 90 days.
    The total is in the X-Total-Count header."""
    where = open311.request_filter(
        service_request_id=service_request_id,
        service_code=service_code,
        start_date=start_date,
        end_date=end_date,
        status=status,
        known_codes=list(cases.categories),
        now=datetime.now(UTC),
    )
    total, found = open311.read_requests(
        cases, session, principal, where, page=page, page_size=page_size, base_url=_base(request)
    )
    return open311.document(fmt, "service_requests", found, headers={"X-Total-Count": str(total)})


@router.get(
    "/requests/{service_request_id}.{fmt}",
    response_model=None,
    responses=_answers(list[Open311Request], "One service request"),
)
def read_request(
    request: Request,
    fmt: Format,
    cases: CasesDep,
    session: SessionDep,
    principal: Reader,
    service_request_id: Annotated[
        str,
        Path(
            max_length=200,
        ),
    ],
) -> Response:
    """One service request, as a list of one (the spec's shape)."""
    found = open311.read_request(
        cases, session, principal, service_request_id, base_url=_base(request)
    )
    return open311.document(fmt, "service_requests", [found])


@router.get(
    "/tokens/{token}.{fmt}",
    response_model=None,
    responses=_answers(list[Open311Token], "The request a token stands for"),
)
def read_token(
    fmt: Format,
    cases: CasesDep,
    session: SessionDep,
    principal: Reader,
    token: Annotated[
        str,
        Path(
            max_length=200,
        ),
    ],
) -> Response:
    """The service request id of a token returned by POST requests."""
    return open311.document(
        fmt, "service_requests", open311.read_token(cases, session, principal, token)
    )


FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
#: Form fields read at most (the spec's fields, each once, and room for a few repeats).
MAX_FIELDS = 2 * len(open311.FORM_FIELDS)


@router.post(
    "/requests.{fmt}",
    status_code=201,
    response_model=None,
    responses={
        **_answers(list[Open311Created], "Created"),
        201: {"model": list[Open311Created], "description": "Created (or the first answer)"},
        409: {"model": list[Open311Error], "description": "Retry key reused with another body"},
        415: {"model": list[Open311Error], "description": "Not a form"},
    },
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/x-www-form-urlencoded": {
                    "schema": Open311RequestIn.model_json_schema()
                },
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            **Open311RequestIn.model_json_schema()["properties"],
                            "media": {"type": "string", "format": "binary"},
                        },
                    }
                },
            },
        }
    },
)
async def create_request(
    request: Request,
    fmt: Format,
    cases: CasesDep,
    settings: SettingsDep,
    api_key: Annotated[
        str | None, Query(max_length=200, description="Or in the form, or a header")
    ] = None,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=200,
            description="With the same device_id: a retry gets the first answer",
        ),
    ] = None,
) -> Response:
    """Post a service request as the spec does (form-encoded; multipart with a `media` photo).

    It goes through the same intake as POST /reports: the same assignment, duplicates,
    durability and idempotency (the same device_id and Idempotency-Key, or the same `token`
    field, creates nothing new).
    """
    is_form = request.headers.get("content-type", "").startswith(FORM_TYPES)
    fields: dict[str, str] = {}
    names: list[str] = []
    uploads: list[tuple[str, UploadFile]] = []
    if is_form:
        form = await request.form(max_files=settings.max_photos, max_fields=MAX_FIELDS)
        for name, value in form.multi_items():
            if isinstance(value, UploadFile):
                uploads.append((name, value))
            elif value.strip():  # an empty field is an absent one
                names.append(name)
                fields[name] = value
    principal = require_role(
        await authenticate(request, key=fields.get("api_key") or api_key), open311.REPORTERS
    )
    if not is_form:
        raise ApiError(
            415,
            "unsupported_media_type",
            "a service request is posted as a form",
            allowed=", ".join(FORM_TYPES),
        )
    open311.check_fields(names, [name for name, _ in uploads])
    try:
        body = Open311RequestIn.model_validate(fields)
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from None
    open311.check_jurisdiction(body.jurisdiction_id, settings.open311_jurisdiction_id)
    token = open311.retry_token(
        principal, device_id=body.device_id, idempotency_key=idempotency_key, token=body.token
    )
    photos = [
        await run_in_threadpool(
            clean_photo,
            await upload.read(settings.max_photo_bytes + 1),
            index=n,
            max_bytes=settings.max_photo_bytes,
            max_pixels=settings.max_photo_pixels,
        )
        for n, (_, upload) in enumerate(uploads)
    ]
    receipt = await run_in_threadpool(
        cases.submit, principal, open311.submission(body.model_dump()), photos, token
    )
    report_id = str(receipt.body["id"])
    created = [
        Open311Created(
            service_request_id=report_id,
            token=token,
            service_notice=open311.service_notice(receipt.body),
            account_id=None,
        ).model_dump()
    ]
    headers = {"Location": f"{router.prefix}/requests/{report_id}.{fmt}"}
    if receipt.replayed:
        headers["Idempotent-Replayed"] = "true"
    return open311.document(
        fmt, "service_requests", created, status=receipt.status_code, headers=headers
    )
