"""Errors of boundary versions and of the leader roster, and their HTTP statuses (composed in
api.main)."""

from __future__ import annotations

from geo.errors import WanggeError


class VersionNotFound(WanggeError):
    """No boundary version with this id."""

    code = "version_not_found"


class VersionNotActivatable(WanggeError):
    """The version cannot be activated as it stands (validation errors, already active)."""

    code = "version_not_activatable"


class ActivationInProgress(WanggeError):
    """Another activation holds the lock; this one did not wait for it."""

    code = "activation_in_progress"


class NoVersionAt(WanggeError):
    """No version was active at the time asked about (before the first activation)."""

    code = "no_version_at"


class InvalidAppointment(WanggeError):
    """A leader appointment that cannot be recorded: no name, a start in the future or before
    the current appointment's."""

    code = "invalid_appointment"


class NoCurrentLeader(WanggeError):
    """Ending an appointment of a unit that has no leader now."""

    code = "no_current_leader"


VERSIONS_STATUS_CODES: dict[type[WanggeError], int] = {
    VersionNotFound: 404,
    VersionNotActivatable: 409,
    ActivationInProgress: 409,
    NoVersionAt: 422,
    InvalidAppointment: 422,
    NoCurrentLeader: 409,
}
