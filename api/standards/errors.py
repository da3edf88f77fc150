"""Errors of the standards' edges, and each standard's error shape.

The routers of /open311, /ogc and /tiles raise the same domain errors as the rest of the API,
mapped to a status once (api.errors with every package's map). Their route class
(:func:`standard_route`) asks the application's own handler for the answer, then re-shapes
it for the standard: Open311's ``[{"code": 400, "description": ...}]`` (or XML), OGC's
``{"code", "description"}``. Both standards say 400 where Wangge says 422.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Callable, Coroutine
from typing import Any

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from geo.errors import InvalidTile, WanggeError

#: Makes the standard's answer from the status and the body of Wangge's own error answer.
ErrorRenderer = Callable[[Request, int, dict[str, Any]], Response]

#: Headers of the application's answer that the standard's answer keeps.
KEPT_HEADERS = ("www-authenticate", "retry-after", "allow")


class InvalidStandardRequest(WanggeError):
    """A request that a standard's parameters do not allow (an unknown field, a date window
    over the limit, a jurisdiction that is not this one)."""

    code = "invalid_request"


class LocationRequired(WanggeError):
    """A service request without a place Wangge can assign (an address alone, no geocoder)."""

    code = "location_required"


class UnknownCollection(WanggeError):
    """An OGC API collection or a tile layer that is not served (or not to this caller)."""

    code = "unknown_collection"


class FeatureNotFound(WanggeError):
    code = "feature_not_found"


class TileOutOfRange(WanggeError):
    """A tile address outside the tile matrix or the collection's zoom levels."""

    code = "tile_out_of_range"


STANDARDS_STATUS_CODES: dict[type[WanggeError], int] = {
    InvalidStandardRequest: 400,
    LocationRequired: 400,
    UnknownCollection: 404,
    FeatureNotFound: 404,
    TileOutOfRange: 404,
    InvalidTile: 404,
}


def described(body: dict[str, Any]) -> str:
    """What was wrong and what is allowed, in one sentence."""
    text = str(body.get("message") or "")
    return f"{text}; allowed: {body['allowed']}" if body.get("allowed") else text


def standard_status(status: int) -> int:
    """Open311 and OGC API both answer 400 for an invalid parameter."""
    return 400 if status == 422 else status


async def _application_answer(request: Request, exc: Exception) -> Response | None:
    """The answer of the handler the application registered for this exception, if any."""
    handlers = request.app.exception_handlers
    for cls in type(exc).__mro__:
        handler = handlers.get(cls)
        if handler is not None:
            answer = handler(request, exc)
            return await answer if inspect.isawaitable(answer) else answer  # type: ignore[no-any-return]
    return None


def standard_route(render: ErrorRenderer) -> type[APIRoute]:
    """A route class whose errors (authentication, validation, domain) are answered in a
    standard's shape by ``render``, with the status the application chose."""

    class StandardRoute(APIRoute):
        def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
            handler = super().get_route_handler()

            async def answer(request: Request) -> Response:
                try:
                    return await handler(request)
                except Exception as exc:
                    own = await _application_answer(request, exc)
                    if own is None or not own.body:
                        raise
                    body = json.loads(bytes(own.body))
                    response = render(request, own.status_code, body)
                    for name in KEPT_HEADERS:
                        if name in own.headers:
                            response.headers[name] = own.headers[name]
                    return response

            return answer

    return StandardRoute


def ogc_error(_: Request, status: int, body: dict[str, Any]) -> Response:
    """An error as OGC API's exception (``code``, ``description``) with Wangge's fields."""
    content = {**body, "description": described(body)}
    return JSONResponse(content, status_code=standard_status(status))
