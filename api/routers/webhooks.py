"""Webhook subscriptions (admin): create, read, change, delete; their deliveries; replay."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Path, Query

from api.access.auth import allow
from api.access.policy import Principal, Role
from api.deps import SessionDep, SettingsDep
from api.errors import KEYED, error_responses
from api.schemas import MAX_ID
from api.webhooks import deliveries, subscriptions
from api.webhooks.schemas import (
    DeliveryOut,
    ReplayIn,
    ReplayOut,
    SubscriptionIn,
    SubscriptionOut,
    SubscriptionPatch,
)
from api.webhooks.subscriptions import SubscriptionSpec

router = APIRouter(prefix="/webhooks", tags=["webhooks"], responses=error_responses(*KEYED))
Admin = Annotated[Principal, Depends(allow(Role.ADMIN))]
SubscriptionId = Annotated[
    int, Path(ge=1, le=MAX_ID, description="The subscription's id, from GET /webhooks")
]
NOT_FOUND = error_responses((404, "No subscription with that id"))


def _out(row: Any, secret: str | None = None) -> SubscriptionOut:
    return SubscriptionOut.model_validate(row, from_attributes=True).model_copy(
        update={"secret": secret}
    )


def _now() -> datetime:
    return datetime.now(UTC)


@router.post(
    "",
    status_code=201,
    response_model=SubscriptionOut,
    responses=error_responses((422, "A target off WANGGE_WEBHOOK_ALLOWED_HOSTS"), 413),
)
def create_webhook(
    session: SessionDep, settings: SettingsDep, _: Admin, body: SubscriptionIn
) -> SubscriptionOut:
    """Subscribe a URL to events; the signing secret is in this answer only."""
    row = subscriptions.create_subscription(
        session,
        SubscriptionSpec(**body.model_dump()),
        allowed_hosts=settings.webhook_hosts,
        now=_now(),
    )
    return _out(row, row.secret)


@router.get("", response_model=list[SubscriptionOut])
def read_webhooks(session: SessionDep, _: Admin) -> list[SubscriptionOut]:
    """Every subscription (without secrets)."""
    return [_out(row) for row in subscriptions.list_subscriptions(session)]


@router.get("/{subscription_id}", response_model=SubscriptionOut, responses=NOT_FOUND)
def read_webhook(session: SessionDep, _: Admin, subscription_id: SubscriptionId) -> SubscriptionOut:
    return _out(subscriptions.get_subscription(session, subscription_id))


@router.patch(
    "/{subscription_id}",
    response_model=SubscriptionOut,
    responses=error_responses((404, "No subscription with that id"), 413),
)
def update_webhook(
    session: SessionDep,
    settings: SettingsDep,
    _: Admin,
    subscription_id: SubscriptionId,
    body: SubscriptionPatch,
) -> SubscriptionOut:
    """Change a subscription; ``paused: false`` resumes it, and what waited is delivered."""
    row = subscriptions.update_subscription(
        session,
        subscription_id,
        SubscriptionSpec(**body.model_dump(exclude_none=True)),
        allowed_hosts=settings.webhook_hosts,
        now=_now(),
    )
    return _out(row)


@router.delete("/{subscription_id}", response_model=SubscriptionOut, responses=NOT_FOUND)
def delete_webhook(
    session: SessionDep, _: Admin, subscription_id: SubscriptionId
) -> SubscriptionOut:
    """Remove a subscription and its deliveries."""
    return _out(subscriptions.delete_subscription(session, subscription_id))


@router.get("/{subscription_id}/deliveries", response_model=list[DeliveryOut], responses=NOT_FOUND)
def read_webhook_deliveries(
    session: SessionDep,
    _: Admin,
    subscription_id: SubscriptionId,
    state: Annotated[
        Literal["pending", "delivered", "dead"] | None, Query(description="Only these")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[DeliveryOut]:
    """The most recent deliveries, newest first: state, attempts, the last answer's status,
    latency and first bytes."""
    rows = deliveries.list_deliveries(session, subscription_id, state=state, limit=limit)
    return [DeliveryOut.model_validate(row) for row in rows]


@router.post(
    "/{subscription_id}/replay",
    response_model=ReplayOut,
    responses=error_responses((404, "No subscription with that id"), 413),
)
def replay_webhook(
    session: SessionDep, _: Admin, subscription_id: SubscriptionId, body: ReplayIn
) -> ReplayOut:
    """Deliver again one event (``event_id``) or the events of a time range (``since``,
    ``until``): the same event ids, due now."""
    count = deliveries.replay(
        session,
        subscription_id,
        now=_now(),
        event_id=body.event_id,
        since=_aware(body.since),
        until=_aware(body.until),
    )
    return ReplayOut(replayed=count)


def _aware(at: datetime | None) -> datetime | None:
    """A time without a zone is read as UTC."""
    return at if at is None or at.tzinfo else at.replace(tzinfo=UTC)
