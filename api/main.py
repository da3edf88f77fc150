"""The FastAPI application: ``create_app(settings)`` with a lifespan that loads the boundaries."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator, MutableMapping
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api import VERSION
from api.access.errors import ACCESS_STATUS_CODES
from api.access.limits import BodySizeLimit, rate_limiter_for
from api.analytics import ANALYTICS_STATUS_CODES, Analytics
from api.cases.errors import CASES_STATUS_CODES
from api.deps import reject_unknown_query_params
from api.errors import install_error_handlers
from api.planning import PLANNING_STATUS_CODES
from api.routers import (
    analytics,
    bench,
    categories,
    coverage,
    facilities,
    fast_intake,
    health,
    keys,
    leaders,
    live,
    lookup,
    maps,
    ogc,
    open311,
    reports,
    session,
    tiles,
    units,
    versions,
    webhooks,
)
from api.routers import exchange as exchange_routes
from api.routers import services as service_routes
from api.routers import volunteers as volunteer_routes
from api.services import open_services
from api.settings import Settings
from api.standards.errors import STANDARDS_STATUS_CODES
from api.standards.tiles import prepare_tiles, prepare_tiles_later
from api.versions import VERSIONS_STATUS_CODES
from api.volunteers import VOLUNTEERS_STATUS_CODES
from api.webhooks.errors import WEBHOOKS_STATUS_CODES

log = logging.getLogger("wangge")

DESCRIPTION = """
Wangge assigns geotagged points to the grid-management hierarchy (district → street →
community → grid → micro-grid, or whatever levels the boundary set declares) and to the
responsible grid leader.

Every coordinate names its system: `wgs84` (GPS), `gcj02` (Amap, Tencent, WeChat), `bd09`
(Baidu) or `EPSG:<code>`. Errors always have the same body: `code`, `message`, `allowed`,
`details`.
"""


class Wangge(FastAPI):
    """The application: FastAPI, but for POST /reports in its common case, answered by
    :class:`api.routers.fast_intake.FastIntake` once the services have started."""

    intake: fast_intake.FastIntake | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        intake = self.intake
        if (
            intake is not None
            and scope["type"] == "http"
            and scope["path"] == fast_intake.PATH
            and scope["method"] == "POST"
        ):
            await intake(scope, receive, send)
            return
        await super().__call__(scope, receive, send)

    async def full_stack(self, scope: Any, receive: Any, send: Any) -> None:
        """Every request through FastAPI's whole stack (the fast intake's fallback)."""
        await super().__call__(scope, receive, send)


async def _route_once(app: FastAPI) -> None:
    """Route one request (to no route) through the application before it serves: FastAPI
    builds each included router's table of routes on its first match, tens of milliseconds
    that would otherwise be a client's first request."""
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": "/.well-known/wangge-start",
        "raw_path": b"/.well-known/wangge-start",
        "root_path": "",
        "query_string": b"",
        "headers": [],
        "client": None,
        "server": None,
        "state": {},
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: MutableMapping[str, Any]) -> None:
        return None

    await app(scope, receive, send)


def create_app(settings: Settings | None = None, *, freeze_at_start: bool = False) -> Wangge:
    """Build the application; boundaries are loaded when it starts, not at import.

    ``freeze_at_start``: a server process (``wangge serve``) moves what its start built out of
    the garbage collector's reach (``gc.freeze``); not for processes that build many apps.
    """
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: Wangge) -> AsyncIterator[None]:
        services = open_services(settings)
        state = app.state
        state.services = services
        state.db, state.boundaries, state.keys = services.db, services.boundaries, services.keys
        state.cases, state.planning = services.cases, services.planning
        state.versions = services.versions
        state.sessions = services.sessions
        state.analytics = Analytics(services.boundaries)
        state.rate_limiter = rate_limiter_for(
            services.db, settings.rate_limit_per_minute, shared=settings.rate_limit_shared
        )
        # the first tile of a level must not pay for its level's projection and trees
        prepare_tiles(services.boundaries.current, settings.tile_cache_bytes)
        services.boundaries.on_swap(
            lambda swapped: prepare_tiles_later(swapped, settings.tile_cache_bytes)
        )
        await _route_once(app)
        app.intake = fast_intake.FastIntake(app, app.full_stack)
        if freeze_at_start:
            # What the start built (boundaries, indexes, catalogues: some 400,000 objects)
            # lives as long as the server: kept out of the collector's full passes, each of
            # which would otherwise stop every request for a third of a second now and then.
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            app.intake = None
            state.rate_limiter.close()
            services.close()

    app = Wangge(
        title="Wangge",
        version=VERSION,
        description=DESCRIPTION,
        lifespan=lifespan,
        dependencies=[Depends(reject_unknown_query_params)],
    )
    app.state.settings = settings
    install_error_handlers(
        app,
        ACCESS_STATUS_CODES,
        CASES_STATUS_CODES,
        PLANNING_STATUS_CODES,
        STANDARDS_STATUS_CODES,
        VERSIONS_STATUS_CODES,
        VOLUNTEERS_STATUS_CODES,
        WEBHOOKS_STATUS_CODES,
        ANALYTICS_STATUS_CODES,
    )
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_body_bytes,
        max_upload_bytes=settings.max_upload_bytes,
        path_limits={versions.UPLOAD_PATH: settings.max_boundary_upload_bytes},
    )
    # The scheme and client address as a trusted proxy reports them (X-Forwarded-Proto, -For):
    # behind a TLS-terminating proxy the request is HTTPS and the session cookie Secure. Here,
    # not in the server, so that it holds under any ASGI server; `wangge serve` leaves it off.
    app.add_middleware(ProxyHeadersMiddleware, trusted_hosts=settings.forwarded_allow_ips)
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
        open311,
        ogc,
        tiles,
        versions,
        leaders,
        volunteer_routes,
        service_routes,
        exchange_routes,
        live,
        webhooks,
        analytics,
    ]
    if settings.bench_noop:
        routers.append(bench)
    for module in routers:
        app.include_router(module.router)
    app.include_router(maps.assets)
    return app
