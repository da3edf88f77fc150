"""The services of one running Wangge, built in one place for the application and the CLI.

``open_services(settings)`` opens the database (migrated, catalogue synced), loads the active
boundary version (on an empty database the configured boundaries are imported as version 1
and activated first) and builds every service on them; ``close()`` finishes queued writes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

from api.access.keys import KeyStore
from api.access.sessions import BrowserSessions
from api.cases.catalogue import load_catalogue, sync_catalogue
from api.cases.service import Cases
from api.db import Database
from api.planning import Planning
from api.settings import Settings
from api.versions import ActiveBoundaries, Versions
from api.volunteers.catalogue import load_service_types, sync_service_types
from api.webhooks.dispatcher import Dispatcher, start_dispatcher
from boundaries.loader import load_boundary_set
from geo.assign import BoundaryIndex
from geo.errors import BoundaryFileError
from geo.units import BoundarySet

log = logging.getLogger("wangge")


def read_configured_boundaries(settings: Settings) -> tuple[BoundarySet, list[Path]]:
    """The configured boundary files (WANGGE_BOUNDARIES) as a set: what seeds an empty
    database as version 1."""
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
    # a set whose errors would make answers wrong is refused; the other issues are logged
    bset, report = load_boundary_set(paths, crs=settings.boundaries_crs)
    for line in report.summary(limit=10):
        log.warning("%s: %s", bset.name, line)
    return bset, paths


def _active(settings: Settings, db: Database) -> tuple[ActiveBoundaries, Cases, Versions]:
    """The active boundaries on a database, seeding it with the configured set if empty."""
    boundaries = ActiveBoundaries(db, snap_tolerance_m=settings.snap_tolerance_m)
    cases = Cases(settings=settings, boundaries=boundaries, db=db)
    versions = Versions(boundaries=boundaries, cases=cases)
    if not versions.seed(lambda: read_configured_boundaries(settings)):
        boundaries.load()
    return boundaries, cases, versions


def load_index(settings: Settings) -> BoundaryIndex:
    """The active boundary version's index, the one place the boundaries are loaded from
    outside a running service (the configured files seed an empty database)."""
    db = Database(settings.database)
    try:
        return _active(settings, db)[0].index
    finally:
        db.dispose()


@dataclass
class Services:
    """Everything the routes and commands work with."""

    settings: Settings
    db: Database
    boundaries: ActiveBoundaries
    cases: Cases
    planning: Planning
    keys: KeyStore
    sessions: BrowserSessions
    versions: Versions
    #: Delivers the webhooks' outbox (None: this process only records events).
    dispatcher: Dispatcher | None = None

    @property
    def index(self) -> BoundaryIndex:
        """The active version's index (read it per use: a new version may be activated)."""
        return self.boundaries.index

    def close(self) -> None:
        """Stop watching for changes, finish queued writes and close the database."""
        self.boundaries.close()
        self.keys.close()
        self.cases.close()
        if self.dispatcher is not None:
            self.dispatcher.close()
        self.db.dispose()


def open_services(settings: Settings, *, writer: bool = True, watch: bool = True) -> Services:
    """Open the database, load the active boundaries and build the services.

    ``writer=False`` commits each report alone instead of through the group writer (the CLI);
    ``watch=False`` does not follow changes made by other processes (a one-off command).
    """
    db = Database(settings.database, background_checkpoints=writer)
    with db.session() as session:
        sync_catalogue(session, load_catalogue(settings.categories_file))
        sync_service_types(session, load_service_types(settings.service_types_file))
    boundaries, cases, versions = _active(settings, db)
    bset = boundaries.bset
    log.info(
        "answering from boundary version %d: %d units in %d levels",
        boundaries.version_id,
        len(bset),
        len(bset.levels),
    )
    settings.media.mkdir(parents=True, exist_ok=True)
    cases.load()
    boundaries.on_new_version(lambda _: cases.catch_up())
    if writer:
        cases.start_writer(settings.writer)
    if watch:
        boundaries.watch()
        cases.follow()  # reports made through the other workers: possible duplicates here
    planning = Planning(boundaries, db, street_network=settings.street_network)
    keys = KeyStore(db)
    if watch:
        keys.preload()
        keys.follow()  # keys in use answered from memory, revocations elsewhere seen soon
    sessions = BrowserSessions(
        db, keys, secret=settings.session_secret, hours=settings.session_hours
    )
    return Services(
        settings=settings,
        db=db,
        boundaries=boundaries,
        cases=cases,
        planning=planning,
        keys=keys,
        sessions=sessions,
        versions=versions,
        dispatcher=start_dispatcher(db, settings) if writer and settings.webhook_dispatch else None,
    )
