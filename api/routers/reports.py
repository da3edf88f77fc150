"""Reports (cases): intake, listing, lifecycle, audit trail, rating, photos."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, Response
from pydantic import ValidationError
from starlette.datastructures import UploadFile
from starlette.formparsers import MultiPartException, MultiPartParser

from api.access.auth import allow, authenticate, require_role
from api.access.policy import Principal, Role
from api.cases.intake import Submission
from api.cases.photos import CleanPhoto, clean_photo
from api.cases.queries import CaseFilter, check_statuses, events_of, parse_bbox, photo_of
from api.cases.service import Cases
from api.cases.transitions import Change
from api.deps import CasesDep, SessionDep, SettingsDep
from api.errors import KEYED, ApiError, error_responses
from api.schemas import (
    BBOX_LENGTH,
    MAX_ID,
    MAX_OFFSET,
    Code,
    DateTime,
    EventOut,
    RatingIn,
    ReportIn,
    ReportOut,
    ReportPage,
    StatusName,
    TransitionIn,
)
from api.settings import Settings
from geo.errors import WanggeError

router = APIRouter(
    prefix="/reports",
    tags=["reports"],
    responses=error_responses(*KEYED),
)

CASE_READERS = (Role.REPORTER, Role.GRID_WORKER, Role.DISPATCHER, Role.ADMIN)
Reader = Annotated[Principal, Depends(allow(*CASE_READERS))]
ReportId = Annotated[int, Path(ge=1, le=MAX_ID, description="The report's id")]
PhotoId = Annotated[int, Path(ge=1, le=MAX_ID, description="An id from the report's photos")]

NOT_FOUND = error_responses((404, "No such report visible to you (or no such photo or unit)"))
CHANGE_ERRORS = NOT_FOUND | error_responses(
    (409, "The lifecycle does not allow this move now (the allowed next states named)"), 413
)
PHOTO: dict[int | str, dict[str, Any]] = NOT_FOUND | {
    200: {
        "description": "The photo, metadata stripped",
        "content": {"image/jpeg": {"schema": {}}, "image/png": {"schema": {}}},
    }
}

MAX_IDEMPOTENCY_KEY = 200

INTAKE_BODY = {
    "parameters": [
        {
            "name": "Idempotency-Key",
            "in": "header",
            "required": False,
            "description": "Retry with the same key and body: the first answer, nothing new",
            "schema": {"type": "string", "maxLength": MAX_IDEMPOTENCY_KEY},
        }
    ],
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": ReportIn.model_json_schema(),
                "example": {
                    "lon": 117.2239,
                    "lat": 39.0998,
                    "crs": "gcj02",
                    "category": "flying_wires",
                    "description": "楼道里有电动车飞线充电",
                    "name": "王先生",
                    "phone": "13800000000",
                },
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {
                        **ReportIn.model_json_schema()["properties"],
                        "photos": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                        },
                    },
                    "required": ["lon", "lat", "category"],
                }
            },
        },
    },
}


class _TextFieldsInTheirCharset(MultiPartParser):
    """Starlette's multipart parser, refusing a text field not in the form's charset (UTF-8
    unless it says otherwise): Starlette reads such a field as Latin-1, stored as mojibake."""

    def on_part_end(self) -> None:
        part = self._current_part
        if part.file is None:
            try:
                part.data.decode(self._charset)
            except (UnicodeDecodeError, LookupError):
                raise MultiPartException(
                    f"field {part.field_name!r} is not valid {self._charset or 'UTF-8'}"
                ) from None
        super().on_part_end()


async def _read_form(request: Request, max_photos: int) -> Any:
    parser = _TextFieldsInTheirCharset(
        request.headers, request.stream(), max_files=max_photos, max_fields=20
    )
    return await parser.parse()


async def _read_intake(request: Request, settings: Settings) -> tuple[ReportIn, list[CleanPhoto]]:
    max_photos, max_photo_bytes = settings.max_photos, settings.max_photo_bytes
    content_type = request.headers.get("content-type", "")
    photos: list[CleanPhoto] = []
    form = None
    try:
        if content_type.startswith("multipart/form-data"):
            form = await _read_form(request, max_photos)
            fields: dict[str, Any] = {}
            for name, value in form.multi_items():
                if isinstance(value, UploadFile):
                    if name != "photos":
                        raise ApiError(
                            422,
                            "unknown_field",
                            f"unexpected file field {name!r}",
                            allowed="files only in 'photos'",
                        )
                    raw = await value.read(max_photo_bytes + 1)
                    photos.append(
                        await run_in_threadpool(
                            clean_photo,
                            raw,
                            index=len(photos),
                            max_bytes=max_photo_bytes,
                            max_pixels=settings.max_photo_pixels,
                        )
                    )
                else:
                    fields[name] = value
            body = ReportIn.model_validate(fields, strict=False)  # a form is all text
        elif content_type.startswith("application/json"):
            body = ReportIn.model_validate_json(await request.body())
        else:
            raise ApiError(
                415,
                "unsupported_media_type",
                f"cannot read a report from {content_type or 'no content type'}",
                allowed="application/json, or multipart/form-data with photos",
            )
    except ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors(include_url=False)]
        ) from None
    except Exception as exc:  # starlette's multipart limits (too many files or fields)
        if isinstance(exc, WanggeError | RequestValidationError):
            raise
        if "Too many files" in str(exc):
            raise ApiError(
                413, "too_many_photos", str(exc), allowed=f"at most {max_photos} photos"
            ) from None
        if exc.__class__.__name__ in ("MultiPartException", "HTTPException"):
            raise ApiError(
                422,
                "invalid_form",
                str(exc),
                allowed="multipart/form-data with the report's fields",
            ) from None
        raise
    finally:
        if form is not None:
            await form.close()
    return body, photos


@router.post(
    "",
    status_code=201,
    response_model=ReportOut,
    responses=error_responses(
        (409, "Idempotency-Key reused with another body"),
        (413, "Body, photo (bytes or pixels) or number of photos too large"),
        (415, "Neither JSON nor a multipart form, or a photo that is not JPEG or PNG"),
        503,
    ),
    openapi_extra=INTAKE_BODY,
)
async def create_report(request: Request) -> Response:
    """Post a geotagged report (JSON, or multipart with up to 3 JPEG/PNG photos).

    The report is assigned to the micro-grid and leader responsible for its location and is
    committed to disk before the 201 is sent. Reports outside the jurisdiction are accepted
    as `submitted` with assignment `unassigned`, into the dispatchers' queue.
    """
    # The busiest route reads what it needs itself rather than through dependencies (each
    # costs FastAPI's resolution on every request); the header is documented in INTAKE_BODY.
    state = request.app.state
    cases: Cases = state.cases
    settings: Settings = state.settings
    principal = require_role(await authenticate(request), CASE_READERS)
    idempotency_key = _idempotency_key(request)
    body, photos = await _read_intake(request, settings)
    submission = Submission(**body.model_dump())
    if photos:  # the photos are written to disk: in a thread
        receipt = await run_in_threadpool(
            cases.submit, principal, submission, photos, idempotency_key
        )
    else:
        receipt = await cases.submit_async(principal, submission, idempotency_key)
    # The body is built by the service (and stored as is for idempotent replays), so it is
    # sent as it is, encoded once (orjson); tests check it against ReportOut.
    headers = {"Location": f"/reports/{receipt.body['id']}"}
    if receipt.replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(
        receipt.json(),
        status_code=receipt.status_code,
        headers=headers,
        media_type="application/json",
    )


def _idempotency_key(request: Request) -> str | None:
    """The Idempotency-Key header (at most 200 characters; 422 in FastAPI's shape if longer)."""
    key = request.headers.get("idempotency-key")
    if key is not None and len(key) > MAX_IDEMPOTENCY_KEY:
        raise RequestValidationError(
            [
                {
                    "type": "string_too_long",
                    "loc": ("header", "Idempotency-Key"),
                    "msg": f"String should have at most {MAX_IDEMPOTENCY_KEY} characters",
                    "input": key[:50],
                    "ctx": {"max_length": MAX_IDEMPOTENCY_KEY},
                }
            ]
        )
    return key


@router.get("", response_model=ReportPage, responses=error_responses((404, "No such unit")))
def read_reports(
    cases: CasesDep,
    session: SessionDep,
    principal: Reader,
    status: Annotated[list[StatusName] | None, Query(description="One or more statuses")] = None,
    category: Annotated[list[Code] | None, Query(description="One or more categories")] = None,
    unit: Annotated[
        Code | None, Query(description="A unit code at any level: everything below it")
    ] = None,
    since: Annotated[DateTime | None, Query(description="Created at or after")] = None,
    until: Annotated[DateTime | None, Query(description="Created before")] = None,
    bbox: Annotated[
        str | None,
        Query(
            max_length=BBOX_LENGTH,
            description="minlon,minlat,maxlon,maxlat (WGS84)",
            examples=["117.19,39.05,117.26,39.11"],
        ),
    ] = None,
    overdue: Annotated[bool | None, Query(description="Only overdue (or not overdue)")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> ReportPage:
    """Reports the caller may see, newest first, filtered, with the total."""
    where = CaseFilter(
        statuses=check_statuses(status),
        categories=tuple(category or ()),
        unit=unit,
        since=since,
        until=until,
        bbox=parse_bbox(bbox) if bbox else None,
        overdue=overdue,
    )
    now = datetime.now(UTC)
    total, rows = cases.page(session, principal, where, limit=limit, offset=offset, now=now)
    items = [ReportOut.model_validate(cases.view(session, r, principal, now=now)) for r in rows]
    return ReportPage(total=total, limit=limit, offset=offset, items=items)


@router.get("/{report_id}", response_model=ReportOut, responses=NOT_FOUND)
def read_report(
    cases: CasesDep, session: SessionDep, principal: Reader, report_id: ReportId
) -> Any:
    """One report as the caller may see it."""
    return cases.view(session, cases.get(session, report_id, principal), principal)


@router.get("/{report_id}/events", response_model=list[EventOut], responses=NOT_FOUND)
def read_report_events(session: SessionDep, principal: Reader, report_id: ReportId) -> Any:
    """The audit trail: every change, who made it, when, from and to which state, and why."""
    return events_of(session, report_id, principal)


@router.post("/{report_id}/transitions", response_model=ReportOut, responses=CHANGE_ERRORS)
def create_report_transition(
    cases: CasesDep,
    session: SessionDep,
    principal: Annotated[Principal, Depends(allow(Role.GRID_WORKER, Role.DISPATCHER, Role.ADMIN))],
    report_id: ReportId,
    change: TransitionIn,
) -> Any:
    """Move a case: accept (接单), start, resolve, escalate (吹哨: to 'parent' or a department),
    reassign (to a unit), reject (with a reason or the report it duplicates), close, reopen.
    Any move the lifecycle does not allow gets 409 naming the allowed next states."""
    report = cases.transition(session, report_id, principal, Change(**change.model_dump()))
    return cases.view(session, report, principal)


@router.post("/{report_id}/rating", response_model=ReportOut, responses=CHANGE_ERRORS)
def create_report_rating(
    cases: CasesDep,
    session: SessionDep,
    principal: Annotated[Principal, Depends(allow(Role.REPORTER))],
    report_id: ReportId,
    rating: RatingIn,
) -> Any:
    """The reporter rates a resolved case (评单), 1-5: below the threshold (3) reopens it,
    otherwise it is closed."""
    report = cases.rate(session, report_id, principal, rating.score, rating.comment)
    return cases.view(session, report, principal)


@router.get("/{report_id}/photos/{photo_id}", responses=PHOTO, response_class=FileResponse)
def read_report_photo(
    settings: SettingsDep,
    session: SessionDep,
    principal: Reader,
    report_id: ReportId,
    photo_id: PhotoId,
) -> FileResponse:
    """A photo of a report (metadata stripped on intake)."""
    photo = photo_of(session, report_id, photo_id, principal)
    return FileResponse(settings.media / photo.path, media_type=photo.content_type)
