"""Every route refuses callers without a key (401) and roles it does not serve (403).

The table below must name every route of the app: a new route fails this test until its
roles are written here, so nothing ships unprotected by accident.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from api.access.keys import revoke_key
from api.access.policy import Role
from api.schemas import ErrorBody
from api.standards.schemas import Open311Error
from tests.api.conftest import auth, make_client

EVERYONE = {r.value for r in Role}
CASES = {"reporter", "grid_worker", "dispatcher", "admin"}
PUBLIC = "public"
PLANNING = {"planner", "dispatcher", "admin"}
RUNS_VOLUNTEERS = {"dispatcher", "admin"}

EXPECTED: dict[tuple[str, str], set[str] | str] = {
    ("GET", "/health"): PUBLIC,
    ("GET", "/lookup"): EVERYONE,
    ("POST", "/lookup/batch"): EVERYONE,
    ("GET", "/units"): EVERYONE,
    ("GET", "/units/{code}"): EVERYONE,
    ("GET", "/units/{code}/stats"): {"planner", "grid_worker", "dispatcher", "admin"},
    ("GET", "/categories"): EVERYONE,
    ("POST", "/reports"): CASES,
    ("GET", "/reports"): CASES,
    ("GET", "/reports/{report_id}"): CASES,
    ("GET", "/reports/{report_id}/events"): CASES,
    ("POST", "/reports/{report_id}/transitions"): {"grid_worker", "dispatcher", "admin"},
    ("POST", "/reports/{report_id}/rating"): {"reporter"},
    ("GET", "/reports/{report_id}/photos/{photo_id}"): CASES,
    ("POST", "/keys"): {"admin"},
    ("GET", "/keys"): {"admin"},
    ("DELETE", "/keys/{key_id}"): {"admin"},
    ("POST", "/webhooks"): {"admin"},
    ("GET", "/webhooks"): {"admin"},
    ("GET", "/webhooks/{subscription_id}"): {"admin"},
    ("PATCH", "/webhooks/{subscription_id}"): {"admin"},
    ("DELETE", "/webhooks/{subscription_id}"): {"admin"},
    ("GET", "/webhooks/{subscription_id}/deliveries"): {"admin"},
    ("POST", "/webhooks/{subscription_id}/replay"): {"admin"},
    ("POST", "/bench/noop"): EVERYONE,
    ("GET", "/maps/density"): {"planner", "grid_worker", "dispatcher", "admin"},
    ("GET", "/maps/coverage"): {"planner", "dispatcher", "admin"},
    ("GET", "/facilities/types"): PLANNING,
    ("POST", "/facilities"): {"admin"},
    ("GET", "/facilities"): PLANNING,
    ("GET", "/facilities/{facility_id}"): PLANNING,
    ("PATCH", "/facilities/{facility_id}"): {"admin"},
    ("DELETE", "/facilities/{facility_id}"): {"admin"},
    ("GET", "/coverage"): PLANNING,
    ("POST", "/coverage/suggest"): PLANNING,
    ("GET", "/analytics/hotspots"): {"grid_worker", "dispatcher", "planner", "admin"},
    ("GET", "/analytics/emerging"): {"grid_worker", "dispatcher", "planner", "admin"},
    ("GET", "/analytics/recurring"): {"grid_worker", "dispatcher", "planner", "admin"},
    ("GET", "/analytics/targets"): {"grid_worker", "dispatcher", "planner", "admin"},
    ("GET", "/analytics/performance"): {"grid_worker", "dispatcher", "planner", "admin"},
    # Open311 (WANGGE_OPEN311_PUBLIC_READ off, as here: every GET needs a key)
    ("GET", "/open311/v2/discovery.{fmt}"): EVERYONE,
    ("GET", "/open311/v2/services.{fmt}"): EVERYONE,
    ("GET", "/open311/v2/services/{service_code}.{fmt}"): EVERYONE,
    ("GET", "/open311/v2/requests.{fmt}"): CASES,
    ("POST", "/open311/v2/requests.{fmt}"): CASES,
    ("GET", "/open311/v2/requests/{service_request_id}.{fmt}"): CASES,
    ("GET", "/open311/v2/tokens/{token}.{fmt}"): CASES,
    # OGC API - Features: the documents without data are open; a collection's own roles
    # (facilities, reports) are checked in tests/api/standards/test_ogc.py
    ("GET", "/ogc"): PUBLIC,
    ("GET", "/ogc/api"): PUBLIC,
    ("GET", "/ogc/conformance"): PUBLIC,
    ("GET", "/ogc/collections"): EVERYONE,
    ("GET", "/ogc/collections/{collection_id}"): EVERYONE,
    ("GET", "/ogc/collections/{collection_id}/items"): EVERYONE,
    ("GET", "/ogc/collections/{collection_id}/items/{feature_id}"): EVERYONE,
    # vector tiles: case counts in them only for the roles that see counts (test_tiles.py)
    ("GET", "/tiles/{collection}.json"): EVERYONE,
    ("GET", "/tiles/{collection}/{z}/{x}/{y}.mvt"): EVERYONE,
    ("POST", "/boundaries/versions"): {"admin"},
    ("GET", "/boundaries/versions"): EVERYONE,
    ("GET", "/boundaries/versions/{version_id}"): EVERYONE,
    ("GET", "/boundaries/versions/{version_id}/diff"): {"admin"},
    ("POST", "/boundaries/versions/{version_id}/activate"): {"admin"},
    ("PUT", "/units/{code}/leader"): {"dispatcher", "admin"},
    ("DELETE", "/units/{code}/leader"): {"dispatcher", "admin"},
    ("GET", "/units/{code}/leaders"): EVERYONE,
    # volunteer services: the team lead acts for its own team (tests/api/volunteers)
    ("POST", "/volunteers/teams"): RUNS_VOLUNTEERS,
    ("GET", "/volunteers/teams"): RUNS_VOLUNTEERS | {"planner", "team_lead"},
    ("POST", "/volunteers"): RUNS_VOLUNTEERS | {"team_lead"},
    ("GET", "/volunteers"): RUNS_VOLUNTEERS | {"planner", "team_lead"},
    ("GET", "/volunteers/{volunteer_id}/points"): RUNS_VOLUNTEERS | {"team_lead"},
    ("POST", "/volunteers/{volunteer_id}/points/corrections"): {"admin"},
    ("GET", "/services/types"): EVERYONE,
    ("POST", "/services/orders"): CASES,
    ("GET", "/services/orders"): CASES | {"team_lead"},
    ("GET", "/services/orders/{order_id}"): CASES | {"team_lead"},
    ("GET", "/services/orders/{order_id}/events"): CASES | {"team_lead"},
    ("GET", "/services/orders/{order_id}/candidates"): RUNS_VOLUNTEERS,
    ("POST", "/services/orders/{order_id}/dispatch"): RUNS_VOLUNTEERS,
    ("POST", "/services/orders/{order_id}/accept"): {"team_lead"},
    ("POST", "/services/orders/{order_id}/decline"): {"team_lead"},
    ("POST", "/services/orders/{order_id}/complete"): {"team_lead"},
    ("POST", "/services/orders/{order_id}/rating"): {"reporter", "grid_worker"},
    ("GET", "/services/coverage"): PLANNING,
    ("POST", "/exchange/items"): {"admin"},
    ("GET", "/exchange/items"): EVERYONE,
    ("POST", "/exchange/redemptions"): RUNS_VOLUNTEERS | {"team_lead"},
    ("GET", "/maps/density/changes"): {"planner", "grid_worker", "dispatcher", "admin"},
    ("GET", "/maps/density/events"): {"planner", "grid_worker", "dispatcher", "admin"},
    ("GET", "/maps/density/queue"): {"planner", "grid_worker", "dispatcher", "admin"},
    ("GET", "/maps/density/cases/{report_id}"): {"grid_worker", "dispatcher", "admin"},
    ("GET", "/maps/density/units"): {"dispatcher", "admin"},
}

PATH_VALUES = {
    "code": "G1",
    "report_id": "1",
    "photo_id": "1",
    "key_id": "999",
    "facility_id": "999",
    "subscription_id": "999",
    "fmt": "json",
    "service_code": "noise",
    "service_request_id": "1",
    "token": "o311-none",
    "collection_id": "grid",
    "feature_id": "G1",
    "collection": "microgrid",
    "z": "16",
    "x": "0",
    "y": "0",
    "version_id": "1",
    "order_id": "1",
    "volunteer_id": "1",
}

#: The errors of the standards' routes in words (Open311's shape has no code of its own).
IN_WORDS = {"not_authenticated": "needs an API key", "forbidden": "may not use this route"}


def _error(response: Any, code: str) -> str:
    """The allowed part of an error with this code, in Wangge's shape or Open311's."""
    body = response.json()
    if isinstance(body, list):
        [error] = TypeAdapter(list[Open311Error]).validate_python(body)
        assert IN_WORDS[code] in error.description, error.description
        return error.description.split("; allowed: ", 1)[-1]
    parsed = ErrorBody.model_validate(body)
    assert parsed.code == code, parsed
    return parsed.allowed or ""


def _routes(client: TestClient) -> list[tuple[str, str]]:
    spec = client.app.openapi()  # type: ignore[attr-defined]
    return sorted((method.upper(), path) for path, ops in spec["paths"].items() for method in ops)


def _call(client: TestClient, method: str, path: str, headers: dict[str, str]):
    url = path.format(**PATH_VALUES)
    return client.request(method, url, headers=headers, json={} if method == "POST" else None)


@pytest.fixture(scope="module")
def walked(app_settings):
    client, keys = make_client(app_settings)
    yield client, keys
    client.__exit__(None, None, None)


def test_every_route_is_in_the_table(walked):
    client, _ = walked
    assert set(_routes(client)) == set(EXPECTED)


@pytest.mark.parametrize(("method", "path"), sorted(EXPECTED))
def test_route_refuses_the_wrong_callers(walked, method, path):
    client, keys = walked
    roles = EXPECTED[(method, path)]
    documented = client.app.openapi()["paths"][path][method.lower()]["responses"]  # type: ignore[attr-defined]
    anonymous = _call(client, method, path, {})
    assert str(anonymous.status_code) in documented
    if roles == PUBLIC:
        assert anonymous.status_code == 200
        return
    assert anonymous.status_code == 401, anonymous.text
    _error(anonymous, "not_authenticated")
    assert anonymous.headers["WWW-Authenticate"] == "Bearer"
    bogus = _call(client, method, path, auth("wg_00000000_not-a-key"))
    assert bogus.status_code == 401
    for role, key in keys.items():
        response = _call(client, method, path, auth(key))
        assert str(response.status_code) in documented, (role, response.status_code)
        if role in roles:
            assert response.status_code not in (401, 403), (role, response.text)
        else:
            assert response.status_code == 403, (role, response.text)
            assert role not in _error(response, "forbidden")


def test_x_api_key_header_works(walked):
    client, keys = walked
    assert client.get("/categories", headers={"X-API-Key": keys["planner"]}).status_code == 200


def test_revoked_key_is_refused(app_settings):
    client, keys = make_client(app_settings)
    try:
        admin = auth(keys["admin"])
        made = client.post("/keys", json={"role": "reporter"}, headers=admin).json()
        new_key = made["key"]
        assert client.get("/categories", headers=auth(new_key)).status_code == 200
        assert client.delete(f"/keys/{made['id']}", headers=admin).status_code == 200
        # at once, on the worker that revoked it (its cache entry is dropped)
        assert client.get("/categories", headers=auth(new_key)).status_code == 401
    finally:
        client.__exit__(None, None, None)


def test_rate_limit_per_key(app_settings):
    client, keys = make_client(app_settings.model_copy(update={"rate_limit_per_minute": 5}))
    try:
        codes = [
            client.get("/categories", headers=auth(keys["planner"])).status_code for _ in range(7)
        ]
        assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]
        limited = client.get("/categories", headers=auth(keys["planner"]))
        assert int(limited.headers["Retry-After"]) >= 1
        assert ErrorBody.model_validate(limited.json()).code == "rate_limited"
        # another key has its own budget
        assert client.get("/categories", headers=auth(keys["admin"])).status_code == 200
    finally:
        client.__exit__(None, None, None)


def test_multipart_body_cap(walked, app_settings):
    client, keys = walked
    too_big = b"\x89PNG\r\n\x1a\n" + b"\x00" * (app_settings.max_upload_bytes + 10)
    response = client.post(
        "/reports",
        data={"lon": "117.2", "lat": "39.1", "category": "noise"},
        files=[("photos", ("big.png", too_big, "image/png"))],
        headers=auth(keys["reporter"]),
    )
    assert response.status_code == 413
    assert ErrorBody.model_validate(response.json()).code == "body_too_large"


def test_create_key_validation(walked):
    client, keys = walked
    admin = auth(keys["admin"])
    for body, code in [
        ({"role": "king"}, "unknown_role"),
        ({"role": "grid_worker"}, "unit_required"),
        ({"role": "grid_worker", "unit_code": "NOPE"}, "unit_not_found"),
    ]:
        response = client.post("/keys", json=body, headers=admin)
        assert response.status_code in (404, 422)
        assert ErrorBody.model_validate(response.json()).code == code


def test_key_lookups_run_off_the_event_loop(app_settings):
    """A key not in the cache is read from the database in a thread, never on the loop."""
    client, keys = make_client(app_settings)
    store = client.app.state.keys  # type: ignore[attr-defined]
    seen: list[bool] = []
    lookup = store._lookup

    def recording_lookup(key: str, digest: str):  # type: ignore[no-untyped-def]
        try:
            asyncio.get_running_loop()
            seen.append(True)  # on the event loop: every other request waits for it
        except RuntimeError:
            seen.append(False)
        return lookup(key, digest)

    store._lookup = recording_lookup
    try:
        assert client.get("/categories", headers=auth(keys["planner"])).status_code == 200
        assert seen == [False]
    finally:
        client.__exit__(None, None, None)


def test_key_revoked_elsewhere_stops_within_the_cache_lifetime(app_settings):
    """Revoked by another worker or the command line: refused here within about a second."""
    client, keys = make_client(app_settings)
    try:
        admin = auth(keys["admin"])
        made = client.post("/keys", json={"role": "reporter"}, headers=admin).json()
        assert client.get("/categories", headers=auth(made["key"])).status_code == 200
        with client.app.state.db.session() as session:  # type: ignore[attr-defined]
            revoke_key(session, made["id"])  # as another process would, past this one's cache
        deadline = time.monotonic() + 10
        while client.get("/categories", headers=auth(made["key"])).status_code == 200:
            assert time.monotonic() < deadline, "a revoked key kept working"
            time.sleep(0.05)
        assert client.get("/categories", headers=auth(made["key"])).status_code == 401
    finally:
        client.__exit__(None, None, None)


#: Routes outside the OpenAPI description that need no key: the API's own description, the
#: sign-in form (it takes the key), sign-out, and the map pages' static files (no data).
OPEN_OUTSIDE_SCHEMA = {
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/docs/oauth2-redirect"),
    ("GET", "/redoc"),
    ("GET", "/signin"),
    ("POST", "/signin"),
    ("POST", "/signout"),
    ("GET", "/static/maps/{path}"),
}


def _all_routes(routes: list[Any]) -> set[tuple[str, str]]:
    """(method, path) of every route, included routers walked into."""
    found = set()
    for route in routes:
        included = getattr(route, "original_router", None)
        if included is not None:
            found |= _all_routes(included.routes)
        for method in getattr(route, "methods", None) or ():
            if method != "HEAD":
                found.add((method, getattr(route, "path_format", route.path)))
    return found


def test_every_route_of_the_app_is_accounted_for(walked):
    """What the README says: every route needs a key but /health and these open ones."""
    client, _ = walked
    assert _all_routes(client.app.routes) == set(EXPECTED) | OPEN_OUTSIDE_SCHEMA  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
        ("GET", "/redoc"),
        ("GET", "/signin"),
        ("GET", "/static/maps/leaflet/leaflet.js"),
    ],
)
def test_open_routes_answer_without_a_key(walked, method, path):
    client, _ = walked
    assert client.request(method, path).status_code == 200
