"""Access errors raised by the services, and their HTTP statuses (composed in api.main)."""

from __future__ import annotations

from geo.errors import WanggeError


class Forbidden(WanggeError):
    """The caller's role or area does not allow this."""

    code = "forbidden"


class UnknownRole(WanggeError):
    """A role name that is not one of the roles."""

    code = "unknown_role"


class InvalidKeyRequest(WanggeError):
    """A key that cannot be made as asked (e.g. a grid worker's key without its unit)."""

    code = "invalid_key_request"


class KeyNotFound(WanggeError):
    """No API key with this id."""

    code = "key_not_found"


ACCESS_STATUS_CODES: dict[type[WanggeError], int] = {
    Forbidden: 403,
    UnknownRole: 422,
    InvalidKeyRequest: 422,
    KeyNotFound: 404,
}
