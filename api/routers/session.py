"""Browser sign-in: exchange an API key for a signed, HttpOnly, SameSite session cookie.

Dispatchers open the map pages in a browser, which cannot send an Authorization header; they
sign in once with their key (in a POST body, never in a URL) and get a cookie that is valid
for reading pages only, until it expires, they sign out or the key is revoked. Both forms are
refused when posted from another site.
"""

from __future__ import annotations

import html
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.access.auth import same_site_form
from api.access.keys import KeyStore
from api.access.sessions import SESSION_COOKIE, BrowserSessions, cookie_is_secure

router = APIRouter(tags=["session"], include_in_schema=False)

#: The longest page address to return to after signing in.
NEXT_LENGTH = 2000

PAGE = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>Wangge · sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>
body {{ font: 16px/1.5 system-ui, sans-serif; background: #f4f5f7; margin: 0; }}
form {{ max-width: 22rem; margin: 12vh auto; background: #fff; padding: 2rem;
        border-radius: 8px; box-shadow: 0 1px 4px #0002; }}
h1 {{ font-size: 1.3rem; margin: 0 0 1rem; }}
input {{ width: 100%; box-sizing: border-box; padding: .5rem; margin: .3rem 0 1rem;
         font: inherit; }}
button {{ padding: .5rem 1.2rem; font: inherit; }}
.error {{ color: #b00020; }}
</style></head>
<body><form method="post" action="/signin">
<h1>网格化管理 · Wangge</h1>
{message}
<label for="key">API key</label>
<input id="key" name="key" type="password" autocomplete="current-password" required autofocus>
<input type="hidden" name="next" value="{next}">
<button type="submit">Sign in</button>
</form></body></html>
"""


def _safe_next(target: str | None) -> str:
    """Only local paths: no open redirect to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/maps/density"
    return target


@router.get("/signin", response_class=HTMLResponse)
def read_signin(next: Annotated[str | None, Query(max_length=NEXT_LENGTH)] = None) -> HTMLResponse:
    """The sign-in form."""
    return HTMLResponse(PAGE.format(message="", next=html.escape(_safe_next(next))))


@router.post("/signin", dependencies=[Depends(same_site_form)])
def create_session(
    request: Request,
    key: Annotated[str, Form(max_length=200)],
    next: Annotated[str | None, Form(max_length=NEXT_LENGTH)] = None,
) -> Response:
    """Check the key and set the session cookie; back to the form on a wrong key."""
    store: KeyStore = request.app.state.keys
    principal = store.verify(key.strip())
    target = _safe_next(next)
    if principal is None:
        page = PAGE.format(
            message='<p class="error">Unknown or revoked key.</p>', next=html.escape(target)
        )
        return HTMLResponse(page, status_code=401)
    sessions: BrowserSessions = request.app.state.sessions
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        sessions.start(principal.key_id),
        max_age=sessions.seconds,
        httponly=True,
        samesite="strict",
        secure=cookie_is_secure(request.app.state.settings.cookie_secure, request.url.scheme),
        path="/",
    )
    return response


@router.post("/signout", dependencies=[Depends(same_site_form)])
def delete_session(request: Request) -> Response:
    """End the session (refused from now on, by every worker) and forget its cookie."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        request.app.state.sessions.end(token)
    response = RedirectResponse("/signin", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response
