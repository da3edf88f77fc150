"""Browser sessions: a signed HttpOnly cookie instead of the key."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time

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
