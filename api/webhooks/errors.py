"""Errors of the webhooks, and their HTTP statuses (composed in api.main)."""

from __future__ import annotations

from geo.errors import WanggeError


class SubscriptionNotFound(WanggeError):
    """No webhook subscription with this id."""

    code = "webhook_not_found"


class TargetRefused(WanggeError):
    """A target URL the service will not call (scheme, or a host not allowed)."""

    code = "webhook_target_refused"


class InvalidSubscription(WanggeError):
    """Event types, roles or filters that are not known."""

    code = "invalid_webhook"


class InvalidReplay(WanggeError):
    """A replay that names neither one event nor a time range, or an unknown event."""

    code = "invalid_replay"


WEBHOOKS_STATUS_CODES: dict[type[WanggeError], int] = {
    SubscriptionNotFound: 404,
    TargetRefused: 422,
    InvalidSubscription: 422,
    InvalidReplay: 422,
}
