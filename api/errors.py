"""Map domain errors and HTTP errors to responses once, all with the same body shape."""

from __future__ import annotations

import html
import logging
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from api.db.writer import WriterStopped
from api.schemas import ErrorBody
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
from maps.i18n import Lang, label, negotiate

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

#: What each error status means in this API: the responses the OpenAPI description documents,
#: every one with the ErrorBody shape (GEO_STATUS_CODES and each package's map say which error
#: gets which; the routers say which statuses they can answer with ``error_responses``).
ERROR_STATUSES: dict[int, str] = {
    401: "No API key, or an unknown or revoked one (a browser: no session); WWW-Authenticate",
    403: "The key's role, or its area, does not allow this",
    404: "Not found, or not visible to this key",
    409: "In conflict with the current state",
    413: "Too large: the body (WANGGE_MAX_BODY_BYTES), a batch or a photo",
    415: "A media type this route does not read",
    422: "Invalid request: a parameter or field missing, unknown, out of range or unreadable",
    429: "Over the key's rate limit (WANGGE_RATE_LIMIT_PER_MINUTE); Retry-After says when",
    503: "The report's writer stopped before confirming it (it may be stored): send the same "
    "request again with the same Idempotency-Key; Retry-After says when",
}
#: What every route with a key answers besides its own errors.
KEYED = (401, 403, 422, 429)


def error_responses(
    *statuses: int | tuple[int, str], html: bool = False
) -> dict[int | str, dict[str, Any]]:
    """The documented error responses for ``responses=`` of a router or a route: ErrorBody as
    JSON for each status, described by ERROR_STATUSES unless given as ``(status, text)``.

    ``html``: for a route whose answer is a page, its errors still being JSON (a response
    ``model`` would be documented in the page's media type).
    """
    responses: dict[int | str, dict[str, Any]] = {}
    for item in statuses:
        status, text = item if isinstance(item, tuple) else (item, ERROR_STATUSES[item])
        if html:
            ref = {"$ref": "#/components/schemas/ErrorBody"}
            responses[status] = {
                "description": text,
                "content": {"application/json": {"schema": ref}},
            }
        else:
            responses[status] = {"model": ErrorBody, "description": text}
    return responses


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


#: Where the pages are: a browser's failed GET there gets an error page, not the JSON body.
PAGE_PREFIX = "/maps/"
ErrorResponse = JSONResponse | HTMLResponse


def wants_page(request: Request) -> bool:
    """A browser reading a page route (GET with Accept: text/html under /maps/)."""
    return (
        request.method in ("GET", "HEAD")
        and request.url.path.startswith(PAGE_PREFIX)
        and "text/html" in request.headers.get("accept", "")
    )


def _answer(
    request: Request, body: dict[str, Any], status: int, headers: dict[str, str] | None = None
) -> ErrorResponse:
    """The error as JSON (the API's body), or as a page in the browser's language."""
    if not wants_page(request):
        return JSONResponse(body, status_code=status, headers=headers)
    lang = negotiate(request.query_params.get("lang"), request.headers.get("accept-language"))
    page_headers = {**(headers or {}), "Cache-Control": "no-store", "Vary": "Accept-Language"}
    return HTMLResponse(error_page(lang, status, body), status_code=status, headers=page_headers)


def error_page(lang: Lang, status: int, body: dict[str, Any]) -> str:
    """A small error page: what happened in words, the technical body folded away."""
    key = f"error.{status}" if status in (401, 403, 404, 422) else "error.other"
    other: Lang = "en" if lang == "zh" else "zh"
    signin = (
        f'<p><a href="/signin?lang={lang}">{label(lang, "error.signin")}</a></p>'
        if status == 401
        else ""
    )
    technical = html.escape(f"{body.get('code')}: {body.get('message')}")
    return f"""<!doctype html>
<html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(label(lang, "error.title", status=status))}</title>
<style>body{{font-family:sans-serif;max-width:40em;margin:3em auto;padding:0 1em;color:#222}}
details{{margin-top:2em;color:#555}}code{{white-space:pre-wrap}}</style></head>
<body><h1>{html.escape(label(lang, key))}</h1>
<p class="error-text">{html.escape(label(lang, key + ".text"))}</p>{signin}
<p><a href="/maps/density?lang={lang}">{html.escape(label(lang, "error.back"))}</a>
 · <a href="?lang={other}">{html.escape(label(lang, "lang.other"))}</a></p>
<details><summary>{html.escape(label(lang, "error.details"))} ({status})</summary>
<code>{technical}</code></details></body></html>
"""


def _domain_error_handler(status_codes: StatusCodes):  # type: ignore[no-untyped-def]
    def handle(request: Request, exc: Exception) -> ErrorResponse:
        assert isinstance(exc, WanggeError)
        return _answer(
            request,
            error_body(exc.code, exc.message, exc.allowed, exc.details),
            status_of(exc, status_codes),
            exc.headers if isinstance(exc, ApiError) else None,
        )

    return handle


def _validation_error(request: Request, exc: Exception) -> ErrorResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err.get("loc", ()))
        problems.append({"field": where, "problem": err.get("msg", ""), "type": err.get("type")})
    first = problems[0] if problems else {"field": "", "problem": "invalid request"}
    return _answer(
        request,
        error_body(
            "invalid_request",
            f"{first['field']}: {first['problem']}" if first["field"] else first["problem"],
            "see the OpenAPI description at /docs for the fields and their ranges",
            problems,
        ),
        422,
    )


def _http_error(request: Request, exc: Exception) -> ErrorResponse:
    assert isinstance(exc, StarletteHTTPException)
    codes = {404: "not_found", 405: "method_not_allowed", 413: "body_too_large"}
    allowed = None
    headers = dict(exc.headers or {})
    status = exc.status_code
    if status == 400:
        # FastAPI's and Starlette's answer to a body they cannot parse at all (not UTF-8, a
        # broken form): the same 422 as for a body that parses but does not validate.
        return _validation_error(
            request,
            RequestValidationError(
                [{"loc": ("body",), "msg": f"cannot be read: {exc.detail}", "type": "unreadable"}]
            ),
        )
    if status == 404:
        allowed = "the routes listed at /docs"
    elif status == 405:
        # every method of the path, not only those of the one route that answered
        allowed = headers["Allow"] = _allowed_methods(request) or headers.get("Allow", "")
    return _answer(
        request,
        error_body(codes.get(status, "http_error"), str(exc.detail), allowed),
        status,
        headers or None,
    )


def _allowed_methods(request: Request) -> str:
    """The methods of every route whose path matches the request's."""
    methods: set[str] = set()
    for route in _leaf_routes(request.app.router.routes):
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= getattr(route, "methods", None) or set()
    return ", ".join(sorted(methods))


def _leaf_routes(routes: list[Any]) -> Iterator[Any]:
    """The routes themselves, within included routers too (FastAPI keeps those nested)."""
    for route in routes:
        nested = getattr(route, "effective_route_contexts", None)
        if nested is not None:
            yield from nested()
        else:
            yield route


def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    return JSONResponse(
        error_body("internal_error", "the service failed unexpectedly; the error was logged"),
        status_code=500,
    )


def _writer_stopped(_: Request, exc: Exception) -> JSONResponse:
    log.error("%s", exc)
    return JSONResponse(
        error_body(
            "writer_unavailable",
            f"the report could not be confirmed: {exc}",
            allowed="the same request again with the same Idempotency-Key: it is stored once",
        ),
        status_code=503,
        headers={"Retry-After": "1"},
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
    app.add_exception_handler(WriterStopped, _writer_stopped)
    app.add_exception_handler(Exception, _unexpected)
