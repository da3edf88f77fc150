"""Webhooks: ``wangge webhooks list | deliveries | replay``."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

import typer
from rich.table import Table

from api.cli.common import console, database, fail
from geo.errors import WanggeError

webhooks_app = typer.Typer(
    help="Webhook subscriptions: list them, their deliveries, replay events.",
    no_args_is_help=True,
)


def _when(at: datetime | None) -> str:
    return f"{at:%Y-%m-%d %H:%M:%S}" if at else ""


@webhooks_app.command("list")
def webhooks_list() -> None:
    """List subscriptions (never their secrets)."""
    from api.webhooks.subscriptions import list_subscriptions

    table = Table()
    for column in ("id", "url", "events", "units", "categories", "role", "paused"):
        table.add_column(column, overflow="fold")
    with database().session() as session:
        for row in list_subscriptions(session):
            table.add_row(
                str(row.id),
                row.url,
                ", ".join(row.events),
                ", ".join(row.units),
                ", ".join(row.categories),
                row.role,
                "paused" if row.paused else "",
            )
    console.print(table)


@webhooks_app.command("deliveries")
def webhooks_deliveries(
    subscription_id: Annotated[int, typer.Argument(help="The subscription (wangge webhooks list)")],
    state: Annotated[str | None, typer.Option(help="pending, delivered or dead")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Most recent first")] = 50,
) -> None:
    """A subscription's most recent deliveries: state, attempts, the last answer."""
    from api.webhooks.deliveries import list_deliveries

    table = Table()
    for column in ("event", "type", "occurred", "state", "attempts", "status", "ms", "error"):
        table.add_column(column, overflow="fold")
    try:
        with database().session() as session:
            rows = list_deliveries(session, subscription_id, state=state, limit=limit)
    except WanggeError as exc:
        raise fail(exc) from None
    for row in rows:
        table.add_row(
            row["event_id"],
            row["type"],
            _when(row["occurred_at"]),
            row["state"],
            str(row["attempts"]),
            str(row["last_status_code"] or ""),
            f"{row['last_latency_ms']:.0f}" if row["last_latency_ms"] is not None else "",
            row["last_error"] or "",
        )
    console.print(table)


@webhooks_app.command("replay")
def webhooks_replay(
    subscription_id: Annotated[int, typer.Argument(help="The subscription (wangge webhooks list)")],
    event: Annotated[str | None, typer.Option(help="One event's id")] = None,
    since: Annotated[
        datetime | None, typer.Option(help="Events that occurred from then (UTC if no zone)")
    ] = None,
    until: Annotated[datetime | None, typer.Option(help="... and before then")] = None,
) -> None:
    """Deliver again one event or the events of a time range (same event ids)."""
    from api.webhooks.deliveries import replay

    def aware(at: datetime | None) -> datetime | None:
        return at if at is None or at.tzinfo else at.replace(tzinfo=UTC)

    try:
        with database().session() as session:
            count = replay(
                session,
                subscription_id,
                now=datetime.now(UTC),
                event_id=event,
                since=aware(since),
                until=aware(until),
            )
    except WanggeError as exc:
        raise fail(exc) from None
    console.print(f"{count} event(s) due again for subscription {subscription_id}")
