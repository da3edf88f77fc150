"""Dependencies of the route handlers, as Annotated aliases.

They are ``async`` because they only read the application's state: FastAPI runs a plain
``def`` dependency in the thread pool, a hop that costs more than the work.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.cases.service import Reports
from api.db import Database
from api.errors import ApiError
from api.planning import Planning
from api.settings import Settings
from geo.assign import BoundaryIndex


async def get_settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_db(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A database session for one request, closed after the answer is built.

    Services take it (``session=``) and commit what they change; routers never open one.
    """
    db: Database = request.app.state.db
    with db.session() as session:
        yield session


async def get_index(request: Request) -> BoundaryIndex:
    index: BoundaryIndex = request.app.state.index
    return index


async def get_reports(request: Request) -> Reports:
    reports: Reports = request.app.state.reports
    return reports


async def get_planning(request: Request) -> Planning:
    planning: Planning = request.app.state.planning
    return planning


async def reject_unknown_query_params(request: Request) -> None:
    """Refuse query parameters the route does not declare, naming the ones it does."""
    route = request.scope.get("route")
    dependant = getattr(route, "dependant", None)
    if dependant is None:
        return
    known = {p.alias for p in _query_params(dependant)}
    unknown = sorted(set(request.query_params) - known)
    if unknown:
        raise ApiError(
            422,
            "unknown_parameter",
            f"unknown query parameter(s): {', '.join(unknown)}",
            allowed=", ".join(sorted(known)) or "no query parameters",
        )


def _query_params(dependant):  # type: ignore[no-untyped-def]
    yield from dependant.query_params
    for sub in dependant.dependencies:
        yield from _query_params(sub)


SettingsDep = Annotated[Settings, Depends(get_settings)]
DatabaseDep = Annotated[Database, Depends(get_db)]
SessionDep = Annotated[Session, Depends(get_session)]
IndexDep = Annotated[BoundaryIndex, Depends(get_index)]
ReportsDep = Annotated[Reports, Depends(get_reports)]
PlanningDep = Annotated[Planning, Depends(get_planning)]
