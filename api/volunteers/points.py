"""The points ledger (积分) and the exchange (积分兑换).

Every change of a balance is a line of the append-only ledger (the database refuses updates
and deletes) written in the same transaction as the balance row beside it. Points are taken
with a conditional UPDATE (``balance >= cost``, ``stock >= quantity``): concurrent
redemptions on either database serialise on the row, and the ones the balance or the stock no
longer covers change nothing and get 409. On SQLite the UPDATE is the transaction's first
statement, so it waits for the write lock instead of failing on a stale snapshot.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from api.access.policy import Principal
from api.db.models import ExchangeItem, PointsBalance, PointsEntry, Redemption
from api.volunteers.errors import InsufficientPoints, ItemNotFound, OutOfStock
from api.volunteers.teams import get_volunteer


def _points(value: float) -> float:
    return round(float(value), 2)


def balance_of(session: Session, volunteer_id: int) -> float:
    value = session.scalar(
        select(PointsBalance.balance).where(PointsBalance.volunteer_id == volunteer_id)
    )
    return _points(value or 0.0)


def _add(session: Session, volunteer_id: int, delta: float) -> bool:
    """Add to a balance unless it would fall below zero; whether it did."""
    done = session.execute(
        update(PointsBalance)
        .where(
            PointsBalance.volunteer_id == volunteer_id,
            PointsBalance.balance + delta >= 0,
        )
        .values(balance=PointsBalance.balance + delta)
        .execution_options(synchronize_session=False)
    )
    return bool(done.rowcount == 1)  # type: ignore[attr-defined]


def _entry(session: Session, **values: Any) -> None:
    session.execute(insert(PointsEntry).values(**values))


def credit_hours(
    session: Session,
    volunteer_id: int,
    order_id: int,
    hours: float,
    rate: float,
    author: str,
    now: datetime,
) -> float:
    """Credit hours × rate for a completed order (not committed); the points credited."""
    points = _points(hours * rate)
    if not _add(session, volunteer_id, points):
        session.add(PointsBalance(volunteer_id=volunteer_id, balance=points))
        session.flush()
    _entry(
        session,
        volunteer_id=volunteer_id,
        at=now,
        kind="credit",
        points=points,
        order_id=order_id,
        hours=hours,
        reason=f"order {order_id}: {hours:g} h × {rate:g}",
        author=author,
    )
    return points


def correct_points(
    session: Session,
    volunteer_id: int,
    principal: Principal | None,
    points: float,
    reason: str,
    author: str,
    now: datetime,
) -> PointsEntry:
    """A correction with its reason and author (committed); never below zero."""
    get_volunteer(session, volunteer_id, principal)
    session.commit()  # end the read: the write below starts its own transaction
    delta = _points(points)
    if not _add(session, volunteer_id, delta):
        session.rollback()
        left = balance_of(session, volunteer_id)
        raise InsufficientPoints(
            f"volunteer {volunteer_id} has {left:g} points: a correction of {delta:g} would "
            "leave a negative balance",
            allowed=f"a correction of at least {-left:g}",
            balance=left,
        )
    _entry(
        session,
        volunteer_id=volunteer_id,
        at=now,
        kind="correction",
        points=delta,
        reason=reason,
        author=author,
    )
    session.commit()
    return session.scalars(
        select(PointsEntry)
        .where(PointsEntry.volunteer_id == volunteer_id)
        .order_by(PointsEntry.id.desc())
        .limit(1)
    ).one()


def statement(session: Session, volunteer_id: int, principal: Principal | None) -> dict[str, Any]:
    """The balance and every line of the ledger, oldest first."""
    get_volunteer(session, volunteer_id, principal)
    entries = list(
        session.scalars(
            select(PointsEntry)
            .where(PointsEntry.volunteer_id == volunteer_id)
            .order_by(PointsEntry.id)
        )
    )
    return {
        "volunteer_id": volunteer_id,
        "balance": balance_of(session, volunteer_id),
        "entries": entries,
    }


# -- the exchange -----------------------------------------------------------------------------


def create_item(
    session: Session, name: str, points: float, stock: int, now: datetime
) -> ExchangeItem:
    item = ExchangeItem(name=name, points=_points(points), stock=stock, created_at=now)
    session.add(item)
    session.commit()
    return item


def list_items(session: Session) -> list[ExchangeItem]:
    return list(session.scalars(select(ExchangeItem).order_by(ExchangeItem.id)))


def redeem(
    session: Session,
    principal: Principal | None,
    volunteer_id: int,
    item_id: int,
    quantity: int,
    author: str,
    now: datetime,
) -> dict[str, Any]:
    """Exchange points for items, atomically: the balance and the stock are taken in one
    transaction, each by a conditional UPDATE, or nothing is (409 with what is left)."""
    get_volunteer(session, volunteer_id, principal)
    item = session.get(ExchangeItem, item_id)
    if item is None:
        raise ItemNotFound(f"no exchange item {item_id}", allowed="ids from GET /exchange/items")
    cost = _points(item.points * quantity)
    session.commit()  # end the reads: the write transaction starts with its UPDATE
    if not _add(session, volunteer_id, -cost):
        session.rollback()
        left = balance_of(session, volunteer_id)
        raise InsufficientPoints(
            f"{quantity} × {item.name} costs {cost:g} points; the balance is {left:g}",
            allowed=f"at most {int(left // item.points)} of this item",
            balance=left,
            cost=cost,
        )
    taken = session.execute(
        update(ExchangeItem)
        .where(ExchangeItem.id == item_id, ExchangeItem.stock >= quantity)
        .values(stock=ExchangeItem.stock - quantity)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        session.rollback()  # the points taken above go back with it
        stock = session.scalar(select(ExchangeItem.stock).where(ExchangeItem.id == item_id))
        raise OutOfStock(
            f"{item.name}: {stock} left, {quantity} asked",
            allowed=f"a quantity of at most {stock}",
            stock=stock,
            balance=balance_of(session, volunteer_id),
        )
    redemption_id = session.execute(
        insert(Redemption)
        .values(
            volunteer_id=volunteer_id,
            item_id=item_id,
            quantity=quantity,
            points=cost,
            at=now,
            author=author,
        )
        .returning(Redemption.id)
    ).scalar_one()
    _entry(
        session,
        volunteer_id=volunteer_id,
        at=now,
        kind="redemption",
        points=-cost,
        redemption_id=redemption_id,
        reason=f"{quantity} × {item.name}",
        author=author,
    )
    balance = balance_of(session, volunteer_id)
    stock = int(session.scalar(select(ExchangeItem.stock).where(ExchangeItem.id == item_id)) or 0)
    session.commit()
    return {
        "id": redemption_id,
        "volunteer_id": volunteer_id,
        "item_id": item_id,
        "quantity": quantity,
        "points": cost,
        "balance": balance,
        "stock": stock,
        "at": now,
    }
