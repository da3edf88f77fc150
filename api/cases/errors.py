"""Errors of case handling, and their HTTP statuses (composed in api.main).

The classes say what kind of problem it is; ``code`` says which (``unit_required``,
``top_level``, ...), so clients can tell them apart without reading the message.
"""

from __future__ import annotations

from geo.errors import WanggeError


class CaseNotFound(WanggeError):
    """No case with this id that the caller may see (others' ids do not leak)."""

    code = "report_not_found"


class PhotoNotFound(WanggeError):
    code = "photo_not_found"


class UnknownCategory(WanggeError):
    code = "unknown_category"


class UnknownStatus(WanggeError):
    code = "unknown_status"


class InvalidChange(WanggeError):
    """A change that lacks what it needs (a unit, a reason, an escalation target)."""

    code = "invalid_change"


class TransitionNotAllowed(WanggeError):
    """The lifecycle does not allow this move from the case's current state."""

    code = "transition_not_allowed"


class CaseStateConflict(WanggeError):
    """The case's state or place does not allow this (no unit, top level, changed meanwhile)."""

    code = "conflict"


class IdempotencyKeyReused(WanggeError):
    code = "idempotency_key_reused"


class PhotoTooLarge(WanggeError):
    code = "photo_too_large"


class UnsupportedPhoto(WanggeError):
    code = "unsupported_photo"


class InvalidPhoto(WanggeError):
    code = "invalid_photo"


class InvalidQuery(WanggeError):
    """A filter of a case query that is malformed (e.g. a bbox that is not four numbers)."""

    code = "invalid_query"


CASES_STATUS_CODES: dict[type[WanggeError], int] = {
    CaseNotFound: 404,
    PhotoNotFound: 404,
    UnknownCategory: 422,
    UnknownStatus: 422,
    InvalidChange: 422,
    TransitionNotAllowed: 409,
    CaseStateConflict: 409,
    IdempotencyKeyReused: 409,
    PhotoTooLarge: 413,
    UnsupportedPhoto: 415,
    InvalidPhoto: 422,
    InvalidQuery: 422,
}
