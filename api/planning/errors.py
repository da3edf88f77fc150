"""The planning domain's errors, and the HTTP status of each (composed with the others in
``api.main``)."""

from __future__ import annotations

from geo.errors import WanggeError


class UnknownFacilityType(WanggeError):
    """A facility type that is not in the catalogue."""

    code = "unknown_facility_type"


class FacilityNotFound(WanggeError):
    """No facility with that id."""

    code = "facility_not_found"


class InvalidFacilityChange(WanggeError):
    """A change that would leave a facility without a type or a name."""

    code = "invalid_request"


class IncompleteLocation(InvalidFacilityChange):
    """A move that gives only one of lon and lat (or only a coordinate system)."""

    code = "incomplete_location"


class InvalidRows(WanggeError):
    """An import file with bad rows, or one that cannot be read at all."""

    code = "invalid_rows"


class NetworkNotConfigured(WanggeError):
    """Network mode was asked for but no street network is configured."""

    code = "network_not_configured"


#: Status code for each planning error.
PLANNING_STATUS_CODES: dict[type[WanggeError], int] = {
    UnknownFacilityType: 422,
    FacilityNotFound: 404,
    InvalidFacilityChange: 422,
    IncompleteLocation: 422,
    InvalidRows: 422,
    NetworkNotConfigured: 409,
}
