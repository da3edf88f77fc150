"""The dispatcher's live screen: the stream of case changes (SSE) and its JSON fallback, the
queue panel, and what a case's popup on the map offers."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from sse_starlette import EventSourceResponse

from api.access.auth import allow, recheck
from api.access.policy import Principal, Role
from api.deps import CasesDep, IndexDep, SessionDep
from api.errors import KEYED, ApiError, error_responses
from api.live import case_actions, changes, queue, read_changes, search_units, stream_changes
from api.live.feed import MAX_CHANGES
from api.live.queue import MAX_QUEUE_ITEMS
from api.live.schemas import CaseActions, ChangePage, Queue, UnitHit
from api.schemas import MAX_ID

router = APIRouter(prefix="/maps/density", tags=["live"], responses=error_responses(*KEYED))

#: Who watches the live map: planners get counts per unit only, no cases.
WATCHERS = (Role.DISPATCHER, Role.GRID_WORKER, Role.ADMIN, Role.PLANNER)
HANDLERS = (Role.DISPATCHER, Role.GRID_WORKER, Role.ADMIN)
MAX_EVENT = 2**63 - 1
#: Digits of the largest event id.
EVENT_ID_LENGTH = 19

Watcher = Annotated[Principal, Depends(allow(*WATCHERS))]
SinceEvent = Annotated[
    int,
    Query(ge=0, le=MAX_EVENT, description="The id of the last event seen (0: from the start)"),
]

STREAM: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "Accept: text/event-stream (as EventSource sends): server-sent events, "
        "`change` (data: a Change, id: its event id), `cursor` (events not for you went by), "
        "`end` (signed out), comments keep it alive. Otherwise one ChangePage, as /changes.",
        "content": {
            "text/event-stream": {"schema": {"type": "string"}},
            "application/json": {"schema": ChangePage.model_json_schema()},
        },
    }
}


def _now() -> datetime:
    return datetime.now(UTC)


@router.get("/changes", response_model=ChangePage)
def read_changes_page(
    cases: CasesDep,
    session: SessionDep,
    principal: Watcher,
    since_event: SinceEvent = 0,
    limit: Annotated[int, Query(ge=1, le=MAX_CHANGES, description="Changes at most")] = 100,
) -> Any:
    """Case changes after an event id, oldest first (the polling twin of /events): ask again
    with ``next_event``. Grid workers see their area; planners where and what, not the case."""
    return changes(
        session, principal, cases.categories, since_event=since_event, limit=limit, now=_now()
    )


@router.get("/events", response_class=EventSourceResponse, response_model=None, responses=STREAM)
async def read_change_events(
    request: Request,
    cases: CasesDep,
    principal: Watcher,
    since_event: SinceEvent = 0,
    last_event_id: Annotated[
        str | None,
        Header(
            max_length=EVENT_ID_LENGTH,
            description="Sent by a reconnecting EventSource: resume after this event",
        ),
    ] = None,
) -> EventSourceResponse | JSONResponse:
    """The live feed as server-sent events, read from the database every half second: new
    cases and changes within seconds, on any worker. A reconnecting browser resumes after
    its Last-Event-ID; the stream ends when the session ends or the key is revoked."""
    cursor = since_event
    if last_event_id is not None:
        if not last_event_id.isdigit():
            raise ApiError(
                422,
                "invalid_last_event_id",
                "Last-Event-ID must be an event id",
                allowed="digits: an id this stream sent",
            )
        cursor = max(cursor, int(last_event_id))
    db = request.app.state.db
    if "text/event-stream" not in request.headers.get("accept", ""):
        # not an event source: one page of changes, so a plain client never hangs
        page = await run_in_threadpool(
            read_changes, db, principal, cases.categories, since_event=cursor, limit=100, now=_now()
        )
        return JSONResponse(page.model_dump(mode="json"))

    async def read(who: Principal, after: int) -> ChangePage:
        return await run_in_threadpool(
            read_changes, db, who, cases.categories, since_event=after, limit=100, now=_now()
        )

    events = stream_changes(cursor, read, lambda: recheck(request), request.is_disconnected)
    return EventSourceResponse(
        events, ping=15, headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    )


@router.get("/queue", response_model=Queue)
def read_queue(
    cases: CasesDep,
    session: SessionDep,
    principal: Watcher,
    limit: Annotated[
        int, Query(ge=0, le=MAX_QUEUE_ITEMS, description="Cases listed per section")
    ] = 20,
) -> Any:
    """The queue beside the map: unassigned (outside every unit), overdue, escalated and
    reopened cases, counts and the oldest of each (planners: counts only)."""
    return queue(session, principal, cases.categories, limit=limit, now=_now())


@router.get(
    "/cases/{report_id}",
    response_model=CaseActions,
    responses=error_responses((404, "No such report visible to you")),
)
def read_case_actions(
    cases: CasesDep,
    session: SessionDep,
    principal: Annotated[Principal, Depends(allow(*HANDLERS))],
    report_id: Annotated[int, Path(ge=1, le=MAX_ID, description="The report's id")],
) -> Any:
    """A case's popup: the next states the caller may move it into (from the lifecycle, as
    POST /reports/{id}/transitions checks them) and open cases of its category nearby."""
    return case_actions(session, principal, cases.categories, report_id, now=_now())


@router.get("/units", response_model=list[UnitHit])
def read_unit_search(
    index: IndexDep,
    _: Annotated[Principal, Depends(allow(Role.DISPATCHER, Role.ADMIN))],
    q: Annotated[str, Query(min_length=1, max_length=64, description="Code prefix or name")],
    limit: Annotated[int, Query(ge=1, le=50, description="Units at most")] = 10,
) -> Any:
    """Units to reassign a case to, by the start of their code or a part of their name."""
    return search_units(index.bset, q, limit)
