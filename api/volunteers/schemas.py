"""Request and response models of volunteer services (the fields are the published contract)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, Field, StringConstraints

from api.schemas import (
    DESCRIPTION_LENGTH,
    MAX_ID,
    NAME_LENGTH,
    NOTE_LENGTH,
    Code,
    CrsName,
    Integer,
    Number,
    Strict,
)

#: A skill or a service named by code or Chinese name.
Skill = Annotated[str, StringConstraints(min_length=1, max_length=64)]
Phone = Annotated[str, StringConstraints(max_length=50, pattern=r"^[0-9+\-() ]{3,50}$")]
Id = Annotated[int, Field(ge=1, le=MAX_ID)]


class ServiceTypeOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    points_per_hour: float
    auto_dispatch: bool


class TeamIn(Strict):
    """A volunteer team: where it serves by unit codes (everything below them) and/or a base
    with a radius in metres."""

    name: str = Field(min_length=1, max_length=NAME_LENGTH, examples=["友谊路理发志愿队"])
    organisation: str = Field("", max_length=NAME_LENGTH)
    services: list[Skill] = Field(min_length=1, max_length=20, examples=[["haircut"]])
    units: list[Code] = Field(default_factory=list, max_length=200, examples=[["G1"]])
    lon: Number | None = None
    lat: Number | None = None
    crs: CrsName = Field("wgs84", description="wgs84, gcj02, bd09 or EPSG:<code>")
    radius_m: Number | None = Field(None, gt=0, le=100_000)
    capacity_per_day: Integer = Field(ge=1, le=10_000)


class TeamOut(BaseModel):
    id: int
    name: str
    organisation: str
    services: list[str]
    units: list[str]
    lon: float | None
    lat: float | None
    radius_m: float | None
    capacity_per_day: int
    rating: float | None = Field(description="Mean stars of its rated orders")
    volunteers: int
    created_at: datetime


class VolunteerIn(Strict):
    name: str = Field(min_length=1, max_length=NAME_LENGTH, description="Personal data")
    phone: Phone | None = Field(None, description="Personal data")
    team_id: Id
    skills: list[Skill] = Field(default_factory=list, max_length=20)


class VolunteerOut(BaseModel):
    id: int
    name: str | None = Field(description="Only for dispatchers, admins and the team's lead")
    phone: str | None = Field(description="Only for dispatchers, admins and the team's lead")
    team_id: int
    skills: list[str]
    balance: float
    created_at: datetime


class OrderIn(Strict):
    service: Skill = Field(examples=["haircut"], description="A code from GET /services/types")
    lon: Number = Field(examples=[117.2239])
    lat: Number = Field(examples=[39.0998])
    crs: CrsName = Field("wgs84", description="wgs84, gcj02, bd09 or EPSG:<code>")
    wanted_from: datetime
    wanted_until: datetime
    description: str = Field("", max_length=DESCRIPTION_LENGTH, examples=["老人行动不便，上门理发"])


class OrderOut(BaseModel):
    id: int
    service: str
    status: str
    lon: float
    lat: float
    units: list[str] = Field(description="The units the place lies in, top first")
    unit_code: str | None
    assignment: str
    wanted_from: datetime
    wanted_until: datetime
    description: str
    team_id: int | None
    stars: int | None
    rating_comment: str | None
    allowed: list[str] = Field(description="The steps the lifecycle allows next")
    created_at: datetime
    updated_at: datetime


class OrderEventOut(BaseModel):
    id: int
    at: datetime
    actor: str
    role: str
    action: str
    from_status: str | None
    to_status: str
    note: str
    data: dict[str, Any]


class CandidateOut(BaseModel):
    team_id: int
    name: str
    distance_m: float | None = Field(description="From the team's base (None: no base)")
    free_capacity: int = Field(description="Orders it can still take in the wanted window")
    rating: float | None
    why: str


class DispatchIn(Strict):
    team_id: Id


class DeclineIn(Strict):
    reason: str = Field(min_length=1, max_length=NOTE_LENGTH)


class NoteIn(Strict):
    note: str = Field("", max_length=NOTE_LENGTH)


class HoursIn(Strict):
    id: Id
    hours: Number = Field(gt=0, le=24)


class CompletionIn(Strict):
    volunteers: list[HoursIn] = Field(min_length=1, max_length=100)
    note: str = Field("", max_length=NOTE_LENGTH)


class OrderRatingIn(Strict):
    stars: Integer = Field(ge=1, le=5)
    comment: str = Field("", max_length=NOTE_LENGTH)


class PointsEntryOut(BaseModel):
    id: int
    at: datetime
    kind: str
    points: float
    order_id: int | None
    redemption_id: int | None
    hours: float | None
    reason: str
    author: str


class PointsOut(BaseModel):
    volunteer_id: int
    balance: float
    entries: list[PointsEntryOut]


class CorrectionIn(Strict):
    points: Number = Field(ge=-100_000, le=100_000, description="Added (or taken if negative)")
    reason: str = Field(min_length=1, max_length=NOTE_LENGTH)


class ItemIn(Strict):
    name: str = Field(min_length=1, max_length=NAME_LENGTH, examples=["毛巾"])
    points: Number = Field(gt=0, le=1_000_000, examples=[12])
    stock: Integer = Field(ge=0, le=1_000_000)


class ItemOut(BaseModel):
    id: int
    name: str
    points: float
    stock: int
    created_at: datetime


class RedemptionIn(Strict):
    volunteer_id: Id
    item_id: Id
    quantity: Integer = Field(1, ge=1, le=1000)


class RedemptionOut(BaseModel):
    id: int
    volunteer_id: int
    item_id: int
    quantity: int
    points: float
    balance: float = Field(description="The volunteer's balance after it")
    stock: int = Field(description="The item's stock after it")
    at: datetime


class UnitServiceCoverage(BaseModel):
    code: str
    name: str
    level: str
    teams: list[int] = Field(description="Teams that reach the unit for the type")
    orders: int
    dispatched: float = Field(description="Share of the orders dispatched (or further)")
    accepted: float
    done: float


class ServiceCoverageOut(BaseModel):
    service: str
    level: str
    since: datetime
    until: datetime
    units: list[UnitServiceCoverage]
    unreached: list[str] = Field(description="Codes of the units no team reaches for the type")
