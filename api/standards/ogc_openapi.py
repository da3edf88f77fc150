"""The OpenAPI 3.0 definition of /ogc (the OGC API's service-desc, conformance class oas30).

The application's own /openapi.json is OpenAPI 3.1 (FastAPI's); OGC API - Features Part 1
asks for 3.0, so its routes are described here by hand, with the documented maximum of
``limit`` that clients such as GDAL read to size their pages.
"""

from __future__ import annotations

from typing import Any

from api import VERSION
from api.standards.ogc import DEFAULT_LIMIT, FILTERS, MAX_LIMIT


def _json(description: str, media_type: str = "application/json") -> dict[str, Any]:
    return {"description": description, "content": {media_type: {"schema": {"type": "object"}}}}


def _param(
    name: str, description: str, schema: dict[str, Any], where: str = "query"
) -> dict[str, Any]:
    return {
        "name": name,
        "in": where,
        "required": where == "path",
        "description": description,
        "schema": schema,
        **({"style": "form", "explode": False} if schema.get("type") == "array" else {}),
    }


COLLECTION = _param(
    "collectionId", "A level's name, facilities or reports", {"type": "string"}, "path"
)
ERRORS = {
    "400": _json("Invalid parameter"),
    "401": _json("No or invalid key"),
    "403": _json("Role not allowed"),
    "404": _json("No such collection or feature"),
}


def openapi_30(base: str) -> dict[str, Any]:
    """The definition, with the server at ``base``."""
    items_params = [
        COLLECTION,
        _param(
            "limit",
            f"Features per page (a larger value is served as {MAX_LIMIT})",
            {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
        ),
        _param("offset", "Features to skip", {"type": "integer", "minimum": 0, "default": 0}),
        _param(
            "bbox",
            "minlon,minlat,maxlon,maxlat in CRS84",
            {"type": "array", "minItems": 4, "maxItems": 4, "items": {"type": "number"}},
        ),
        _param("datetime", "reports: an instant or start/end ('..' open)", {"type": "string"}),
        *[_param(name, "Equal to this value", {"type": "string"}) for name in FILTERS],
    ]

    def op(op_id: str, summary: str, params: list[Any], ok: dict[str, Any]) -> dict[str, Any]:
        return {
            "get": {
                "operationId": op_id,
                "summary": summary,
                "parameters": params,
                "responses": {"200": ok, **ERRORS},
            }
        }

    return {
        "openapi": "3.0.3",
        "info": {"title": "Wangge OGC API - Features", "version": VERSION},
        "servers": [{"url": base}],
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
        "paths": {
            "/ogc": op("getLandingPage", "Landing page", [], _json("Links")),
            "/ogc/conformance": op("getConformance", "Conformance", [], _json("Classes")),
            "/ogc/collections": op("getCollections", "Collections", [], _json("Collections")),
            "/ogc/collections/{collectionId}": op(
                "describeCollection", "A collection", [COLLECTION], _json("Collection")
            ),
            "/ogc/collections/{collectionId}/items": op(
                "getFeatures",
                "Features of a collection",
                items_params,
                _json("A FeatureCollection", "application/geo+json"),
            ),
            "/ogc/collections/{collectionId}/items/{featureId}": op(
                "getFeature",
                "One feature",
                [COLLECTION, _param("featureId", "Its id", {"type": "string"}, "path")],
                _json("A Feature", "application/geo+json"),
            ),
        },
    }
