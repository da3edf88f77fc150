"""Errors of volunteer services, and their HTTP statuses (composed in api.main)."""

from __future__ import annotations

from geo.errors import WanggeError


class UnknownServiceType(WanggeError):
    code = "unknown_service_type"


class TeamNotFound(WanggeError):
    code = "team_not_found"


class VolunteerNotFound(WanggeError):
    """No volunteer with this id that the caller may act on."""

    code = "volunteer_not_found"


class OrderNotFound(WanggeError):
    """No order with this id that the caller may see (others' ids do not leak)."""

    code = "order_not_found"


class ItemNotFound(WanggeError):
    code = "item_not_found"


class InvalidVolunteerRequest(WanggeError):
    """A request that lacks what it needs (a reach for a team, a window that ends after it
    starts, volunteers of the team for a completion)."""

    code = "invalid_request"


class OrderStepNotAllowed(WanggeError):
    """The order's lifecycle does not allow this step now (the allowed ones are named)."""

    code = "transition_not_allowed"


class NotYourTeam(WanggeError):
    """A team lead acting on another team's order or volunteer."""

    code = "forbidden"


class InsufficientPoints(WanggeError):
    """The balance does not cover the redemption or correction (the balance left is named)."""

    code = "insufficient_points"


class OutOfStock(WanggeError):
    code = "out_of_stock"


class OrderKeyReused(WanggeError):
    code = "idempotency_key_reused"


VOLUNTEERS_STATUS_CODES: dict[type[WanggeError], int] = {
    UnknownServiceType: 422,
    TeamNotFound: 404,
    VolunteerNotFound: 404,
    OrderNotFound: 404,
    ItemNotFound: 404,
    InvalidVolunteerRequest: 422,
    OrderStepNotAllowed: 409,
    NotYourTeam: 403,
    InsufficientPoints: 409,
    OutOfStock: 409,
    OrderKeyReused: 409,
}
