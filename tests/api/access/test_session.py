"""Browser sign-in: a key in a POST body becomes a signed HttpOnly cookie, good for reading."""

from __future__ import annotations

import pytest

from api.access.sessions import SESSION_COOKIE, SessionSigner
from tests.api.conftest import make_client


@pytest.fixture(scope="module")
def browser(app_settings):
    client, keys = make_client(app_settings)
    yield client, keys
    client.__exit__(None, None, None)


def _sign_in(client, key, next_path=None):
    data = {"key": key}
    if next_path is not None:
        data["next"] = next_path
    return client.post("/signin", data=data, follow_redirects=False)


def test_signin_page_is_public_and_offline(browser):
    client, _ = browser
    page = client.get("/signin")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert 'type="password"' in page.text
    assert "http://" not in page.text and "https://" not in page.text


def test_wrong_key_stays_on_the_form(browser):
    client, _ = browser
    response = _sign_in(client, "wg_00000000_wrong")
    assert response.status_code == 401
    assert "Unknown or revoked key" in response.text
    assert SESSION_COOKIE not in response.cookies


def test_key_becomes_a_cookie_for_reading(browser):
    client, keys = browser
    client.cookies.clear()
    response = _sign_in(client, keys["dispatcher"], "/categories")
    assert response.status_code == 303 and response.headers["location"] == "/categories"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    assert keys["dispatcher"] not in cookie  # the key itself never goes back to the browser
    client.cookies.set(SESSION_COOKIE, response.cookies[SESSION_COOKIE])
    assert client.get("/categories").status_code == 200
    # a cookie alone can read, never change anything (no cross-site request forgery)
    posted = client.post("/reports", json={"lon": 117.2, "lat": 39.1, "category": "noise"})
    assert posted.status_code == 401
    client.cookies.clear()


@pytest.mark.parametrize(
    "target",
    [
        "https://evil.example/",  # another site
        "//evil.example/x",  # scheme-relative
        "/\\evil.example/x",  # browsers read /\ as //
        None,  # nothing: the density map
    ],
)
def test_no_open_redirect(browser, target):
    client, keys = browser
    response = _sign_in(client, keys["dispatcher"], target)
    assert response.headers["location"] == "/maps/density"
    client.cookies.clear()


def test_tampered_or_expired_cookie_is_refused(browser):
    client, keys = browser
    token = _sign_in(client, keys["planner"]).cookies[SESSION_COOKIE]
    key_id, expires, mac = token.split(".")
    for bad in (f"{int(key_id) + 1}.{expires}.{mac}", f"{key_id}.{int(expires) + 1}.{mac}"):
        client.cookies.clear()
        client.cookies.set(SESSION_COOKIE, bad)
        assert client.get("/categories").status_code == 401
    expired = SessionSigner("s", hours=1)
    expired.seconds = -10
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, expired.sign(int(key_id)))
    assert client.get("/categories").status_code == 401
    client.cookies.clear()


def test_signout_clears_the_cookie(browser):
    client, _ = browser
    response = client.post("/signout", follow_redirects=False)
    assert response.status_code == 303
    assert f'{SESSION_COOKIE}=""' in response.headers["set-cookie"]
