"""Limits of what a request may carry: ids and offsets the databases can hold, bounded text.

Each limit is a 422 in the common error shape, never a 500 from the database, on a real SQLite
file and on a real PostGIS database.
"""

from __future__ import annotations

import pytest

from api.schemas import MAX_ID, MAX_OFFSET, ErrorBody
from tests.api.conftest import auth

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
def api(stored):
    return stored[0]


@pytest.fixture(scope="module")
def keys(stored):
    return stored[1]


@pytest.fixture(scope="module")
def report_id(api, keys) -> int:
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
def test_an_id_out_of_range_is_refused(api, keys, report_id, route, value):
    response = _call(api, keys, route, value, report_id)
    assert response.status_code == 422, response.text
    body = ErrorBody.model_validate(response.json())
    assert body.code == "invalid_request" and "path." in body.message


@pytest.mark.parametrize("route", ID_ROUTES, ids=lambda r: f"{r[1]} {r[2]}")
def test_the_largest_id_is_looked_up_and_not_found(api, keys, report_id, route):
    response = _call(api, keys, route, MAX_ID, report_id)
    assert response.status_code == 404, response.text
    ErrorBody.model_validate(response.json())


@pytest.mark.parametrize(("path", "name"), OFFSET_ROUTES)
def test_offsets_are_bounded(api, keys, path, name):
    admin = auth(keys["admin"])
    refused = api.get(path, params={name: MAX_OFFSET + 1}, headers=admin)
    assert refused.status_code == 422, refused.text
    assert ErrorBody.model_validate(refused.json()).code == "invalid_request"
    assert api.get(path, params={name: HUGE}, headers=admin).status_code == 422
    deepest = api.get(path, params={name: MAX_OFFSET}, headers=admin)
    assert deepest.status_code == 200, deepest.text


@pytest.mark.parametrize("value", [BEYOND, HUGE, 0, MAX_ID])
def test_duplicate_of_is_bounded(api, keys, report_id, value):
    """Out of range the schema refuses it; the largest id is looked up: no such report."""
    response = api.post(
        f"/reports/{report_id}/transitions",
        json={"to": "rejected", "duplicate_of": value},
        headers=auth(keys["dispatcher"]),
    )
    assert response.status_code == 422, response.text
    code = ErrorBody.model_validate(response.json()).code
    assert code == ("unknown_duplicate" if value == MAX_ID else "invalid_request")
