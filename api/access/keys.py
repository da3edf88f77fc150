"""API keys: created, stored hashed, verified.

A key looks like ``wg_<prefix>_<secret>``; only its SHA-256 is stored (the keys are long random
strings, so a fast hash is enough), and the prefix finds the row. Clients send it as
``Authorization: Bearer <key>`` (OAuth2 bearer style) or ``X-API-Key: <key>``.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api.access.cache import REVOCATION_TTL_S, ShortCache
from api.access.errors import InvalidKeyRequest, KeyNotFound, UnknownRole
from api.access.policy import Principal, Role
from api.db import Database
from api.db.models import ApiKey, BrowserSession, VolunteerTeam
from api.periodic import every
from geo.units import BoundarySet

#: How often a server reads the keys it has cached again (see ``KeyStore.follow``).
RENEW_INTERVAL_S = 0.25


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_key(
    session: Session,
    role: Role | str,
    *,
    unit_code: str | None = None,
    name: str = "",
    team_id: int | None = None,
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
        team_id=team_id,
    )
    session.add(row)
    session.commit()
    return row, key


def issue_key(
    session: Session,
    bset: BoundarySet | None,
    role: str,
    *,
    unit_code: str | None = None,
    name: str = "",
    team_id: int | None = None,
) -> tuple[ApiKey, str]:
    """Create a key after checking the role and the unit (which must be in the boundaries)
    and a team lead's team; the one way keys are made, from the API and the command line
    alike. ``bset`` may be None only for a key without a unit."""
    try:
        checked = Role(role)
    except ValueError:
        raise UnknownRole(
            f"unknown role {role!r}", allowed=", ".join(r.value for r in Role)
        ) from None
    if checked == Role.GRID_WORKER and not unit_code:
        raise InvalidKeyRequest(
            "a grid worker's key needs unit_code",
            allowed="the code of the unit the worker serves",
            code="unit_required",
        )
    if unit_code:
        if bset is None:
            raise ValueError("a key with a unit needs the boundaries to check it against")
        bset.position(unit_code)  # UnitNotFound names the allowed codes
    if (checked == Role.TEAM_LEAD) != (team_id is not None):
        raise InvalidKeyRequest(
            "a team lead's key needs team_id, and only a team lead's key has one",
            allowed="team_id (from GET /volunteers/teams) with role team_lead",
            code="team_required",
        )
    if team_id is not None and session.get(VolunteerTeam, team_id) is None:
        raise KeyNotFound(
            f"no volunteer team {team_id}",
            allowed="ids from GET /volunteers/teams",
            code="team_not_found",
        )
    return create_key(session, checked, unit_code=unit_code, name=name, team_id=team_id)


def list_keys(session: Session) -> list[ApiKey]:
    """Every key, oldest first (hashes only; the keys themselves are never stored)."""
    return list(session.scalars(select(ApiKey).order_by(ApiKey.id)))


def revoke_key(session: Session, key_id: int) -> ApiKey:
    """Revoke a key and end its browser sessions (committed); revoking twice keeps the first
    time."""
    row = session.get(ApiKey, key_id)
    if row is None:
        raise KeyNotFound(f"no key {key_id}", allowed="ids from GET /keys")
    if row.revoked_at is None:
        row.revoked_at = datetime.now(UTC)
        session.execute(
            update(BrowserSession)
            .where(BrowserSession.key_id == key_id, BrowserSession.revoked_at.is_(None))
            .values(revoked_at=row.revoked_at)
        )
        session.commit()
    return row


class KeyStore:
    """Verifies keys against the database, with a short cache so each request is cheap.

    The cache answers only for ``ttl_s`` seconds: a key revoked by another worker (or the
    command line) stops working within that time; one revoked here stops at once
    (:meth:`forget`). ``cached`` never touches the database, so async code can try it first
    and do the read (``verify``, ``by_id``) in a thread only on a miss.
    """

    def __init__(self, db: Database, *, ttl_s: float = REVOCATION_TTL_S) -> None:
        self._db = db
        self._cache: ShortCache[Principal | None] = ShortCache(ttl_s=ttl_s)
        self._following: threading.Event | None = None

    def follow(self, interval_s: float = RENEW_INTERVAL_S) -> None:
        """Read the cached keys again every ``interval_s``, in a thread: a key in use is
        always answered from memory (no request waits for a database read once its key has
        been seen), and one revoked elsewhere is refused within ``interval_s`` plus a read.
        Should the thread fall behind, the entries expire as before (``ttl_s``)."""
        if self._following is not None:
            return
        # should a read fail (the database away for a moment), entries expire meanwhile
        self._following = every(
            interval_s, self.renew, name="wangge-keys", failed="could not read the API keys again"
        )

    def close(self) -> None:
        if self._following is not None:
            self._following.set()
            self._following = None

    def preload(self) -> int:
        """Cache every key not revoked (a server's start, before it reports ready): the first
        request with a key made before then waits for no database read. Returns how many."""
        with self._db.session() as session:
            rows = list(session.scalars(select(ApiKey).where(ApiKey.revoked_at.is_(None))))
        for row in rows:
            self._cache.put(row.key_hash, _principal(row))
        return len(rows)

    def renew(self) -> int:
        """Keep the cached keys as of now, but for those revoked since (refused from now on):
        one read of the revoked keys' ids, however many keys are cached (keys change only by
        being revoked). Returns how many entries were renewed."""
        known = [(k, p) for k, p in self._cache.entries() if p is not None]
        if not known:
            return 0
        with self._db.session() as session:
            revoked = set(session.scalars(select(ApiKey.id).where(ApiKey.revoked_at.is_not(None))))
        self._cache.renew_many([(k, p, None if p.key_id in revoked else p) for k, p in known])
        return len(known)

    def cached(self, key: str) -> tuple[bool, Principal | None]:
        """(hit, principal) from the cache alone; a miss says nothing of the key."""
        return self._cache.get(hash_key(key))

    def cached_id(self, key_id: int) -> tuple[bool, Principal | None]:
        return self._cache.get(f"id:{key_id}")

    def verify(self, key: str) -> Principal | None:
        """The principal of a key, unless unknown or revoked."""
        digest = hash_key(key)
        hit, principal = self._cache.get(digest)
        if not hit:
            principal = self._lookup(key, digest)
            self._cache.put(digest, principal)
        return principal

    def by_id(self, key_id: int) -> Principal | None:
        """The principal of a key by id (for browser sessions), unless revoked."""
        cache_key = f"id:{key_id}"
        hit, principal = self._cache.get(cache_key)
        if hit:
            return principal
        with self._db.session() as session:
            row = session.get(ApiKey, key_id)
        principal = None
        if row is not None and row.revoked_at is None:
            principal = _principal(row)
        self._cache.put(cache_key, principal)
        return principal

    def forget(self, key_id: int) -> None:
        """Drop a key from the cache (after revoking it), so it stops working at once."""
        self._cache.drop(lambda k, p: k == f"id:{key_id}" or (p is not None and p.key_id == key_id))

    def _lookup(self, key: str, digest: str) -> Principal | None:
        parts = key.split("_")
        if len(parts) < 3 or parts[0] != "wg":
            return None
        with self._db.session() as session:
            row = session.scalar(select(ApiKey).where(ApiKey.prefix == parts[1]))
        if row is None or row.revoked_at is not None:
            return None
        if not hmac.compare_digest(row.key_hash, digest):
            return None
        return _principal(row)


def _principal(row: ApiKey) -> Principal:
    return Principal(
        key_id=row.id,
        role=Role(row.role),
        unit_code=row.unit_code,
        name=row.name,
        team_id=row.team_id,
    )
