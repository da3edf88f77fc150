"""The answers of the analytics routes (coordinates in WGS84)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class HotSpotUnit(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    code: str
    name: str
    count: int = Field(description="Cases in the window (and category)")
    z: float | None = Field(description="Gi* z-score (null for an island)")
    p: float | None = Field(description="Permutation p-value (pseudo p of esda's G_Local)")
    class_: str = Field(
        alias="class",
        description="hot_99, hot_95, hot_90, cold_99, cold_95, cold_90 or not_significant "
        "(after the FDR correction over all units)",
    )
    geometry: dict[str, Any] | None = Field(default=None, description="With geometry=true")


class HotSpotsOut(BaseModel):
    units: list[HotSpotUnit]
    summary: dict[str, Any]


class EmergingUnit(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    code: str
    name: str
    class_: str = Field(alias="class", description="pattern_spot, e.g. intensifying_hot")
    pattern: str = Field(
        description="new, consecutive, intensifying, persistent, diminishing, "
        "sporadic, oscillating, historical or no_pattern"
    )
    spot: str | None = Field(description="hot, cold or null")
    trend: str = Field(description="Mann-Kendall on the weekly z-scores")
    trend_p: float
    tau: float
    hot_weeks: int
    cold_weeks: int
    counts: list[int] = Field(description="Cases per week, oldest first")
    z: list[float] = Field(description="Gi* z-score per week, oldest first")


class EmergingOut(BaseModel):
    units: list[EmergingUnit]
    summary: dict[str, Any]


class RecurringPlace(BaseModel):
    category: str
    lon: float
    lat: float
    count: int
    first: datetime
    last: datetime
    units: list[str]
    open: int
    median_hours_to_resolve: float | None
    recurs_after_closure: int = Field(
        description="Reports made after an earlier one of the place was resolved or closed"
    )


class RecurringOut(BaseModel):
    places: list[RecurringPlace]
    summary: dict[str, Any]


class Reason(BaseModel):
    zh: str
    en: str


class TargetItem(BaseModel):
    unit: str
    name: str
    category: str
    score: float
    reason: Reason
    count: int
    baseline_count: int = Field(description="Reports of the pair in the 90 days before")
    ratio: float | None = Field(description="The window's rate over the 90-day rate")
    hot_class: str
    recurring_places: int


class TargetsOut(BaseModel):
    items: list[TargetItem]
    summary: dict[str, Any]


class UnitLeader(BaseModel):
    name: str | None
    phone: str | None
    id: str | None


class PerformanceUnit(BaseModel):
    code: str
    name: str
    received: int
    resolved: int
    on_time_pct: float | None
    overdue: int = Field(description="Open now and past the deadline")
    median_hours_to_accept: float | None
    median_hours_to_resolve: float | None
    rating: float | None = Field(description="Average rating")
    reopened: int
    reopen_rate: float | None = Field(description="Reopened cases over those ever resolved")
    escalations: int
    leader: UnitLeader


class PerformanceOut(BaseModel):
    units: list[PerformanceUnit]
    summary: dict[str, Any]
