"""Browser sign-in: exchange an API key for a signed, HttpOnly, SameSite session cookie.

Dispatchers open the map pages in a browser, which cannot send an Authorization header; they
sign in once with their key (in a POST body, never in a URL) and get a cookie that is valid
for reading pages only, until it expires, they sign out or the key is revoked. Both forms are
refused when posted from another site.
"""

from __future__ import annotations

import html
from typing import Annotated, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.access.auth import same_site_form
from api.access.keys import KeyStore
from api.access.sessions import SESSION_COOKIE, BrowserSessions, cookie_is_secure
from maps.i18n import LOCALES, Lang, label, negotiate

router = APIRouter(tags=["session"], include_in_schema=False)

#: The longest page address to return to after signing in.
NEXT_LENGTH = 2000

PAGE = """<!doctype html>
<html lang="{locale}"><head><meta charset="utf-8"><title>{title}</title>
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
<h1>{heading}</h1>
{message}
<label for="key">{key_label}</label>
<input id="key" name="key" type="password" autocomplete="current-password" required autofocus>
<input type="hidden" name="next" value="{next}">
<button type="submit">{submit}</button>
<p class="lang"><a href="{other_href}">{other}</a></p>
</form></body></html>
"""


def _page(request: Request, target: str, message: str = "") -> str:
    """The form in the language of the request (?lang=, else Accept-Language, else Chinese)."""
    lang = negotiate(request.query_params.get("lang"), request.headers.get("accept-language"))
    other: Lang = "en" if lang == "zh" else "zh"
    href = "/signin?" + urlencode({"next": target, "lang": other})
    return PAGE.format(
        locale=LOCALES[lang],
        title=label(lang, "signin.title"),
        heading=label(lang, "signin.heading"),
        key_label=label(lang, "signin.key"),
        submit=label(lang, "signin.submit"),
        other=label(lang, "lang.other"),
        other_href=html.escape(href),
        message=f'<p class="error">{label(lang, "signin.wrong")}</p>' if message else "",
        next=html.escape(target),
    )


def _safe_next(target: str | None) -> str:
    """Only local paths: no open redirect to another site."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/maps/density"
    return target


@router.get("/signin", response_class=HTMLResponse)
def read_signin(
    request: Request,
    next: Annotated[str | None, Query(max_length=NEXT_LENGTH)] = None,
    lang: Annotated[Literal["zh", "en"] | None, Query()] = None,
) -> HTMLResponse:
    """The sign-in form (Chinese unless ?lang=en or the browser prefers English)."""
    return HTMLResponse(_page(request, _safe_next(next)), headers={"Vary": "Accept-Language"})


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
        return HTMLResponse(_page(request, target, "wrong"), status_code=401)
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
