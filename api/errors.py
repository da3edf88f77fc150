"""Map domain errors and HTTP errors to responses once, all with the same body shape."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.planning import FacilityNotFound, InvalidRows, NetworkNotConfigured, UnknownFacilityType
from geo.coverage import InvalidPopulation, InvalidServiceParameters
from geo.errors import (
    BoundaryFileError,
    InvalidCoordinates,
    InvalidGeometry,
    UnitNotFound,
    UnknownCRS,
    UnknownLevel,
    WanggeError,
)
from geo.network import NetworkFileError

log = logging.getLogger("wangge")

#: Status code for each domain error class.
STATUS_BY_ERROR: dict[type[WanggeError], int] = {
    InvalidCoordinates: 422,
    UnknownCRS: 422,
    UnknownLevel: 422,
    InvalidGeometry: 422,
    BoundaryFileError: 422,
    UnitNotFound: 404,
    InvalidServiceParameters: 422,
    InvalidPopulation: 422,
    NetworkFileError: 409,
    UnknownFacilityType: 422,
    FacilityNotFound: 404,
    InvalidRows: 422,
    NetworkNotConfigured: 409,
}


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


def _domain_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, WanggeError)
    status = (
        exc.status
        if isinstance(exc, ApiError)
        else next((s for cls, s in STATUS_BY_ERROR.items() if isinstance(exc, cls)), 400)
    )
    return JSONResponse(
        error_body(exc.code, exc.message, exc.allowed, exc.details),
        status_code=status,
        headers=exc.headers if isinstance(exc, ApiError) else None,
    )


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


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on an app."""
    app.add_exception_handler(SignInRequired, _sign_in)
    app.add_exception_handler(WanggeError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected)
