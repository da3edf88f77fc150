"""Browser writes: the session cookie plus the session's CSRF token (from the page's
``<meta name="csrf-token">``) moves a case; the cookie alone, another origin, another
session's token or a stale one is refused (403 in the error shape)."""

from __future__ import annotations

import re

import pytest

from api.access.sessions import CSRF_HEADER, SESSION_COOKIE
from api.schemas import ErrorBody
from tests.api.conftest import auth, make_client

OWN = "http://testserver"
META = re.compile(r'<meta name="csrf-token" content="([^"]*)">')


@pytest.fixture(scope="module")
def served(app_settings):
    client, keys = make_client(app_settings)
    yield client, keys
    client.__exit__(None, None, None)


def sign_in(client, key) -> str:
    client.cookies.clear()
    response = client.post("/signin", data={"key": key}, follow_redirects=False)
    assert response.status_code == 303, response.text
    return response.cookies[SESSION_COOKIE]


def page_token(client, cookie) -> str:
    """The CSRF token of the density page this session is served."""
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, cookie)
    page = client.get("/maps/density", headers={"Accept": "text/html"})
    client.cookies.clear()
    assert page.status_code == 200, page.text[:500]
    found = META.search(page.text)
    assert found, "no csrf-token meta in the page"
    return found.group(1)


def new_case(client, keys) -> int:
    body = {"lon": 117.202, "lat": 39.102, "crs": "wgs84", "category": "noise"}
    response = client.post("/reports", json=body, headers=auth(keys["reporter"]))
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def accept(client, report, cookie, headers):
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, cookie)
    try:
        return client.post(
            f"/reports/{report}/transitions", json={"to": "accepted"}, headers=headers
        )
    finally:
        client.cookies.clear()


def refused(response, code):
    assert response.status_code == 403, response.text
    body = ErrorBody.model_validate(response.json())
    assert body.code == code and body.allowed
    return body


def test_the_cookie_with_the_pages_token_writes(served):
    client, keys = served
    cookie = sign_in(client, keys["dispatcher"])
    token = page_token(client, cookie)
    report = new_case(client, keys)
    done = accept(client, report, cookie, {CSRF_HEADER: token, "Origin": OWN})
    assert done.status_code == 200, done.text
    assert done.json()["status"] == "accepted"
    # the change is the session's key's: the audit trail names the dispatcher
    events = client.get(f"/reports/{report}/events", headers=auth(keys["dispatcher"])).json()
    assert events[-1]["actor"] == "dispatcher" and events[-1]["to_status"] == "accepted"


def test_no_origin_header_with_the_token_writes(served):
    """A request naming no origin comes from no browser's cross-site form; the token holds."""
    client, keys = served
    cookie = sign_in(client, keys["dispatcher"])
    token = page_token(client, cookie)
    report = new_case(client, keys)
    assert accept(client, report, cookie, {CSRF_HEADER: token}).status_code == 200


def test_the_cookie_alone_writes_nothing(served):
    client, keys = served
    cookie = sign_in(client, keys["dispatcher"])
    report = new_case(client, keys)
    refused(accept(client, report, cookie, {"Origin": OWN}), "csrf_token_required")
    status = client.get(f"/reports/{report}", headers=auth(keys["dispatcher"])).json()["status"]
    assert status == "assigned"


@pytest.mark.parametrize(
    "origin",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://testserver.evil.example"},
        {"Referer": "https://evil.example/page.html"},
    ],
)
def test_a_write_from_another_origin_is_refused(served, origin):
    client, keys = served
    cookie = sign_in(client, keys["dispatcher"])
    token = page_token(client, cookie)  # even with the right token
    report = new_case(client, keys)
    refused(accept(client, report, cookie, {CSRF_HEADER: token, **origin}), "cross_site_request")


def test_another_sessions_token_is_refused(served):
    client, keys = served
    mine = sign_in(client, keys["dispatcher"])
    theirs = page_token(client, sign_in(client, keys["admin"]))
    report = new_case(client, keys)
    refused(accept(client, report, mine, {CSRF_HEADER: theirs}), "csrf_token_invalid")


def test_a_stale_token_is_refused(served):
    """After signing out and in again, the old page's token is no longer good."""
    client, keys = served
    old = sign_in(client, keys["dispatcher"])
    stale = page_token(client, old)
    client.cookies.set(SESSION_COOKIE, old)
    assert client.post("/signout", follow_redirects=False).status_code == 303
    fresh = sign_in(client, keys["dispatcher"])
    report = new_case(client, keys)
    refused(accept(client, report, fresh, {CSRF_HEADER: stale}), "csrf_token_invalid")
    # and the old session with its own token is signed out: 401
    assert accept(client, report, old, {CSRF_HEADER: stale}).status_code == 401


@pytest.mark.parametrize("token", ["", "x" * 64, "夹带", "a.b"])
def test_made_up_tokens_are_refused(served, token):
    client, keys = served
    cookie = sign_in(client, keys["dispatcher"])
    report = new_case(client, keys)
    response = accept(client, report, cookie, {CSRF_HEADER: token.encode("utf-8")})
    assert response.status_code == 403
    assert ErrorBody.model_validate(response.json()).code in (
        "csrf_token_required",
        "csrf_token_invalid",
    )


def test_a_token_without_the_cookie_is_no_key(served):
    client, keys = served
    token = page_token(client, sign_in(client, keys["dispatcher"]))
    client.cookies.clear()
    report = new_case(client, keys)
    response = client.post(
        f"/reports/{report}/transitions", json={"to": "accepted"}, headers={CSRF_HEADER: token}
    )
    assert response.status_code == 401


def test_a_page_served_to_a_key_carries_no_token(served):
    client, keys = served
    client.cookies.clear()
    page = client.get("/maps/density", headers=auth(keys["dispatcher"]))
    assert page.status_code == 200
    assert META.search(page.text).group(1) == ""
