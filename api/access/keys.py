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
import time
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.access.policy import Principal, Role
from api.db import Database
from api.db.models import ApiKey


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

    def __init__(self, db: Database, *, ttl_s: float = 30.0) -> None:
        self._db = db
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
        with self._db.session() as session:
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
        with self._db.session() as session:
            row = session.scalar(select(ApiKey).where(ApiKey.prefix == parts[1]))
        if row is None or row.revoked_at is not None:
            return None
        if not hmac.compare_digest(row.key_hash, digest):
            return None
        return Principal(key_id=row.id, role=Role(row.role), unit_code=row.unit_code, name=row.name)
