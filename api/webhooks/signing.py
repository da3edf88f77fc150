"""Signing a delivery: HMAC-SHA256 with the subscription's secret over ``timestamp.body``.

Receivers recompute it from the ``Wangge-Timestamp`` header and the raw body, compare it with
``Wangge-Signature`` (``sha256=<hex>``) in constant time, and refuse old timestamps (replays).
"""

from __future__ import annotations

import hashlib
import hmac


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """The ``Wangge-Signature`` header's value for a body sent at ``timestamp`` (Unix s)."""
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, header: str) -> bool:
    """Whether ``header`` is the signature of this body and timestamp."""
    return hmac.compare_digest(signature(secret, timestamp, body), header)
