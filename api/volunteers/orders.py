"""Orders (点单 → 派单 → 接单 → done → 评单): placed in the units like a report, moved only
along the lifecycle, every step an event of the order's append-only audit trail."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api.access.policy import Principal, Role
from api.db.models import IdempotencyRecord, ServiceOrder, ServiceOrderEvent, Volunteer
from api.versions import ActiveBoundaries
from api.volunteers.catalogue import find_service_type
from api.volunteers.errors import (
    InvalidVolunteerRequest,
    OrderKeyReused,
    OrderNotFound,
    OrderStepNotAllowed,
)
from api.volunteers.lifecycle import STEP_ROLES, STEPS, OrderStatus, Step, next_steps
from api.volunteers.points import credit_hours
from api.volunteers.teams import get_team
from api.webhooks import outbox
from api.webhooks.events import Event, register_event_types

#: The longest wanted window of an order.
MAX_WINDOW = timedelta(days=31)


@dataclass(frozen=True)
class OrderSpec:
    service: str
    lon: float
    lat: float
    wanted_from: datetime
    wanted_until: datetime
    crs: str = "wgs84"
    description: str = ""


@dataclass(frozen=True)
class Placed:
    """The answer to an order: its view, and whether it replays an earlier request."""

    body: dict[str, Any]
    replayed: bool


def _aware(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def actor_of(principal: Principal | None) -> tuple[str, str]:
    if principal is None:
        return "system", "system"
    return principal.name or principal.client, principal.role.value


def event(
    order_id: int,
    principal: Principal | None,
    step: Step,
    start: str | None,
    end: str,
    now: datetime,
    note: str = "",
    data: dict[str, Any] | None = None,
) -> ServiceOrderEvent:
    actor, role = actor_of(principal)
    return ServiceOrderEvent(
        order_id=order_id,
        at=now,
        actor=actor,
        role=role,
        action=step.value,
        from_status=start,
        to_status=end,
        note=note,
        data=data or {},
    )


#: The webhook event of each step (subscribable like the cases' events).
STEP_EVENTS: dict[Step, str] = {
    Step.ORDER: "service_order.created",
    Step.DISPATCH: "service_order.dispatched",
    Step.ACCEPT: "service_order.accepted",
    Step.DECLINE: "service_order.declined",
    Step.COMPLETE: "service_order.completed",
    Step.RATE: "service_order.rated",
}
register_event_types(*STEP_EVENTS.values())


def _announce(session: Session, order: ServiceOrder, step: Step, end: str, now: datetime) -> None:
    """The step's webhook event, in the transaction of the step itself (no personal data:
    an order carries none beyond its place and description)."""
    data = {
        "order_id": order.id,
        "service": order.service,
        "status": str(end),
        "team_id": order.team_id,
        "unit_code": order.unit_code,
        "lon": order.lon,
        "lat": order.lat,
    }
    outbox.record(
        session,
        [
            Event(
                type=STEP_EVENTS[step],
                data=data,
                occurred_at=now,
                entity=f"service_order:{order.id}",
                units=tuple(order.units or ()),
                category=order.service,
            )
        ],
    )


def order_view(order: ServiceOrder) -> dict[str, Any]:
    return {
        "id": order.id,
        "service": order.service,
        "status": order.status,
        "lon": order.lon,
        "lat": order.lat,
        "units": list(order.units or ()),
        "unit_code": order.unit_code,
        "assignment": order.assignment,
        "wanted_from": order.wanted_from,
        "wanted_until": order.wanted_until,
        "description": order.description,
        "team_id": order.team_id,
        "stars": order.stars,
        "rating_comment": order.rating_comment,
        "allowed": next_steps(order.status),
        "created_at": order.created_at,
        "updated_at": order.updated_at,
    }


def _jsonable(view: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in view.items()}


def _request_hash(spec: OrderSpec) -> str:
    values = asdict(spec)
    values["wanted_from"] = _aware(spec.wanted_from).isoformat()
    values["wanted_until"] = _aware(spec.wanted_until).isoformat()
    return hashlib.sha256(
        json.dumps(values, sort_keys=True, ensure_ascii=False).encode()
    ).hexdigest()


def _idempotency_client(principal: Principal) -> str:
    # the reports' table of first answers, in a namespace of its own: the same key used for a
    # report and for an order names two requests
    return f"{principal.client}:orders"


def _replay(session: Session, principal: Principal, key: str, digest: str) -> Placed | None:
    record = session.get(IdempotencyRecord, (_idempotency_client(principal), key))
    if record is None:
        return None
    if record.request_hash != digest:
        raise OrderKeyReused(
            "this Idempotency-Key was used before with a different order",
            allowed="a new key for a new order; the same key only to retry the same one",
        )
    return Placed(dict(record.response), True)


def place_order(
    session: Session,
    boundaries: ActiveBoundaries,
    principal: Principal,
    spec: OrderSpec,
    now: datetime,
    idempotency_key: str | None = None,
    *,
    tz: tzinfo | None = None,
) -> Placed:
    """Check, place and store an order (committed); dispatched at once to the best candidate
    with room when its service type says so. The same Idempotency-Key and body replays the
    first answer."""
    digest = _request_hash(spec)
    if idempotency_key:
        replayed = _replay(session, principal, idempotency_key, digest)
        if replayed is not None:
            return replayed
    kind = find_service_type(session, spec.service)
    start, end = _aware(spec.wanted_from), _aware(spec.wanted_until)
    if not start < end or end - start > MAX_WINDOW:
        raise InvalidVolunteerRequest(
            "the wanted window must end after it starts, within 31 days",
            allowed="wanted_from < wanted_until, at most 31 days apart",
        )
    active = boundaries.current  # one version for the whole placement
    index = active.index
    result = index.assign([spec.lon], [spec.lat], crs=spec.crs)  # the reports' placement
    placed = index.describe(result, 0, with_phone=False)
    chain = [u["code"] for u in placed["units"]]
    order = ServiceOrder(
        service=kind.code,
        description=spec.description,
        lon=float(result.lon[0]),
        lat=float(result.lat[0]),
        input_crs=str(spec.crs),
        input_lon=spec.lon,
        input_lat=spec.lat,
        units=chain,
        unit_code=chain[-1] if chain else None,
        assignment=placed["status"],
        boundary_version_id=active.version_id,
        wanted_from=start,
        wanted_until=end,
        status=OrderStatus.ORDERED.value,
        ordered_by=principal.key_id,
        created_at=now,
        updated_at=now,
    )
    session.add(order)
    session.flush()
    where = {"lon": spec.lon, "lat": spec.lat, "crs": str(spec.crs), "units": chain}
    session.add(
        event(
            order.id,
            principal,
            Step.ORDER,
            None,
            OrderStatus.ORDERED,
            now,
            spec.description[:200],
            where,
        )
    )
    _announce(session, order, Step.ORDER, OrderStatus.ORDERED, now)
    if kind.auto_dispatch:
        from api.volunteers.candidates import SERVICE_TZ, rank_candidates

        ranked = rank_candidates(session, order, tz=tz or SERVICE_TZ)
        best = [c for c in ranked if c["free_capacity"] > 0]
        if best:
            _move(
                session,
                order,
                None,
                Step.DISPATCH,
                now,
                team_id=best[0]["team_id"],
                note=f"automatic: {best[0]['why']}",
            )
    session.flush()
    body = _jsonable(order_view(order))
    if idempotency_key:
        session.add(
            IdempotencyRecord(
                client=_idempotency_client(principal),
                key=idempotency_key,
                request_hash=digest,
                status_code=201,
                response=body,
                created_at=now,
            )
        )
    try:
        session.commit()
    except IntegrityError:  # the same key, at the same moment, from a retry: its answer
        session.rollback()
        if idempotency_key:
            replayed = _replay(session, principal, idempotency_key, digest)
            if replayed is not None:
                return replayed
        raise
    return Placed(body, False)


def sees_order(principal: Principal, order: ServiceOrder) -> bool:
    """Dispatchers and admins see every order; the one who ordered it theirs; a grid worker
    those of its area; a team lead those dispatched to its team."""
    role = principal.role
    if role in (Role.DISPATCHER, Role.ADMIN) or order.ordered_by == principal.key_id:
        return True
    if role == Role.GRID_WORKER:
        return principal.unit_code in (order.units or ())
    if role == Role.TEAM_LEAD:
        return principal.team_id is not None and order.team_id == principal.team_id
    return False


def get_order(session: Session, order_id: int, principal: Principal | None) -> ServiceOrder:
    order = session.get(ServiceOrder, order_id)
    if order is None or (principal is not None and not sees_order(principal, order)):
        raise OrderNotFound(f"no order {order_id} visible to you", allowed="ids of your orders")
    return order


def order_events(session: Session, order_id: int, principal: Principal) -> list[ServiceOrderEvent]:
    get_order(session, order_id, principal)
    return list(
        session.scalars(
            select(ServiceOrderEvent)
            .where(ServiceOrderEvent.order_id == order_id)
            .order_by(ServiceOrderEvent.id)
        )
    )


def list_orders(
    session: Session, principal: Principal, status: str | None = None, limit: int = 100
) -> list[ServiceOrder]:
    query = select(ServiceOrder).order_by(ServiceOrder.id.desc())
    if status:
        query = query.where(ServiceOrder.status == status)
    if principal.role == Role.TEAM_LEAD:
        query = query.where(ServiceOrder.team_id == principal.team_id)
    elif principal.role not in (Role.DISPATCHER, Role.ADMIN):
        query = query.where(ServiceOrder.ordered_by == principal.key_id)
    return list(session.scalars(query.limit(limit)))


def _move(
    session: Session,
    order: ServiceOrder,
    principal: Principal | None,
    step: Step,
    now: datetime,
    *,
    team_id: int | None | object = ...,
    note: str = "",
    data: dict[str, Any] | None = None,
    **values: Any,
) -> None:
    """Take a step: a conditional UPDATE on the status it starts from, so two callers taking
    steps at once cannot both succeed; the loser gets 409 with the steps now allowed."""
    start, end = STEPS[step]
    changes: dict[str, Any] = {"status": end.value, "updated_at": now, **values}
    if team_id is not ...:
        changes["team_id"] = team_id
    done = session.execute(
        update(ServiceOrder)
        .where(ServiceOrder.id == order.id, ServiceOrder.status == start.value)
        .values(**changes)
        .execution_options(synchronize_session=False)
    )
    if done.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()
        session.refresh(order)
        _refuse(order, step)
    session.add(event(order.id, principal, step, start.value, end.value, now, note, data))
    session.flush()
    session.refresh(order)
    _announce(session, order, step, end.value, now)


def _refuse(order: ServiceOrder, step: Step) -> None:
    allowed = next_steps(order.status)
    raise OrderStepNotAllowed(
        f"order {order.id} is {order.status}: cannot {step.value}",
        allowed=", ".join(allowed) or "no further steps (the order is rated)",
        status=order.status,
        steps=allowed,
    )


def _check(order: ServiceOrder, principal: Principal | None, step: Step) -> None:
    """The caller may take this step on this order (a team lead: its team's orders only)."""
    if principal is not None:
        if principal.role not in STEP_ROLES[step]:
            raise OrderNotFound(f"no order {order.id} for you to {step.value}")
        if principal.role == Role.TEAM_LEAD and order.team_id != principal.team_id:
            raise OrderNotFound(
                f"no order {order.id} dispatched to your team", allowed="orders of your team"
            )
        if step == Step.RATE and order.ordered_by != principal.key_id:
            raise OrderNotFound(f"no order {order.id} of yours to rate", allowed="orders you made")
    if order.status != STEPS[step][0]:
        _refuse(order, step)


def dispatch_order(
    session: Session, order_id: int, principal: Principal | None, team_id: int, now: datetime
) -> ServiceOrder:
    """派单: to a team offering the service (a dispatcher's choice, e.g. from the candidates)."""
    order = get_order(session, order_id, principal)
    _check(order, principal, Step.DISPATCH)
    team = get_team(session, team_id)
    if order.service not in (team.services or ()):
        raise InvalidVolunteerRequest(
            f"team {team.id} does not offer {order.service}",
            allowed="a team from GET /services/orders/{id}/candidates",
        )
    _move(session, order, principal, Step.DISPATCH, now, team_id=team.id, data={"team_id": team.id})
    session.commit()
    return order


def accept_order(
    session: Session, order_id: int, principal: Principal | None, now: datetime, note: str = ""
) -> ServiceOrder:
    """接单: the team's lead takes the order."""
    order = get_order(session, order_id, principal)
    _check(order, principal, Step.ACCEPT)
    _move(session, order, principal, Step.ACCEPT, now, note=note, data={"team_id": order.team_id})
    session.commit()
    return order


def decline_order(
    session: Session, order_id: int, principal: Principal | None, reason: str, now: datetime
) -> ServiceOrder:
    """The team's lead declines: the order goes back to the queue, without a team."""
    order = get_order(session, order_id, principal)
    _check(order, principal, Step.DECLINE)
    _move(
        session,
        order,
        principal,
        Step.DECLINE,
        now,
        team_id=None,
        note=reason,
        data={"team_id": order.team_id},
    )
    session.commit()
    return order


def complete_order(
    session: Session,
    order_id: int,
    principal: Principal | None,
    hours: list[tuple[int, float]],
    now: datetime,
    note: str = "",
) -> ServiceOrder:
    """Done: the lead reports each volunteer's hours; each is credited hours × the service's
    points per hour, in the same transaction as the step."""
    order = get_order(session, order_id, principal)
    _check(order, principal, Step.COMPLETE)
    ids = [v for v, _ in hours]
    if len(set(ids)) != len(ids):
        raise InvalidVolunteerRequest("a volunteer is listed twice", allowed="each id once")
    members = {
        v.id: v
        for v in session.scalars(select(Volunteer).where(Volunteer.id.in_(ids)))
        if v.team_id == order.team_id
    }
    strangers = [v for v in ids if v not in members]
    if strangers:
        raise InvalidVolunteerRequest(
            f"volunteer(s) {strangers} are not of team {order.team_id}",
            allowed=f"ids of team {order.team_id}'s volunteers (GET /volunteers?team_id=...)",
        )
    kind = find_service_type(session, order.service)
    data = {"volunteers": [{"id": v, "hours": h} for v, h in hours], "rate": kind.points_per_hour}
    _move(session, order, principal, Step.COMPLETE, now, note=note, data=data)
    author = actor_of(principal)[0]
    for volunteer_id, spent in hours:
        credit_hours(session, volunteer_id, order.id, spent, kind.points_per_hour, author, now)
    session.commit()
    return order


def rate_order(
    session: Session,
    order_id: int,
    principal: Principal | None,
    stars: int,
    comment: str,
    now: datetime,
) -> ServiceOrder:
    """评单: the resident who ordered it rates the service, 1-5."""
    order = get_order(session, order_id, principal)
    _check(order, principal, Step.RATE)
    _move(
        session,
        order,
        principal,
        Step.RATE,
        now,
        note=comment,
        data={"stars": stars},
        stars=stars,
        rating_comment=comment,
    )
    session.commit()
    return order
