"""Browser sessions: a signed HttpOnly cookie instead of the key, ended by signing out.

A cookie alone only reads; a write from a browser also needs the session's CSRF token
(synchronizer token, derived by HMAC from the session) in the ``X-CSRF-Token`` header."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import Literal

from sqlalchemy import delete, update

from api.access.cache import REVOCATION_TTL_S, ShortCache
from api.access.keys import KeyStore
from api.access.policy import Principal
from api.db import Database
from api.db.models import BrowserSession

SESSION_COOKIE = "wangge_session"
#: The header a page sends its session's CSRF token in (from its ``<meta name="csrf-token">``).
CSRF_HEADER = "X-CSRF-Token"

CookieSecure = Literal["auto", "always", "never"]


def cookie_is_secure(setting: CookieSecure, scheme: str) -> bool:
    """Whether the session cookie gets the Secure flag: ``auto`` when the request came over
    HTTPS (as the service sees it: behind a trusted proxy, from X-Forwarded-Proto)."""
    return setting == "always" or (setting == "auto" and scheme == "https")


class BrowserSessions:
    """Sessions of browsers signed in with a key, held in the database (``browser_sessions``).

    The cookie is ``<id>.<mac>``: a random id, signed with the session secret so that a forged
    cookie costs no database read; only the id's SHA-256 is stored. A session is valid until it
    expires, its browser signs out, or its key is revoked. Lookups are cached for ``ttl_s``
    seconds: a session ended by another worker is refused here within that time, one ended
    here at once. The key itself never reaches the browser after sign-in.
    """

    def __init__(
        self,
        db: Database,
        keys: KeyStore,
        *,
        secret: str | None,
        hours: float,
        ttl_s: float = REVOCATION_TTL_S,
    ) -> None:
        self._db = db
        self._keys = keys
        self._secret = (secret or secrets.token_urlsafe(32)).encode()
        self.seconds = int(hours * 3600)
        self._cache: ShortCache[int | None] = ShortCache(ttl_s=ttl_s)

    def start(self, key_id: int) -> str:
        """A new session for a key: the cookie's value. Sessions long expired are swept."""
        session_id = secrets.token_urlsafe(32)
        now = datetime.now(UTC)
        with self._db.session() as session:
            session.execute(
                delete(BrowserSession).where(BrowserSession.expires_at < now - timedelta(days=1))
            )
            session.add(
                BrowserSession(
                    id_hash=_digest(session_id),
                    key_id=key_id,
                    created_at=now,
                    expires_at=now + timedelta(seconds=self.seconds),
                )
            )
            session.commit()
        return f"{session_id}.{self._mac(session_id)}"

    def cached(self, token: str) -> tuple[bool, Principal | None]:
        """(hit, principal) from the caches alone; a miss says nothing of the session."""
        digest = self._verified(token)
        if digest is None:
            return True, None
        hit, key_id = self._cache.get(digest)
        if not hit:
            return False, None
        if key_id is None:
            return True, None
        return self._keys.cached_id(key_id)

    def principal(self, token: str) -> Principal | None:
        """The principal of a valid session (not expired, ended or of a revoked key)."""
        digest = self._verified(token)
        if digest is None:
            return None
        hit, key_id = self._cache.get(digest)
        if not hit:
            with self._db.session() as session:
                row = session.get(BrowserSession, digest)
            live = row is not None and row.revoked_at is None
            key_id = row.key_id if row and live and row.expires_at > datetime.now(UTC) else None
            self._cache.put(digest, key_id)
        return None if key_id is None else self._keys.by_id(key_id)

    def end(self, token: str) -> None:
        """Sign out: the session is refused from now on, here at once and elsewhere soon."""
        digest = self._verified(token)
        if digest is None:
            return
        with self._db.session() as session:
            session.execute(
                update(BrowserSession)
                .where(BrowserSession.id_hash == digest, BrowserSession.revoked_at.is_(None))
                .values(revoked_at=datetime.now(UTC))
            )
            session.commit()
        self._cache.put(digest, None)

    def csrf_token(self, token: str) -> str | None:
        """The CSRF token of a session (None for a cookie we did not sign): an HMAC of the
        session id under the session secret, so it is bound to this one session, dies with it,
        and needs no storage. A page puts it in ``<meta name="csrf-token">``."""
        session_id, _, mac = token.partition(".")
        if not session_id or not hmac.compare_digest(self._mac(session_id), mac):
            return None
        return self._mac("csrf:" + session_id)

    def csrf_matches(self, token: str, presented: str | None) -> bool:
        """Whether ``presented`` is the CSRF token of the session ``token``."""
        expected = self.csrf_token(token)
        if expected is None or presented is None:
            return False
        return hmac.compare_digest(expected.encode(), presented.strip().encode("utf-8", "replace"))

    def _verified(self, token: str) -> str | None:
        """The stored digest of a cookie's session id, if the cookie is signed by us."""
        session_id, _, mac = token.partition(".")
        if not session_id or not hmac.compare_digest(self._mac(session_id), mac):
            return None
        return _digest(session_id)

    def _mac(self, session_id: str) -> str:
        return hmac.new(self._secret, session_id.encode(), hashlib.sha256).hexdigest()


def _digest(session_id: str) -> str:
    return hashlib.sha256(session_id.encode()).hexdigest()
