"""API keys, roles and the per-key rate limit.

A key looks like ``wg_<prefix>_<secret>``; only its SHA-256 is stored (the keys are long random
strings, so a fast hash is enough), and the prefix finds the row. Clients send it as
``Authorization: Bearer <key>`` (OAuth2 bearer style) or ``X-API-Key: <key>``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from fastapi import Request
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from api.errors import ApiError
from api.models import ApiKey


class Role(StrEnum):
    """What a key may do."""

    REPORTER = "reporter"  # posts reports, reads its own
    GRID_WORKER = "grid_worker"  # reads and acts on cases in its unit and below
    DISPATCHER = "dispatcher"  # everything about cases: reassign, escalate, reject
    PLANNER = "planner"  # aggregates and coverage, no personal data
    ADMIN = "admin"  # boundaries, keys


ALL_ROLES = tuple(Role)
#: Roles that handle cases and may see reporters' names and phones (grid workers: in scope).
HANDLERS = (Role.GRID_WORKER, Role.DISPATCHER, Role.ADMIN)


@dataclass(frozen=True)
class Principal:
    """The caller, as identified by its key."""

    key_id: int
    role: Role
    unit_code: str | None
    name: str

    @property
    def client(self) -> str:
        return f"key:{self.key_id}"


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(
    session: Session, role: Role | str, *, unit_code: str | None = None, name: str = ""
) -> tuple[ApiKey, str]:
    """Create a key; returns the row and the plaintext key (shown once, never stored)."""
    role = Role(role)
    prefix = secrets.token_hex(4)
    key = f"wg_{prefix}_{secrets.token_urlsafe(24)}"
    row = ApiKey(
        prefix=prefix,
        key_hash=hash_key(key),
        role=role.value,
        unit_code=unit_code,
        name=name,
        created_at=datetime.now(UTC),
    )
    session.add(row)
    session.commit()
    return row, key


class KeyStore:
    """Verifies keys against the database, with a short cache so each request is cheap.

    A revoked key stops working within ``ttl_s`` seconds.
    """

    def __init__(self, factory: sessionmaker[Session], *, ttl_s: float = 30.0) -> None:
        self._factory = factory
        self._ttl = ttl_s
        self._cache: dict[str, tuple[float, Principal | None]] = {}
        self._lock = threading.Lock()

    def verify(self, key: str) -> Principal | None:
        digest = hash_key(key)
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(digest)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        principal = self._lookup(key, digest)
        with self._lock:
            if len(self._cache) > 10_000:
                self._cache.clear()
            self._cache[digest] = (now, principal)
        return principal

    def by_id(self, key_id: int) -> Principal | None:
        """The principal of a key by id (for signed sessions), unless revoked."""
        cache_key = f"id:{key_id}"
        now = time.monotonic()
        with self._lock:
            hit = self._cache.get(cache_key)
        if hit is not None and now - hit[0] < self._ttl:
            return hit[1]
        with self._factory() as session:
            row = session.get(ApiKey, key_id)
        principal = None
        if row is not None and row.revoked_at is None:
            principal = Principal(
                key_id=row.id, role=Role(row.role), unit_code=row.unit_code, name=row.name
            )
        with self._lock:
            self._cache[cache_key] = (now, principal)
        return principal

    def _lookup(self, key: str, digest: str) -> Principal | None:
        parts = key.split("_")
        if len(parts) < 3 or parts[0] != "wg":
            return None
        with self._factory() as session:
            row = session.scalar(select(ApiKey).where(ApiKey.prefix == parts[1]))
        if row is None or row.revoked_at is not None:
            return None
        if not hmac.compare_digest(row.key_hash, digest):
            return None
        return Principal(key_id=row.id, role=Role(row.role), unit_code=row.unit_code, name=row.name)


class RateLimiter:
    """A token bucket per key: ``per_minute`` requests a minute, bursts up to the same."""

    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(per_minute)
        self._buckets: dict[int, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, key_id: int) -> float:
        """0 when the request may go ahead, else the seconds to wait."""
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(key_id, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key_id] = (tokens - 1.0, now)
                return 0.0
            self._buckets[key_id] = (tokens, now)
            return (1.0 - tokens) / self.rate


SESSION_COOKIE = "wangge_session"


class SessionSigner:
    """Browser sessions: an HttpOnly cookie holding a key id and an expiry, signed (HMAC).

    The key itself never reaches the browser after sign-in, and never travels in a URL.
    """

    def __init__(self, secret: str | None, hours: float) -> None:
        self._secret = (secret or secrets.token_urlsafe(32)).encode()
        self.seconds = int(hours * 3600)

    def sign(self, key_id: int) -> str:
        expires = int(time.time()) + self.seconds
        body = f"{key_id}.{expires}"
        mac = hmac.new(self._secret, body.encode(), hashlib.sha256).hexdigest()
        return f"{body}.{mac}"

    def verify(self, token: str) -> int | None:
        """The key id of a valid, unexpired token; None otherwise."""
        parts = token.split(".")
        if len(parts) != 3 or not parts[0].isdigit() or not parts[1].isdigit():
            return None
        body = f"{parts[0]}.{parts[1]}"
        mac = hmac.new(self._secret, body.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(mac, parts[2]) or int(parts[1]) < time.time():
            return None
        return int(parts[0])


def _presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip() or None
    return request.headers.get("x-api-key") or None


def _session_principal(request: Request) -> Principal | None:
    """The signed-in browser's principal; only for reading (GET/HEAD), so a cookie can
    never make a change on its own (no cross-site request forgery)."""
    token = request.cookies.get(SESSION_COOKIE)
    if not token or request.method not in ("GET", "HEAD"):
        return None
    key_id = request.app.state.sessions.verify(token)
    if key_id is None:
        return None
    store: KeyStore = request.app.state.keys
    return store.by_id(key_id)


def authenticate(request: Request) -> Principal:
    """The caller's principal; 401 without a valid key, 429 over the rate limit."""
    key = _presented_key(request)
    if key is None:
        principal = _session_principal(request)
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
    principal = store.verify(key)
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
    only a key not seen for ``KeyStore`` ttl seconds costs a (short) database read.
    """

    async def dependency(request: Request) -> Principal:
        return require_role(authenticate(request), roles)

    dependency.roles = roles  # type: ignore[attr-defined]
    return dependency
