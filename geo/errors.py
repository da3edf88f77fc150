"""Every domain error of the geo library, in one module; the API maps each to a status once."""

from __future__ import annotations

from typing import Any


class WanggeError(Exception):
    """Base class: every domain error says what was wrong and what is allowed."""

    code = "wangge_error"

    def __init__(
        self, message: str, *, allowed: str | None = None, code: str | None = None, **details: Any
    ) -> None:
        super().__init__(message)
        self.message = message
        self.allowed = allowed
        self.details = details
        if code is not None:  # a finer code than the class's (e.g. "unit_required")
            self.code = code


class InvalidCoordinates(WanggeError):
    """Coordinates that are NaN, infinite or outside the valid range of their system."""

    code = "invalid_coordinates"


class UnknownCRS(WanggeError):
    """A coordinate system name or code that is not recognised."""

    code = "unknown_crs"


class BoundaryFileError(WanggeError):
    """A boundary file that cannot be read as a boundary set (format, layers, columns)."""

    code = "invalid_boundary_file"


class TableFileError(WanggeError):
    """A table file (CSV) that cannot be read at all: missing, empty, undecodable, no header."""

    code = "invalid_table_file"


class InvalidGeometry(WanggeError):
    """A polygon that is invalid (e.g. self-intersecting) where a valid one is required."""

    code = "invalid_geometry"


class UnitNotFound(WanggeError):
    """A unit code that is not in the boundary set."""

    code = "unit_not_found"


class UnknownLevel(WanggeError):
    """A level name that is not one of the boundary set's levels."""

    code = "unknown_level"


class InvalidPopulation(WanggeError):
    """A population table or point layer that cannot be counted."""

    code = "invalid_population"


class InvalidServiceParameters(WanggeError):
    """Minutes, speed, mode, network or number of sites out of range or inconsistent."""

    code = "invalid_service_parameters"


class NetworkFileError(WanggeError):
    """A street network that cannot be read: format, geometry types, id columns, CRS."""

    code = "invalid_network_file"


class InvalidTile(WanggeError):
    """A tile address outside the Web Mercator tile matrix (zoom 0-22, x and y below 2^z)."""

    code = "invalid_tile"
