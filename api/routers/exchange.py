"""The points exchange (积分兑换): items with stock, redemptions taken atomically."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends

from api.access.auth import allow
from api.access.policy import ALL_ROLES, Principal, Role
from api.deps import SessionDep
from api.errors import KEYED, error_responses
from api.volunteers.orders import actor_of
from api.volunteers.points import create_item, list_items, redeem
from api.volunteers.schemas import ItemIn, ItemOut, RedemptionIn, RedemptionOut

router = APIRouter(prefix="/exchange", tags=["exchange"], responses=error_responses(*KEYED))


@router.post("/items", status_code=201, response_model=ItemOut, responses=error_responses(413))
def create_exchange_item(
    session: SessionDep,
    _: Annotated[Principal, Depends(allow(Role.ADMIN))],
    body: ItemIn,
) -> Any:
    """Add an item to the exchange: its price in points and its stock."""
    return create_item(session, body.name, body.points, body.stock, datetime.now(UTC))


@router.get("/items", response_model=list[ItemOut])
def read_exchange_items(
    session: SessionDep, _: Annotated[Principal, Depends(allow(*ALL_ROLES))]
) -> Any:
    """The items and the stock left."""
    return list_items(session)


@router.post(
    "/redemptions",
    status_code=201,
    response_model=RedemptionOut,
    responses=error_responses(
        (404, "No such volunteer (of your team, for a team lead) or item"),
        (409, "The balance or the stock does not cover it (what is left named)"),
        413,
    ),
)
def create_redemption(
    session: SessionDep,
    principal: Annotated[Principal, Depends(allow(Role.DISPATCHER, Role.ADMIN, Role.TEAM_LEAD))],
    body: RedemptionIn,
) -> Any:
    """Exchange a volunteer's points for items: never a negative balance, never more than the
    stock, under any number of concurrent redemptions."""
    return redeem(
        session,
        principal,
        body.volunteer_id,
        body.item_id,
        body.quantity,
        actor_of(principal)[0],
        datetime.now(UTC),
    )
