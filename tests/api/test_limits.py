"""Limits of what a request may carry: ids and offsets the databases can hold, bounded text.

Each limit is a 422 in the common error shape, never a 500 from the database, on a real SQLite
file and on a real PostGIS database.
"""

from __future__ import annotations

import pytest

from api.schemas import MAX_ID, MAX_OFFSET, ErrorBody
from tests.api.conftest import auth, png

BEYOND = MAX_ID + 1  # 2**31: "integer out of range" on PostgreSQL
HUGE = 2**63  # "Python int too large to convert to SQLite INTEGER"

#: (role, method, path, body) of every route with an id in its path, with the id as {id}.
ID_ROUTES = [
    ("dispatcher", "GET", "/reports/{id}", None),
    ("dispatcher", "GET", "/reports/{id}/events", None),
    ("dispatcher", "POST", "/reports/{id}/transitions", {"to": "accepted"}),
    ("reporter", "POST", "/reports/{id}/rating", {"score": 5}),
    ("dispatcher", "GET", "/reports/{id}/photos/1", None),
    ("dispatcher", "GET", "/reports/{report}/photos/{id}", None),
    ("admin", "GET", "/facilities/{id}", None),
    ("admin", "PATCH", "/facilities/{id}", {"name": "新名字"}),
    ("admin", "DELETE", "/facilities/{id}", None),
    ("admin", "DELETE", "/keys/{id}", None),
]

#: (path, the paging parameter) of every route with an offset.
OFFSET_ROUTES = [("/reports", "offset"), ("/facilities", "offset"), ("/units", "offset")]


@pytest.fixture(scope="module")
def report_id(stored) -> int:
    api, keys = stored
    made = api.post(
        "/reports",
        json={"lon": 117.2025, "lat": 39.1025, "category": "noise"},
        headers=auth(keys["reporter"]),
    )
    assert made.status_code == 201, made.text
    return int(made.json()["id"])


def _call(api, keys, route, value, report_id):
    role, method, path, body = route
    url = path.format(id=value, report=report_id)
    return api.request(method, url, json=body, headers=auth(keys[role]))


@pytest.mark.parametrize("route", ID_ROUTES, ids=lambda r: f"{r[1]} {r[2]}")
@pytest.mark.parametrize("value", [BEYOND, HUGE, 2**70, 0, -1])
def test_an_id_out_of_range_is_refused(stored, report_id, route, value):
    api, keys = stored
    response = _call(api, keys, route, value, report_id)
    body = ErrorBody.model_validate(response.json())
    if value < 0 and route[2].startswith("/facilities/"):
        # the route takes digits only (/facilities/types is its sibling): no such path
        assert response.status_code == 404 and body.code == "not_found"
        return
    assert response.status_code == 422, response.text
    assert body.code == "invalid_request" and "path." in body.message


@pytest.mark.parametrize("route", ID_ROUTES, ids=lambda r: f"{r[1]} {r[2]}")
def test_the_largest_id_is_looked_up_and_not_found(stored, report_id, route):
    api, keys = stored
    response = _call(api, keys, route, MAX_ID, report_id)
    assert response.status_code == 404, response.text
    ErrorBody.model_validate(response.json())


@pytest.mark.parametrize(("path", "name"), OFFSET_ROUTES)
def test_offsets_are_bounded(stored, path, name):
    api, keys = stored
    admin = auth(keys["admin"])
    refused = api.get(path, params={name: MAX_OFFSET + 1}, headers=admin)
    assert refused.status_code == 422, refused.text
    assert ErrorBody.model_validate(refused.json()).code == "invalid_request"
    assert api.get(path, params={name: HUGE}, headers=admin).status_code == 422
    deepest = api.get(path, params={name: MAX_OFFSET}, headers=admin)
    assert deepest.status_code == 200, deepest.text


@pytest.mark.parametrize("value", [BEYOND, HUGE, 0, MAX_ID])
def test_duplicate_of_is_bounded(stored, report_id, value):
    api, keys = stored
    """Out of range the schema refuses it; the largest id is looked up: no such report."""
    response = api.post(
        f"/reports/{report_id}/transitions",
        json={"to": "rejected", "duplicate_of": value},
        headers=auth(keys["dispatcher"]),
    )
    assert response.status_code == 422, response.text
    code = ErrorBody.model_validate(response.json()).code
    assert code == ("unknown_duplicate" if value == MAX_ID else "invalid_request")


# -- text: every free-text field has a maximum length ----------------------------------------

REPORT = {"lon": 117.2025, "lat": 39.1025, "category": "noise"}
FACILITY = {"type": "elderly_care", "name": "养老中心", "lon": 117.2025, "lat": 39.1025}


def _feature(id_: str) -> dict[str, object]:
    point = {"type": "Point", "coordinates": [117.2025, 39.1025]}
    feature = {"type": "Feature", "id": id_, "geometry": point}
    return {"type": "FeatureCollection", "features": [feature]}


#: (role, method, path, where, field, limit): where is json (a body field; a callable builds
#: the whole body), query, form or multipart. Every field is tried one character too long.
TEXT_FIELDS = [
    ("planner", "POST", "/lookup/batch", "json", "crs", 32),
    ("planner", "POST", "/lookup/batch", _feature, "id", 200),
    ("reporter", "POST", "/reports", "json", "crs", 32),
    ("reporter", "POST", "/reports", "json", "category", 64),
    ("reporter", "POST", "/reports", "json", "description", 5000),
    ("reporter", "POST", "/reports", "json", "address", 500),
    ("reporter", "POST", "/reports", "json", "name", 200),
    ("reporter", "POST", "/reports", "json", "phone", 50),
    ("reporter", "POST", "/reports", "multipart", "description", 5000),
    ("reporter", "POST", "/reports", "multipart", "category", 64),
    ("dispatcher", "POST", "/reports/{report}/transitions", "json", "to", 20),
    ("dispatcher", "POST", "/reports/{report}/transitions", "json", "note", 2000),
    ("dispatcher", "POST", "/reports/{report}/transitions", "json", "unit_code", 64),
    ("dispatcher", "POST", "/reports/{report}/transitions", "json", "escalate_to", 100),
    ("reporter", "POST", "/reports/{report}/rating", "json", "comment", 2000),
    ("admin", "POST", "/keys", "json", "role", 20),
    ("admin", "POST", "/keys", "json", "unit_code", 64),
    ("admin", "POST", "/keys", "json", "name", 200),
    ("admin", "POST", "/facilities", "json", "type", 64),
    ("admin", "POST", "/facilities", "json", "name", 200),
    ("admin", "POST", "/facilities", "json", "crs", 32),
    ("admin", "PATCH", "/facilities/1", "json", "type", 64),
    ("admin", "PATCH", "/facilities/1", "json", "name", 200),
    ("admin", "PATCH", "/facilities/1", "json", "crs", 32),
    ("planner", "POST", "/coverage/suggest", "json", "facility_type", 64),
    ("planner", "POST", "/coverage/suggest", "json", "level", 64),
    ("planner", "POST", "/coverage/suggest", "json", "crs", 32),
    ("planner", "GET", "/lookup", "query", "crs", 32),
    ("planner", "POST", "/lookup/batch", "query", "crs", 32),
    ("planner", "GET", "/units", "query", "level", 64),
    ("planner", "GET", "/units", "query", "parent", 64),
    ("planner", "GET", "/units/{long}", "path", "code", 64),
    ("planner", "GET", "/units/{long}/stats", "path", "code", 64),
    ("dispatcher", "GET", "/reports", "query", "status", 20),
    ("dispatcher", "GET", "/reports", "query", "category", 64),
    ("dispatcher", "GET", "/reports", "query", "unit", 64),
    ("dispatcher", "GET", "/reports", "query", "bbox", 200),
    ("dispatcher", "GET", "/maps/density", "query", "level", 64),
    ("dispatcher", "GET", "/maps/density", "query", "category", 64),
    ("dispatcher", "GET", "/maps/density", "query", "status", 20),
    ("planner", "GET", "/maps/coverage", "query", "facility_type", 64),
    ("planner", "GET", "/maps/coverage", "query", "level", 64),
    ("planner", "GET", "/coverage", "query", "facility_type", 64),
    ("planner", "GET", "/coverage", "query", "level", 64),
    ("planner", "GET", "/facilities", "query", "type", 64),
    (None, "GET", "/signin", "query", "next", 2000),
    (None, "POST", "/signin", "form", "next", 2000),
    (None, "POST", "/signin", "form", "key", 200),
]

BASES = {
    ("GET", "/lookup"): {"lon": 117.2025, "lat": 39.1025},
    ("POST", "/lookup/batch"): {"points": [[117.2025, 39.1025]]},
    ("POST", "/reports"): REPORT,
    ("POST", "/reports/{report}/transitions"): {"to": "accepted"},
    ("POST", "/reports/{report}/rating"): {"score": 5},
    ("POST", "/keys"): {"role": "dispatcher"},
    ("POST", "/facilities"): FACILITY,
    ("PATCH", "/facilities/1"): {},
    ("POST", "/coverage/suggest"): {"k": 1},
    ("POST", "/signin"): {"key": "wg_00000000_x"},
}


def _text_request(api, keys, report_id, spec, value):  # type: ignore[no-untyped-def]
    role, method, path, where, field, _ = spec
    headers = auth(keys[role]) if role else {}
    base = BASES.get((method, path), {})
    url = path.format(report=report_id, long=value)
    kwargs: dict[str, object] = {}
    if callable(where):
        kwargs["json"] = where(value)
    elif where == "json":
        kwargs["json"] = base | {field: value}
    elif where == "query" and method == "GET":
        kwargs["params"] = base | {field: value}
    elif where == "query":
        kwargs["params"] = {field: value}
        kwargs["json"] = base
    elif where in ("form", "multipart"):
        kwargs["data"] = {k: str(v) for k, v in base.items()} | {field: value}
        if where == "multipart":  # a report with a photo
            kwargs["files"] = [("photos", ("a.png", png(), "image/png"))]
    return api.request(method, url, headers=headers, **kwargs)


def _text_id(spec) -> str:  # type: ignore[no-untyped-def]
    where = spec[3] if isinstance(spec[3], str) else "json"
    return f"{spec[1]} {spec[2]} {spec[4]} ({where})"


@pytest.mark.parametrize("spec", TEXT_FIELDS, ids=_text_id)
def test_every_text_field_is_bounded(stored, report_id, spec):
    api, keys = stored
    limit = spec[5]
    response = _text_request(api, keys, report_id, spec, "x" * (limit + 1))
    assert response.status_code == 422, response.text
    body = ErrorBody.model_validate(response.json())
    assert body.code == "invalid_request"
    too_long = [d for d in body.details if d["type"] == "string_too_long"]
    assert too_long and spec[4] in too_long[0]["field"].split("."), body.details
    assert str(limit) in too_long[0]["problem"]


@pytest.mark.parametrize(
    ("role", "path", "params"),
    [
        ("planner", "/units", {"level": ""}),
        ("planner", "/units", {"parent": ""}),
        ("planner", "/lookup", {"lon": 117.2, "lat": 39.1, "crs": ""}),
        ("dispatcher", "/reports", {"category": ""}),
        ("dispatcher", "/reports", {"status": ""}),
        ("planner", "/coverage", {"level": ""}),
        ("planner", "/facilities", {"type": ""}),
    ],
)
def test_an_empty_code_is_refused_by_the_schema(stored, role, path, params):
    api, keys = stored
    """An empty name names nothing: the schema says so (minLength 1), as the service did."""
    response = api.get(path, params=params, headers=auth(keys[role]))
    assert response.status_code == 422, response.text
    assert ErrorBody.model_validate(response.json()).details[0]["type"] == "string_too_short"


def test_an_empty_target_state_is_refused_by_the_schema(stored, report_id):
    api, keys = stored
    response = api.post(
        f"/reports/{report_id}/transitions", json={"to": ""}, headers=auth(keys["dispatcher"])
    )
    assert response.status_code == 422
    assert ErrorBody.model_validate(response.json()).details[0]["type"] == "string_too_short"


def test_the_longest_department_is_stored(stored):
    api, keys = stored
    """escalate_to at its limit fits the department column on both databases."""
    made = api.post("/reports", json=REPORT, headers=auth(keys["reporter"])).json()
    department = "区" * 100
    moved = api.post(
        f"/reports/{made['id']}/transitions",
        json={"to": "escalated", "escalate_to": department},
        headers=auth(keys["dispatcher"]),
    )
    assert moved.status_code == 200, moved.text
    assert moved.json()["department"] == department


def _strings_without_limit(schema, spec, where):  # type: ignore[no-untyped-def]
    """Places in a JSON schema (refs followed) where a string has no maxLength."""
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        yield from _strings_without_limit(spec["components"]["schemas"][name], spec, where)
        return
    if schema.get("type") == "string" and "maxLength" not in schema:
        # words, times and files
        if not ({"enum", "const", "format", "contentMediaType"} & set(schema)):
            yield where
    for key in ("anyOf", "oneOf", "allOf", "prefixItems"):
        for i, sub in enumerate(schema.get(key, [])):
            yield from _strings_without_limit(sub, spec, f"{where}/{key}{i}")
    for name, sub in schema.get("properties", {}).items():
        yield from _strings_without_limit(sub, spec, f"{where}.{name}")
    if isinstance(schema.get("items"), dict):
        yield from _strings_without_limit(schema["items"], spec, f"{where}[]")


def test_every_string_a_request_carries_has_a_maximum_length(stored):
    api = stored[0]
    """The OpenAPI description, walked: every parameter and body field that is free text has
    maxLength (a new field without one fails here)."""
    spec = api.app.openapi()
    unbounded = []
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            where = f"{method.upper()} {path}"
            for parameter in operation.get("parameters", []):
                unbounded += _strings_without_limit(
                    parameter["schema"], spec, f"{where} {parameter['name']}"
                )
            for media, content in operation.get("requestBody", {}).get("content", {}).items():
                unbounded += _strings_without_limit(content["schema"], spec, f"{where} {media}")
    assert unbounded == []


# -- numbers: a JSON body's numbers are JSON numbers -----------------------------------------

POINT = {"type": "Point", "coordinates": [117.2025, 39.1025, False]}

#: (role, method, path, body): each has one true/false or string where a number belongs.
NOT_NUMBERS = [
    ("planner", "POST", "/lookup/batch", {"points": [[117.2025, False]]}),
    ("planner", "POST", "/lookup/batch", {"points": [["117.2025", 39.1025]]}),
    (
        "planner",
        "POST",
        "/lookup/batch",
        {"type": "FeatureCollection", "features": [{"type": "Feature", "geometry": POINT}]},
    ),
    ("reporter", "POST", "/reports", REPORT | {"lon": False}),
    ("reporter", "POST", "/reports", REPORT | {"lat": "39.1025"}),
    ("reporter", "POST", "/reports/{report}/rating", {"score": True}),
    (
        "dispatcher",
        "POST",
        "/reports/{report}/transitions",
        {"to": "rejected", "duplicate_of": True},
    ),
    ("admin", "POST", "/facilities", FACILITY | {"lat": True}),
    ("admin", "POST", "/facilities", FACILITY | {"capacity": True}),
    ("admin", "PATCH", "/facilities/1", {"lon": False, "lat": False}),
    ("planner", "POST", "/coverage/suggest", {"k": True}),
    ("planner", "POST", "/coverage/suggest", {"k": 1, "minutes": "15"}),
    ("planner", "POST", "/coverage/suggest", {"k": 1, "candidates": [[0, False]]}),
]


@pytest.mark.parametrize(("role", "method", "path", "body"), NOT_NUMBERS, ids=lambda v: str(v)[:40])
def test_a_boolean_or_a_string_is_not_a_number(stored, report_id, role, method, path, body):
    api, keys = stored
    url = path.format(report=report_id)
    response = api.request(method, url, json=body, headers=auth(keys[role]))
    assert response.status_code == 422, response.text
    types = {d["type"] for d in ErrorBody.model_validate(response.json()).details}
    assert types & {"float_type", "int_type"}, types


def test_a_form_is_text_and_its_numbers_are_read_from_it(stored):
    api, keys = stored
    made = api.post(
        "/reports",
        data={"lon": "117.2025", "lat": "39.1025", "category": "noise"},
        files=[("photos", ("a.png", png(), "image/png"))],
        headers=auth(keys["reporter"]),
    )
    assert made.status_code == 201, made.text
    assert made.json()["input"]["lon"] == 117.2025
