"""Boundary versions and the leader roster: the grid map changes while the service runs.

Modules, in the order a new map flows through them:

* :mod:`~api.versions.files`: reading a GeoPackage, a zip of GeoJSON/Shapefile files or one
  GeoJSON file, checked (zip limits, coordinates that fit the declared system).
* :mod:`~api.versions.store`: versions in the database (draft, active, retired) with their
  validation report, read back whole; activations; the change counters.
* :mod:`~api.versions.diff`: what activating a version would change (a dry run).
* :mod:`~api.versions.activation`: activating a version, re-routing the open cases.
* :mod:`~api.versions.roster`: leaders appointed to units for a period, apart from geometry.
* :mod:`~api.versions.active`: the holder of the active version every request reads, kept in
  step with the other servers.
* :mod:`~api.versions.service`: the :class:`Versions` service the routes and commands call.
* :mod:`~api.versions.errors`: the domain errors and their HTTP statuses.
"""

from api.versions.active import ActiveBoundaries, Snapshot
from api.versions.errors import VERSIONS_STATUS_CODES
from api.versions.roster import NewLeader
from api.versions.service import CLI, Actor, Versions

__all__ = [
    "CLI",
    "VERSIONS_STATUS_CODES",
    "ActiveBoundaries",
    "Actor",
    "NewLeader",
    "Snapshot",
    "Versions",
]
