"""The services of one running Wangge, built in one place for the application and the CLI.

``open_services(settings)`` loads the configured boundaries, opens the database (migrated,
catalogue synced) and builds every service on them; ``close()`` finishes queued writes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from api.access.keys import KeyStore
from api.access.sessions import BrowserSessions
from api.cases.catalogue import load_catalogue, sync_catalogue
from api.cases.service import Cases
from api.db import Database
from api.planning import Planning
from api.settings import Settings
from boundaries.loader import load_boundary_set
from geo.assign import BoundaryIndex
from geo.errors import BoundaryFileError

log = logging.getLogger("wangge")


def load_index(settings: Settings) -> BoundaryIndex:
    """Load the configured boundary set and build its spatial index.

    A set whose errors would make answers wrong is refused (``BoundaryFileError``); the other
    issues the quick load checks find are logged as warnings.
    """
    paths = settings.boundary_paths
    missing = [p for p in paths if not p.exists()]
    if missing:
        hint = (
            " (run `wangge demo` to build the demo set)"
            if paths == [settings.demo_boundaries]
            else ""
        )
        raise BoundaryFileError(
            f"boundary file {missing[0]} does not exist{hint}",
            allowed="WANGGE_BOUNDARIES=path.gpkg, or comma-separated GeoJSON files top first",
        )
    bset, report = load_boundary_set(paths, crs=settings.boundaries_crs)
    for line in report.summary(limit=10):
        log.warning("%s: %s", bset.name, line)
    return BoundaryIndex(bset, snap_tolerance_m=settings.snap_tolerance_m)


@dataclass
class Services:
    """Everything the routes and commands work with."""

    settings: Settings
    db: Database
    index: BoundaryIndex
    cases: Cases
    planning: Planning
    keys: KeyStore
    sessions: BrowserSessions

    def close(self) -> None:
        """Finish queued writes and close the database."""
        self.cases.close()
        self.db.dispose()


def open_services(
    settings: Settings, *, index: BoundaryIndex | None = None, writer: bool = True
) -> Services:
    """Load the boundaries (unless given), open the database and build the services.

    ``writer=False`` commits each report alone instead of through the group writer (the CLI).
    """
    index = index or load_index(settings)
    bset = index.bset
    log.info("loaded %d units in %d levels from %s", len(bset), len(bset.levels), bset.name)
    db = Database(settings.database)
    with db.session() as session:
        sync_catalogue(session, load_catalogue(settings.categories_file))
    settings.media.mkdir(parents=True, exist_ok=True)
    cases = Cases(settings=settings, index=index, db=db)
    cases.load()
    if writer:
        cases.start_writer()
    planning = Planning(bset, db, street_network=settings.street_network)
    keys = KeyStore(db)
    sessions = BrowserSessions(
        db, keys, secret=settings.session_secret, hours=settings.session_hours
    )
    return Services(
        settings=settings,
        db=db,
        index=index,
        cases=cases,
        planning=planning,
        keys=keys,
        sessions=sessions,
    )
