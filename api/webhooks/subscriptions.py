"""Webhook subscriptions (admin): where events go, which ones, and what they may carry.

The secret is made here and shown once, at creation; it is stored as given, since every
delivery's signature is computed from it.
"""

from __future__ import annotations

import ipaddress
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api.access.policy import Principal, Role, sees_leader_phones, sees_reporter
from api.db.models import WebhookDelivery, WebhookSubscription
from api.webhooks.errors import InvalidSubscription, SubscriptionNotFound, TargetRefused
from api.webhooks.events import EVENT_TYPES

#: Events carry no personal data for this role unless another is given.
DEFAULT_ROLE = Role.PLANNER
SETTING = "WANGGE_WEBHOOK_ALLOWED_HOSTS"


@dataclass(frozen=True)
class SubscriptionSpec:
    """What a subscription is made of, or (None fields) what a change leaves alone."""

    url: str | None = None
    events: list[str] | None = None
    units: list[str] | None = None
    categories: list[str] | None = None
    role: str | None = None
    name: str | None = None
    paused: bool | None = None


def check_target(url: str, allowed_hosts: list[str]) -> None:
    """Refuse a URL that is not http(s) or whose host is not allowed."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetRefused(
            f"webhook URL {url!r} is not an http(s) URL with a host",
            allowed="http://host[:port]/path or https://...",
        )
    if parts.username or parts.password:
        raise TargetRefused(
            "webhook URLs carry no credentials", allowed="a URL without user:password@"
        )
    if not host_allowed(parts.hostname, allowed_hosts):
        raise TargetRefused(
            f"host {parts.hostname!r} is not allowed for webhooks (setting {SETTING})",
            allowed=f"{SETTING}: " + (", ".join(allowed_hosts) or "(none set)"),
            setting=SETTING,
        )


def host_allowed(host: str, allowed_hosts: list[str]) -> bool:
    host = host.lower().strip("[]").rstrip(".")
    for allowed in allowed_hosts:
        allowed = allowed.lower().strip("[]").rstrip(".")
        if allowed.startswith("*."):
            if host.endswith(allowed[1:]) and not _is_address(host):
                return True
        elif host == allowed:
            return True
    return False


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _check(spec: SubscriptionSpec, allowed_hosts: list[str]) -> None:
    if spec.url is not None:
        check_target(spec.url, allowed_hosts)
    if spec.events is not None:
        unknown = sorted(set(spec.events) - set(EVENT_TYPES))
        if unknown or not spec.events:
            raise InvalidSubscription(
                f"unknown event type(s): {', '.join(unknown)}" if unknown else "no event types",
                allowed=", ".join(EVENT_TYPES),
                code="unknown_event_type",
            )
    if spec.role is not None and spec.role not in {r.value for r in Role}:
        raise InvalidSubscription(
            f"unknown role {spec.role!r}",
            allowed=", ".join(r.value for r in Role),
            code="unknown_role",
        )


def create_subscription(
    session: Session, spec: SubscriptionSpec, *, allowed_hosts: list[str], now: datetime
) -> WebhookSubscription:
    """A new subscription (committed); its secret is on the returned row, shown once."""
    if spec.url is None or spec.events is None:
        raise InvalidSubscription("a subscription needs url and events", allowed="url, events")
    _check(spec, allowed_hosts)
    row = WebhookSubscription(
        url=spec.url,
        secret="whsec_" + secrets.token_urlsafe(32),
        events=_unique(spec.events),
        units=_unique(spec.units or []),
        categories=_unique(spec.categories or []),
        role=spec.role or DEFAULT_ROLE.value,
        name=spec.name or "",
        paused=bool(spec.paused),
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    session.commit()
    return row


def list_subscriptions(session: Session) -> list[WebhookSubscription]:
    return list(session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.id)))


def get_subscription(session: Session, subscription_id: int) -> WebhookSubscription:
    row = session.get(WebhookSubscription, subscription_id)
    if row is None:
        raise SubscriptionNotFound(
            f"no webhook subscription {subscription_id}", allowed="an id from GET /webhooks"
        )
    return row


def update_subscription(
    session: Session,
    subscription_id: int,
    spec: SubscriptionSpec,
    *,
    allowed_hosts: list[str],
    now: datetime,
) -> WebhookSubscription:
    """Change what is given (committed); a resumed subscription catches up on what waited."""
    row = get_subscription(session, subscription_id)
    _check(spec, allowed_hosts)
    for name in ("url", "role", "name", "paused"):
        value = getattr(spec, name)
        if value is not None:
            setattr(row, name, value)
    for name in ("events", "units", "categories"):
        value = getattr(spec, name)
        if value is not None:
            setattr(row, name, _unique(value))
    row.updated_at = now
    session.commit()
    return row


def delete_subscription(session: Session, subscription_id: int) -> WebhookSubscription:
    """Remove a subscription and its deliveries (committed)."""
    row = get_subscription(session, subscription_id)
    session.execute(delete(WebhookDelivery).where(WebhookDelivery.subscription_id == row.id))
    session.delete(row)
    session.commit()
    return row


def matches(sub: Any, kind: str, units: Iterable[str], category: str | None) -> bool:
    """Whether an event is for this subscription: its type, a unit at or above the event's
    (an event with no units matches unit filters never), its category."""
    if kind not in sub.events:
        return False
    if sub.units and not set(sub.units) & set(units):
        return False
    return not (sub.categories and category is not None and category not in sub.categories)


def event_data(sub: Any, units: list[str], data: dict[str, Any], private: dict[str, Any]) -> Any:
    """The event's data as this subscription's role may see it (api.access.policy)."""
    if not private:
        return data
    principals = [Principal(0, Role(sub.role), code, "webhook") for code in sub.units or [None]]
    shown = dict(data)
    if "reporter" in private and any(sees_reporter(p, units) for p in principals):
        shown["reporter"] = private["reporter"]
    if "leader_phone" in private and sees_leader_phones(principals[0]):
        leader = shown.get("leader")
        if isinstance(leader, dict):
            shown["leader"] = {**leader, "phone": private["leader_phone"]}
    return shown


def _unique(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))
