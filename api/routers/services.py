"""Volunteer services: the catalogue, orders along 点单 → 派单 → 接单 → done → 评单, and
where service is missing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Header, Path, Query
from fastapi.responses import JSONResponse

from api.access.auth import allow
from api.access.policy import ALL_ROLES, Principal, Role
from api.deps import BoundariesDep, IndexDep, SessionDep, SettingsDep
from api.errors import KEYED, error_responses
from api.schemas import MAX_ID, Code, DateTime, StatusName
from api.volunteers.candidates import rank_candidates
from api.volunteers.catalogue import service_types
from api.volunteers.coverage import service_coverage
from api.volunteers.lifecycle import STEP_ROLES, Step
from api.volunteers.orders import (
    OrderSpec,
    accept_order,
    complete_order,
    decline_order,
    dispatch_order,
    get_order,
    list_orders,
    order_events,
    order_view,
    place_order,
    rate_order,
)
from api.volunteers.schemas import (
    CandidateOut,
    CompletionIn,
    DeclineIn,
    DispatchIn,
    OrderEventOut,
    OrderIn,
    OrderOut,
    OrderRatingIn,
    ServiceCoverageOut,
    ServiceTypeOut,
    Skill,
)

router = APIRouter(prefix="/services", tags=["services"], responses=error_responses(*KEYED))


def _may(step: Step) -> Any:
    return Depends(allow(*sorted(STEP_ROLES[step])))


ORDER_READERS = (Role.REPORTER, Role.GRID_WORKER, Role.DISPATCHER, Role.ADMIN, Role.TEAM_LEAD)
Reader = Annotated[Principal, Depends(allow(*ORDER_READERS))]
OrderId = Annotated[int, Path(ge=1, le=MAX_ID, description="The order's id")]
NOT_FOUND = error_responses((404, "No such order visible to you (a team lead: of your team)"))
STEP_ERRORS = NOT_FOUND | error_responses(
    (409, "The lifecycle does not allow this step now (the allowed steps named)"), 413
)


def _now() -> datetime:
    return datetime.now(UTC)


@router.get("/types", response_model=list[ServiceTypeOut])
def read_service_types(
    session: SessionDep, _: Annotated[Principal, Depends(allow(*ALL_ROLES))]
) -> Any:
    """The services residents may order, with the points a volunteer earns per hour."""
    return service_types(session)


@router.post(
    "/orders",
    status_code=201,
    response_model=OrderOut,
    responses=error_responses((409, "Idempotency-Key reused with another body"), 413),
)
def create_service_order(
    session: SessionDep,
    settings: SettingsDep,
    boundaries: BoundariesDep,
    principal: Annotated[Principal, _may(Step.ORDER)],
    body: OrderIn,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            max_length=200,
            description="Retry with the same key and body: the first answer, nothing new",
        ),
    ] = None,
) -> JSONResponse:
    """点单: a resident (or a grid worker on a resident's behalf) orders a service at a place,
    in any supported coordinate system; it is placed in the units like a report."""
    placed = place_order(
        session,
        boundaries,
        principal,
        OrderSpec(**body.model_dump()),
        _now(),
        idempotency_key,
        tz=ZoneInfo(settings.display_tz),
    )
    OrderOut.model_validate(placed.body)
    headers = {"Location": f"/services/orders/{placed.body['id']}"}
    if placed.replayed:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(placed.body, status_code=201, headers=headers)


@router.get("/orders", response_model=list[OrderOut])
def read_service_orders(
    session: SessionDep,
    principal: Reader,
    status: Annotated[StatusName | None, Query(description="Only orders in this status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Any:
    """Orders the caller may see, newest first: all (dispatchers, admins), its team's (a
    team lead), its own (the others)."""
    return [order_view(o) for o in list_orders(session, principal, status, limit)]


@router.get("/orders/{order_id}", response_model=OrderOut, responses=NOT_FOUND)
def read_service_order(session: SessionDep, principal: Reader, order_id: OrderId) -> Any:
    """One order, with the steps allowed next."""
    return order_view(get_order(session, order_id, principal))


@router.get("/orders/{order_id}/events", response_model=list[OrderEventOut], responses=NOT_FOUND)
def read_service_order_events(session: SessionDep, principal: Reader, order_id: OrderId) -> Any:
    """The audit trail: every step, who took it, when, from and to which status, and why."""
    return order_events(session, order_id, principal)


@router.get("/orders/{order_id}/candidates", response_model=list[CandidateOut], responses=NOT_FOUND)
def read_order_candidates(
    session: SessionDep,
    settings: SettingsDep,
    principal: Annotated[Principal, _may(Step.DISPATCH)],
    order_id: OrderId,
) -> Any:
    """派单: the teams offering the service that serve the order's place, best first (room in
    the window, distance, room, rating), each with why."""
    order = get_order(session, order_id, principal)
    return rank_candidates(session, order, tz=ZoneInfo(settings.display_tz))


@router.post("/orders/{order_id}/dispatch", response_model=OrderOut, responses=STEP_ERRORS)
def create_order_dispatch(
    session: SessionDep,
    principal: Annotated[Principal, _may(Step.DISPATCH)],
    order_id: OrderId,
    body: DispatchIn,
) -> Any:
    """派单: send the order to a team."""
    return order_view(dispatch_order(session, order_id, principal, body.team_id, _now()))


@router.post("/orders/{order_id}/accept", response_model=OrderOut, responses=STEP_ERRORS)
def create_order_acceptance(
    session: SessionDep, principal: Annotated[Principal, _may(Step.ACCEPT)], order_id: OrderId
) -> Any:
    """接单: the team's lead takes an order dispatched to its team."""
    return order_view(accept_order(session, order_id, principal, _now()))


@router.post("/orders/{order_id}/decline", response_model=OrderOut, responses=STEP_ERRORS)
def create_order_decline(
    session: SessionDep,
    principal: Annotated[Principal, _may(Step.DECLINE)],
    order_id: OrderId,
    body: DeclineIn,
) -> Any:
    """The team's lead declines, with a reason: the order goes back to the queue."""
    return order_view(decline_order(session, order_id, principal, body.reason, _now()))


@router.post("/orders/{order_id}/complete", response_model=OrderOut, responses=STEP_ERRORS)
def create_order_completion(
    session: SessionDep,
    principal: Annotated[Principal, _may(Step.COMPLETE)],
    order_id: OrderId,
    body: CompletionIn,
) -> Any:
    """Done: the lead reports each volunteer's hours; each earns hours × the service's rate."""
    hours = [(v.id, v.hours) for v in body.volunteers]
    return order_view(complete_order(session, order_id, principal, hours, _now(), body.note))


@router.post("/orders/{order_id}/rating", response_model=OrderOut, responses=STEP_ERRORS)
def create_order_rating(
    session: SessionDep,
    principal: Annotated[Principal, _may(Step.RATE)],
    order_id: OrderId,
    body: OrderRatingIn,
) -> Any:
    """评单: the resident who ordered it rates the completed service, 1-5."""
    return order_view(rate_order(session, order_id, principal, body.stars, body.comment, _now()))


@router.get(
    "/coverage",
    response_model=ServiceCoverageOut,
    responses=error_responses((404, "No such level"), (422, "Unknown service type or level")),
)
def read_service_coverage(
    session: SessionDep,
    index: IndexDep,
    _: Annotated[Principal, Depends(allow(Role.PLANNER, Role.DISPATCHER, Role.ADMIN))],
    service: Annotated[
        Skill, Query(alias="type", description="A service type: code or Chinese name (助餐)")
    ],
    level: Annotated[Code, Query(description="The level of the units", examples=["community"])],
    since: Annotated[
        DateTime | None, Query(description="Orders from (default: 28 days ago)")
    ] = None,
    until: Annotated[DateTime | None, Query(description="Orders before (default: now)")] = None,
) -> Any:
    """Per unit of a level: the teams that reach it for the service, its orders in the window
    and the shares dispatched, accepted and done; and the units no team reaches."""
    end = until or _now()
    start = since or end - timedelta(days=28)
    return service_coverage(session, index.bset, service, level, _aware(start), _aware(end))


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value
