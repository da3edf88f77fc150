"""Map domain errors and HTTP errors to responses once, all with the same body shape."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from geo.errors import (
    BoundaryFileError,
    InvalidCoordinates,
    InvalidGeometry,
    InvalidPopulation,
    InvalidServiceParameters,
    NetworkFileError,
    UnitNotFound,
    UnknownCRS,
    UnknownLevel,
    WanggeError,
)

log = logging.getLogger("wangge")

#: Status code for each error class of the geo library (each package of the API has its own map,
#: e.g. ``api.cases.errors.CASES_STATUS_CODES``; ``api.main`` composes them).
GEO_STATUS_CODES: dict[type[WanggeError], int] = {
    InvalidCoordinates: 422,
    UnknownCRS: 422,
    UnknownLevel: 422,
    InvalidGeometry: 422,
    BoundaryFileError: 422,
    UnitNotFound: 404,
    InvalidServiceParameters: 422,
    InvalidPopulation: 422,
    NetworkFileError: 409,
}

StatusCodes = dict[type[WanggeError], int]


class ApiError(WanggeError):
    """An error raised by the API layer itself, with its status code."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        allowed: str | None = None,
        headers: dict[str, str] | None = None,
        **details: Any,
    ) -> None:
        super().__init__(message, allowed=allowed, **details)
        self.status = status
        self.code = code
        self.headers = headers


class SignInRequired(Exception):
    """A browser asked for a page without a session: send it to the sign-in form."""

    def __init__(self, target: str) -> None:
        super().__init__(target)
        self.target = target


def error_body(
    code: str, message: str, allowed: str | None = None, details: Any = None
) -> dict[str, Any]:
    """The one error shape: what went wrong (code, message), what is allowed, and details."""
    return {"code": code, "message": message, "allowed": allowed, "details": details or None}


def status_of(exc: WanggeError, status_codes: StatusCodes) -> int:
    """The HTTP status of a domain error: its own class's, else its nearest base class's."""
    if isinstance(exc, ApiError):
        return exc.status
    for cls in type(exc).__mro__:
        if cls in status_codes:
            return status_codes[cls]  # type: ignore[index]
    return 400


def _domain_error_handler(status_codes: StatusCodes):  # type: ignore[no-untyped-def]
    def handle(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, WanggeError)
        return JSONResponse(
            error_body(exc.code, exc.message, exc.allowed, exc.details),
            status_code=status_of(exc, status_codes),
            headers=exc.headers if isinstance(exc, ApiError) else None,
        )

    return handle


def _validation_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()))
        problems.append({"field": where, "problem": err.get("msg", ""), "type": err.get("type")})
    first = problems[0] if problems else {"field": "", "problem": "invalid request"}
    return JSONResponse(
        error_body(
            "invalid_request",
            f"{first['field']}: {first['problem']}" if first["field"] else first["problem"],
            "see the OpenAPI description at /docs for the fields and their ranges",
            problems,
        ),
        status_code=422,
    )


def _http_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    codes = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}
    allowed = None
    if exc.status_code == 404:
        allowed = "the routes listed at /docs"
    elif exc.status_code == 405:
        allowed = (exc.headers or {}).get("Allow")
    return JSONResponse(
        error_body(codes.get(exc.status_code, "http_error"), str(exc.detail), allowed),
        status_code=exc.status_code,
        headers=exc.headers,
    )


def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    return JSONResponse(
        error_body("internal_error", "the service failed unexpectedly; the error was logged"),
        status_code=500,
    )


def _sign_in(_: Request, exc: Exception) -> RedirectResponse:
    assert isinstance(exc, SignInRequired)
    return RedirectResponse("/signin?next=" + quote(exc.target, safe=""), status_code=303)


def install_error_handlers(app: FastAPI, *status_maps: StatusCodes) -> None:
    """Register the handlers on an app, with the status maps of the packages it is made of."""
    status_codes: StatusCodes = {}
    for status_map in (GEO_STATUS_CODES, *status_maps):
        status_codes |= status_map
    app.add_exception_handler(SignInRequired, _sign_in)
    app.add_exception_handler(WanggeError, _domain_error_handler(status_codes))
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
