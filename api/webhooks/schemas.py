"""The request and response models of the webhook routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from api.schemas import NAME_LENGTH, Code, DateTime, RoleName, Strict

#: A target URL (the column's length).
Url = Annotated[str, StringConstraints(min_length=1, max_length=2000)]
EventType = Annotated[str, StringConstraints(min_length=1, max_length=64)]
#: Most event types, units or categories one subscription names.
MAX_FILTERS = 200


class SubscriptionIn(Strict):
    url: Url = Field(examples=["https://grid-app.example.org/hooks/wangge"])
    events: list[EventType] = Field(
        min_length=1, max_length=MAX_FILTERS, examples=[["report.created", "report.assigned"]]
    )
    units: list[Code] = Field(
        default_factory=list,
        max_length=MAX_FILTERS,
        description="Unit codes: a case in one of them or below matches (empty: every unit)",
    )
    categories: list[Code] = Field(default_factory=list, max_length=MAX_FILTERS)
    role: RoleName = Field(
        "planner",
        description="Whose view of personal data the events carry (default: none)",
    )
    name: str = Field("", max_length=NAME_LENGTH, description="Who receives them")
    paused: bool = False


class SubscriptionPatch(Strict):
    url: Url | None = None
    events: list[EventType] | None = Field(None, min_length=1, max_length=MAX_FILTERS)
    units: list[Code] | None = Field(None, max_length=MAX_FILTERS)
    categories: list[Code] | None = Field(None, max_length=MAX_FILTERS)
    role: RoleName | None = None
    name: str | None = Field(None, max_length=NAME_LENGTH)
    paused: bool | None = None


class SubscriptionOut(BaseModel):
    id: int
    url: str
    events: list[str]
    units: list[str]
    categories: list[str]
    role: str
    name: str
    paused: bool
    created_at: datetime
    updated_at: datetime
    secret: str | None = Field(
        None, description="The signing secret: in the answer to POST /webhooks only"
    )


class DeliveryOut(BaseModel):
    event_id: str
    type: str
    occurred_at: datetime
    state: Literal["pending", "delivered", "dead"]
    attempts: int
    next_at: datetime | None = Field(description="When a pending delivery is tried next")
    last_attempt_at: datetime | None
    last_status_code: int | None = Field(description="The receiver's status (None: no answer)")
    last_latency_ms: float | None
    last_error: str | None
    last_response: str | None = Field(description="The first bytes of the receiver's answer")
    delivered_at: datetime | None


class ReplayIn(Strict):
    event_id: Annotated[str, StringConstraints(min_length=1, max_length=36)] | None = None
    since: DateTime | None = None
    until: DateTime | None = None


class ReplayOut(BaseModel):
    replayed: int = Field(description="Events due again for this subscription")
