"""Authentication: the caller's key (or browser session) to a principal, and role checks."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from fastapi import Request
from fastapi.concurrency import run_in_threadpool

from api.access.keys import KeyStore
from api.access.policy import Principal, Role
from api.access.sessions import CSRF_HEADER, SESSION_COOKIE, BrowserSessions
from api.errors import ApiError


def _presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.headers.get("x-api-key") or None


async def _session_principal(request: Request) -> Principal | None:
    """The signed-in browser's principal. Reading (GET/HEAD) needs the cookie alone; a write
    also needs the session's CSRF token in X-CSRF-Token, from a page of the service's own
    origin, so another site can never make a change with the browser's cookie (403)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token:
        return None
    sessions: BrowserSessions = request.app.state.sessions
    if request.method not in ("GET", "HEAD"):
        _check_browser_write(request, sessions, token)
    hit, principal = sessions.cached(token)
    if not hit:  # the database read runs in a thread, off the event loop
        principal = await run_in_threadpool(sessions.principal, token)
    return principal


def _check_browser_write(request: Request, sessions: BrowserSessions, token: str) -> None:
    """403 for a write with the cookie but without this session's CSRF token, or from
    another origin."""
    foreign = _foreign_origin(request)
    if foreign is not None:
        raise ApiError(
            403,
            "cross_site_request",
            f"a write from {foreign[:200]!r} may not use this browser's session",
            allowed="pages of " + ", ".join(_own_origins(request)),
        )
    presented = request.headers.get(CSRF_HEADER)
    if not presented:
        raise ApiError(
            403,
            "csrf_token_required",
            "a browser's write needs its session's CSRF token",
            allowed=f'header {CSRF_HEADER}: the content of the page\'s <meta name="csrf-token">',
        )
    if not sessions.csrf_matches(token, presented):
        raise ApiError(
            403,
            "csrf_token_invalid",
            "the CSRF token is not this session's (stale, or of another session)",
            allowed="the token of the page loaded with this session; reload the page",
        )


def csrf_for(request: Request) -> str:
    """The CSRF token a page served to this request carries: its session's, or "" when the
    caller came with a key (and writes with the key)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or _presented_key(request) is not None:
        return ""
    sessions: BrowserSessions = request.app.state.sessions
    return sessions.csrf_token(token) or ""


async def recheck(request: Request) -> Principal | None:
    """The request's principal again, from its key or session as now stored (None once the
    key is revoked or the session ended): long answers (streams) call it as they go. No rate
    limit is charged."""
    key = _presented_key(request)
    if key is None:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return None
        sessions: BrowserSessions = request.app.state.sessions
        hit, principal = sessions.cached(token)
        if not hit:
            principal = await run_in_threadpool(sessions.principal, token)
        return principal
    store: KeyStore = request.app.state.keys
    hit, principal = store.cached(key)
    if not hit:
        principal = await run_in_threadpool(store.verify, key)
    return principal


async def authenticate(request: Request, key: str | None = None) -> Principal:
    """The caller's principal; 401 without a valid key, 429 over the rate limit.

    ``key`` is a key presented another way than the headers (Open311's ``api_key`` parameter).
    """
    key = key or _presented_key(request)
    if key is None:
        principal = await _session_principal(request)
        if principal is not None:
            return _admit(request, principal)
    if key is None:
        raise ApiError(
            401,
            "not_authenticated",
            "this route needs an API key",
            allowed="Authorization: Bearer <key> or X-API-Key: <key>; browsers: /signin",
            headers={"WWW-Authenticate": "Bearer"},
        )
    store: KeyStore = request.app.state.keys
    hit, principal = store.cached(key)
    if not hit:  # the database read runs in a thread, off the event loop
        principal = await run_in_threadpool(store.verify, key)
    if principal is None:
        raise ApiError(
            401,
            "invalid_key",
            "the API key is unknown or revoked",
            allowed="a key created with `wangge keys create`",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return _admit(request, principal)


def _admit(request: Request, principal: Principal) -> Principal:
    """Apply the key's rate limit and remember who is calling."""
    wait = request.app.state.rate_limiter.allow(principal.key_id)
    if wait > 0:
        raise ApiError(
            429,
            "rate_limited",
            "too many requests for this key",
            allowed=f"{request.app.state.settings.rate_limit_per_minute} requests per minute",
            headers={"Retry-After": str(max(1, round(wait)))},
        )
    request.state.principal = principal
    return principal


def require_role(principal: Principal, roles: tuple[Role, ...]) -> Principal:
    """The principal if its role is one of ``roles``; else 403 naming them."""
    if principal.role not in roles:
        raise ApiError(
            403,
            "forbidden",
            f"role {principal.role.value!r} may not use this route",
            allowed="roles: " + ", ".join(r.value for r in roles),
        )
    return principal


def allow(*roles: Role) -> Callable[[Request], Awaitable[Principal]]:
    """A dependency that admits only the given roles (403 naming them for the others).

    It runs on the event loop, not in the thread pool: keys are verified from a cache, and
    only a key not seen for ``KeyStore`` ttl seconds costs a database read, in a thread.
    """

    async def dependency(request: Request) -> Principal:
        return require_role(await authenticate(request), roles)

    return dependency


async def same_site_form(request: Request) -> None:
    """Refuse a form posted from another site (403): its Origin, or without one its Referer,
    must be the service's own origin or one of WANGGE_ALLOWED_ORIGINS.

    Browsers send Origin with every cross-site POST, so a page elsewhere cannot sign a
    victim's browser in with the attacker's key (login CSRF) nor sign it out. A request with
    neither header comes from no browser's form (a script), and is let through.
    """
    sent = _foreign_origin(request)
    if sent is not None:
        raise ApiError(
            403,
            "cross_site_form",
            f"a form from {sent[:200]!r} may not be posted here",
            allowed="forms from "
            + ", ".join(_own_origins(request))
            + " (others: WANGGE_ALLOWED_ORIGINS)",
        )


def _foreign_origin(request: Request) -> str | None:
    """The request's Origin (or without one, its Referer's) when it is not one of ours; None
    when it is ours or the request names neither (no browser sent it)."""
    sent = request.headers.get("origin")
    if sent is None:
        referer = request.headers.get("referer")
        if referer is None:
            return None
        parts = urlsplit(referer)
        sent = f"{parts.scheme}://{parts.netloc}"
    return None if _origin(sent) in _own_origins(request) else sent


def _own_origins(request: Request) -> list[str]:
    return [
        _origin(f"{request.url.scheme}://{request.url.netloc}"),
        *(_origin(o) for o in request.app.state.settings.allowed_origin_list),
    ]


def _origin(text: str) -> str:
    """scheme://host[:port], lower case, without the scheme's default port."""
    parts = urlsplit(text.strip().lower())
    default = {"http": 80, "https": 443}.get(parts.scheme)
    try:
        port = parts.port
    except ValueError:  # not a port at all: compares equal to nothing well formed
        return text
    netloc = parts.hostname or ""
    if ":" in netloc:  # IPv6
        netloc = f"[{netloc}]"
    if port is not None and port != default:
        netloc += f":{port}"
    return f"{parts.scheme}://{netloc}"
