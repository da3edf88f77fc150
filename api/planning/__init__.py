"""Planning: care facilities, the population base table, and coverage with its cache.

Modules, in the order a change flows through them:

* :mod:`~api.planning.errors`: the domain errors and their HTTP statuses.
* :mod:`~api.planning.imports`: reading CSV and GeoJSON files, every bad row named by line.
* :mod:`~api.planning.facilities`: the type catalogue, facility CRUD, facility imports.
* :mod:`~api.planning.population`: the population tables (per unit, per point), imports.
* :mod:`~api.planning.store`: data versions and bulk writes shared by the two.
* :mod:`~api.planning.coverage`: the :class:`Planning` service, its parameters and its cache.
* :mod:`~api.planning.payload`: the answers of the coverage routes.

Imports (``wangge facilities import``, ``wangge population import``) read every row first and
report every bad row with its line number and the reason. By default a file with a bad row
imports nothing; ``--skip-invalid`` imports the good rows and still lists the bad ones.

Functions that read or write the database take the caller's ``session`` as a keyword and raise
domain errors; the routers and commands map them to HTTP statuses and exit codes.
"""

from api.planning.coverage import (
    K_RANGE,
    MINUTES_RANGE,
    SPEED_RANGE,
    CoverageEntry,
    CoverageParams,
    Planning,
)
from api.planning.errors import (
    PLANNING_STATUS_CODES,
    FacilityNotFound,
    IncompleteLocation,
    InvalidFacilityChange,
    InvalidRows,
    NetworkNotConfigured,
    UnknownFacilityType,
)
from api.planning.facilities import DEFAULT_FACILITY_TYPE, FACILITY_TYPES
from api.planning.imports import ParsedFile, RowProblem

__all__ = [
    "DEFAULT_FACILITY_TYPE",
    "FACILITY_TYPES",
    "K_RANGE",
    "MINUTES_RANGE",
    "PLANNING_STATUS_CODES",
    "SPEED_RANGE",
    "CoverageEntry",
    "CoverageParams",
    "FacilityNotFound",
    "IncompleteLocation",
    "InvalidFacilityChange",
    "InvalidRows",
    "NetworkNotConfigured",
    "ParsedFile",
    "Planning",
    "RowProblem",
    "UnknownFacilityType",
]
