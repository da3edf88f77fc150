"""Dependencies of the route handlers, as Annotated aliases.

They are ``async`` because they only read the application's state: FastAPI runs a plain
``def`` dependency in the thread pool, a hop that costs more than the work.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from api.access.keys import KeyStore
from api.cases.service import Cases
from api.db import Database
from api.errors import ApiError
from api.planning import Planning
from api.settings import Settings
from api.versions import ActiveBoundaries, Versions
from geo.assign import BoundaryIndex


def _state(name: str) -> Callable[[Request], Awaitable[Any]]:
    """A dependency that returns one of the services the lifespan put in ``app.state``."""

    async def dependency(request: Request) -> Any:
        return getattr(request.app.state, name)

    dependency.__name__ = f"get_{name}"
    return dependency


async def get_index(request: Request) -> BoundaryIndex:
    """The active boundary version's index, read once for the request (a version activated
    meanwhile is answered from by the next one)."""
    boundaries: ActiveBoundaries = request.app.state.boundaries
    return boundaries.index


async def get_session(request: Request) -> AsyncIterator[Session]:
    """A database session for one request, closed after the answer is built.

    Services take it (``session=``) and commit what they change; routers never open one.
    """
    db: Database = request.app.state.db
    with db.session() as session:
        yield session


async def reject_unknown_query_params(request: Request) -> None:
    """Refuse query parameters the route does not declare, naming the ones it does."""
    if not request.scope.get("query_string"):  # most requests: nothing to parse
        return
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


SettingsDep = Annotated[Settings, Depends(_state("settings"))]
DatabaseDep = Annotated[Database, Depends(_state("db"))]
SessionDep = Annotated[Session, Depends(get_session)]
IndexDep = Annotated[BoundaryIndex, Depends(get_index)]
BoundariesDep = Annotated[ActiveBoundaries, Depends(_state("boundaries"))]
VersionsDep = Annotated[Versions, Depends(_state("versions"))]
CasesDep = Annotated[Cases, Depends(_state("cases"))]
KeysDep = Annotated[KeyStore, Depends(_state("keys"))]
PlanningDep = Annotated[Planning, Depends(_state("planning"))]
