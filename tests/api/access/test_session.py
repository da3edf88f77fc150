"""Browser sign-in: a key in a POST body becomes a signed HttpOnly cookie, good for reading,
until it expires, the browser signs out or the key is revoked; never from another site's form;
Secure behind a trusted TLS proxy."""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from api.access.sessions import SESSION_COOKIE
from api.db.models import BrowserSession
from api.schemas import ErrorBody
from tests.api.conftest import auth, make_client
from tests.api.process import new_key, running_server

OWN = "http://testserver"  # the TestClient's origin
HTML = {"Accept": "text/html"}


@pytest.fixture(scope="module")
def browser(app_settings):
    client, keys = make_client(app_settings)
    yield client, keys
    client.__exit__(None, None, None)


@pytest.fixture(scope="module")
def two_workers(app_settings):
    """Two apps on one database with one session secret, as two `wangge serve` workers."""
    settings = app_settings.model_copy(update={"session_secret": "one secret for both"})
    first, keys = make_client(settings)
    second, _ = make_client(settings)
    yield first, second, keys
    for client in (first, second):
        client.__exit__(None, None, None)


def _sign_in(client, key, next_path=None, headers=None):
    data = {"key": key}
    if next_path is not None:
        data["next"] = next_path
    return client.post("/signin", data=data, headers=headers, follow_redirects=False)


def _cookie(client, key, headers=None) -> str:
    response = _sign_in(client, key, headers=headers)
    assert response.status_code == 303, response.text
    return response.cookies[SESSION_COOKIE]


def _read(client: TestClient, cookie: str, path="/categories", headers=None) -> httpx.Response:
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, cookie)
    try:
        return client.get(path, headers=headers, follow_redirects=False)
    finally:
        client.cookies.clear()


def _wait_refused(client: TestClient, cookie: str) -> None:
    """Poll until the cookie is refused (10 s at most): the cache answers for about a second."""
    deadline = time.monotonic() + 10
    while _read(client, cookie).status_code == 200:
        assert time.monotonic() < deadline, "an ended session kept working"
        time.sleep(0.05)
    assert _read(client, cookie).status_code == 401


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
    assert "密钥无效或已吊销" in response.text  # Chinese unless the browser asks otherwise
    assert SESSION_COOKIE not in response.cookies


@pytest.mark.parametrize(
    "query, headers, words, lang",
    [
        ("", {}, ("登录", "API 密钥"), "zh-CN"),
        ("?lang=en", {}, ("Sign in", "API key"), "en-GB"),
        ("", {"Accept-Language": "en-US,en;q=0.8"}, ("Sign in",), "en-GB"),
        ("?lang=zh", {"Accept-Language": "en"}, ("登录",), "zh-CN"),
    ],
)
def test_signin_page_speaks_chinese_first(browser, query, headers, words, lang):
    client, _ = browser
    page = client.get("/signin" + query, headers=headers)
    assert page.status_code == 200
    assert f'<html lang="{lang}">' in page.text
    for word in words:
        assert word in page.text


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
    # a cookie alone can read, never change anything (no cross-site request forgery): a
    # write also needs the session's CSRF token (tests/api/access/test_csrf.py)
    posted = client.post("/reports", json={"lon": 117.2, "lat": 39.1, "category": "noise"})
    assert posted.status_code == 403 and posted.json()["code"] == "csrf_token_required"
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


def test_tampered_cookie_is_refused(browser):
    client, keys = browser
    cookie = _cookie(client, keys["planner"])
    session_id, mac = cookie.split(".")
    assert _read(client, cookie).status_code == 200
    other = "x" * len(session_id)
    for bad in (f"{other}.{mac}", f"{session_id}.{'0' * len(mac)}", session_id, "", "."):
        assert _read(client, bad).status_code == 401, bad


def test_expired_session_is_refused(browser):
    client, keys = browser
    cookie = _cookie(client, keys["planner"])
    assert _read(client, cookie).status_code == 200
    with client.app.state.db.session() as session:  # type: ignore[attr-defined]
        session.execute(
            update(BrowserSession).values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
        session.commit()
    _wait_refused(client, cookie)


def test_signout_ends_the_session(browser):
    """The old cookie, sent again after signing out, is refused: 401 for an API client, the
    sign-in form for a browser."""
    client, keys = browser
    cookie = _cookie(client, keys["dispatcher"])
    assert _read(client, cookie).status_code == 200
    assert _read(client, cookie, "/maps/density", HTML).status_code == 200
    client.cookies.set(SESSION_COOKIE, cookie)
    response = client.post("/signout", headers={"Origin": OWN}, follow_redirects=False)
    client.cookies.clear()
    assert response.status_code == 303 and response.headers["location"] == "/signin"
    assert f'{SESSION_COOKIE}=""' in response.headers["set-cookie"]
    refused = _read(client, cookie)
    assert refused.status_code == 401
    assert ErrorBody.model_validate(refused.json()).code == "not_authenticated"
    page = _read(client, cookie, "/maps/density", HTML)
    assert page.status_code == 303 and page.headers["location"].startswith("/signin?next=")


def test_signout_without_a_session_clears_the_cookie(browser):
    client, _ = browser
    response = client.post("/signout", follow_redirects=False)
    assert response.status_code == 303
    assert f'{SESSION_COOKIE}=""' in response.headers["set-cookie"]


def test_another_worker_honours_a_signout(two_workers):
    first, second, keys = two_workers
    cookie = _cookie(first, keys["dispatcher"])
    assert _read(second, cookie).status_code == 200  # the other worker knows the session
    first.cookies.set(SESSION_COOKIE, cookie)
    assert first.post("/signout", follow_redirects=False).status_code == 303
    first.cookies.clear()
    assert _read(first, cookie).status_code == 401  # here at once
    _wait_refused(second, cookie)  # there within the cache's second


def test_revoking_the_key_ends_its_sessions(two_workers):
    first, second, keys = two_workers
    made = first.post("/keys", json={"role": "planner"}, headers=auth(keys["admin"])).json()
    cookie = _cookie(first, made["key"])
    assert _read(first, cookie).status_code == 200
    assert _read(second, cookie).status_code == 200
    revoked = first.delete(f"/keys/{made['id']}", headers=auth(keys["admin"]))
    assert revoked.status_code == 200
    assert _read(first, cookie).status_code == 401  # at once on the revoking worker
    _wait_refused(second, cookie)
    with first.app.state.db.session() as session:  # type: ignore[attr-defined]
        ended = session.scalars(
            select(BrowserSession.revoked_at).where(BrowserSession.key_id == made["id"])
        ).all()
    assert ended and all(at is not None for at in ended)


# -- login CSRF: the sign-in and sign-out forms only from the service's own pages -----------


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},  # another site's form
        {"Origin": "null"},  # a sandboxed frame or a privacy-minded browser
        {"Origin": "http://testserver.evil.example"},  # a look-alike host
        {"Origin": "https://testserver"},  # the same host, another scheme
        {"Referer": "https://evil.example/page.html"},  # no Origin, another site's page
    ],
)
def test_a_form_from_another_site_signs_nobody_in(browser, headers):
    client, keys = browser
    client.cookies.clear()
    response = _sign_in(client, keys["dispatcher"], headers=headers)
    assert response.status_code == 403, response.text
    body = ErrorBody.model_validate(response.json())
    assert body.code == "cross_site_form" and OWN in (body.allowed or "")
    assert SESSION_COOKIE not in response.cookies and "set-cookie" not in response.headers


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": OWN},  # what a browser sends with the service's own form
        {"Origin": OWN + ":80"},  # the same, with the default port spelt out
        {"Referer": OWN + "/signin?next=%2Fmaps%2Fdensity"},  # no Origin, our own page
        {},  # no browser at all (a script): neither header
    ],
)
def test_a_form_from_the_service_itself_signs_in(browser, headers):
    client, keys = browser
    response = _sign_in(client, keys["dispatcher"], headers=headers)
    assert response.status_code == 303, response.text
    assert _read(client, response.cookies[SESSION_COOKIE]).status_code == 200


def test_allowed_origins_are_a_setting(app_settings):
    settings = app_settings.model_copy(
        update={"allowed_origins": "https://wangge.example.gov.cn, https://maps.example.gov.cn/"}
    )
    client, keys = make_client(settings)
    try:
        for origin in ("https://wangge.example.gov.cn", "https://MAPS.example.gov.cn"):
            assert _sign_in(client, keys["planner"], headers={"Origin": origin}).status_code == 303
        refused = _sign_in(client, keys["planner"], headers={"Origin": "https://evil.example"})
        assert refused.status_code == 403
        assert "https://wangge.example.gov.cn" in refused.json()["allowed"]
    finally:
        client.__exit__(None, None, None)


def test_a_form_from_another_site_signs_nobody_out(browser):
    client, keys = browser
    cookie = _cookie(client, keys["dispatcher"])
    client.cookies.set(SESSION_COOKIE, cookie)
    response = client.post(
        "/signout", headers={"Origin": "https://evil.example"}, follow_redirects=False
    )
    client.cookies.clear()
    assert response.status_code == 403
    assert _read(client, cookie).status_code == 200


# -- the Secure flag behind a TLS-terminating proxy -------------------------------------------

PROXY = "192.0.2.10"  # a documentation address: the proxy in front of the service
HTTPS = {"X-Forwarded-Proto": "https"}


def _set_cookie(app_settings, *, client_host: str, headers: dict[str, str], **settings) -> str:
    client, keys = make_client(
        app_settings.model_copy(update=settings), client=(client_host, 40_000)
    )
    try:
        response = _sign_in(client, keys["dispatcher"], headers=headers)
        assert response.status_code == 303, response.text
        return response.headers["set-cookie"]
    finally:
        client.__exit__(None, None, None)


def test_the_cookie_is_secure_behind_a_trusted_proxy(app_settings):
    cookie = _set_cookie(
        app_settings, client_host=PROXY, headers=HTTPS, forwarded_allow_ips=f"10.0.0.1,{PROXY}"
    )
    assert "Secure" in cookie


@pytest.mark.parametrize(
    ("client_host", "headers", "settings"),
    [
        ("203.0.113.7", HTTPS, {"forwarded_allow_ips": PROXY}),  # anyone else may not say so
        (PROXY, {}, {"forwarded_allow_ips": PROXY}),  # the proxy says nothing: plain HTTP
        (PROXY, {"X-Forwarded-Proto": "http"}, {"forwarded_allow_ips": PROXY}),
        (PROXY, HTTPS, {"forwarded_allow_ips": PROXY, "cookie_secure": "never"}),
    ],
)
def test_the_cookie_is_not_secure_otherwise(app_settings, client_host, headers, settings):
    cookie = _set_cookie(app_settings, client_host=client_host, headers=headers, **settings)
    assert "Secure" not in cookie


def test_the_cookie_can_always_be_secure(app_settings):
    cookie = _set_cookie(
        app_settings, client_host="203.0.113.7", headers={}, cookie_secure="always"
    )
    assert "Secure" in cookie


def test_wangge_serve_trusts_only_the_configured_proxies(tiny_gpkg, tmp_path):
    """The real server: uvicorn's own default (trust 127.0.0.1) must not override the setting."""
    env = {
        **os.environ,
        "WANGGE_BOUNDARIES": str(tiny_gpkg),
        "WANGGE_DATA_DIR": str(tmp_path),
        "WANGGE_FORWARDED_ALLOW_IPS": PROXY,
    }
    key = new_key(env, "dispatcher")
    with running_server(env) as base:
        response = httpx.post(f"{base}/signin", data={"key": key}, headers=HTTPS)
        assert response.status_code == 303, response.text
        assert "Secure" not in response.headers["set-cookie"]
        assert "HttpOnly" in response.headers["set-cookie"]
