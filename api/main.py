"""The FastAPI application: ``create_app(settings)`` with a lifespan that loads the boundaries."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from api import VERSION
from api.auth import KeyStore, RateLimiter, SessionSigner
from api.catalogue import load_catalogue, sync_catalogue
from api.db import make_engine, migrate, session_factory
from api.deps import reject_unknown_query_params
from api.errors import install_error_handlers
from api.limits import BodySizeLimit
from api.reports import Reports
from api.routers import (
    bench,
    categories,
    coverage,
    facilities,
    health,
    keys,
    lookup,
    maps,
    reports,
    session,
    units,
)
from api.settings import Settings
from api.writer import GroupWriter
from boundaries.loader import read_boundary_set
from geo.assign import BoundaryIndex
from geo.errors import BoundaryFileError

log = logging.getLogger("wangge")

DESCRIPTION = """
Wangge assigns geotagged points to the grid-management hierarchy (district → street →
community → grid → micro-grid, or whatever levels the boundary set declares) and to the
responsible grid leader.

Every coordinate names its system: `wgs84` (GPS), `gcj02` (Amap, Tencent, WeChat), `bd09`
(Baidu) or `EPSG:<code>`. Errors always have the same body: `code`, `message`, `allowed`,
`details`.
"""


def load_index(settings: Settings) -> BoundaryIndex:
    """Load the configured boundary set and build its spatial index."""
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
    bset = read_boundary_set(paths, crs=settings.boundaries_crs)
    return BoundaryIndex(bset, snap_tolerance_m=settings.snap_tolerance_m)


def open_reports(settings: Settings, index: BoundaryIndex) -> Reports:
    """Open the database (migrated, catalogue synced) and the report service with its writer."""
    engine = make_engine(settings.database)
    migrate(engine)
    factory = session_factory(engine)
    with factory() as session:
        sync_catalogue(session, load_catalogue(settings.categories_file))
    settings.media.mkdir(parents=True, exist_ok=True)
    reports = Reports(settings=settings, index=index, factory=factory)
    reports.load()
    reports.writer = GroupWriter(factory, reports.write_intakes)
    return reports


def close_reports(reports: Reports) -> None:
    """Finish queued writes and close the database."""
    if reports.writer is not None:
        reports.writer.close()
    reports.factory.kw["bind"].dispose()


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application; boundaries are loaded when it starts, not at import."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.index = load_index(settings)
        bset = app.state.index.bset
        log.info("loaded %d units in %d levels from %s", len(bset), len(bset.levels), bset.name)
        app.state.reports = open_reports(settings, app.state.index)
        app.state.keys = KeyStore(app.state.reports.factory)
        app.state.sessions = SessionSigner(settings.session_secret, settings.session_hours)
        app.state.rate_limiter = RateLimiter(settings.rate_limit_per_minute)
        yield
        close_reports(app.state.reports)

    app = FastAPI(
        title="Wangge",
        version=VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(reject_unknown_query_params)],
    )
    app.state.settings = settings
    install_error_handlers(app)
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.max_upload_bytes,
    )
    routers = [
        health,
        lookup,
        units,
        categories,
        reports,
        keys,
        facilities,
        coverage,
        session,
        maps,
    ]
    if settings.bench_noop:
        routers.append(bench)
    for module in routers:
        app.include_router(module.router)
    app.include_router(maps.assets)
    return app
