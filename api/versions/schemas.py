"""The request and response models of the boundary-version and leader routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    Field,
)

from api.schemas import Strict

# -- boundary versions and the leader roster -------------------------------------------------


class ValidationIssueOut(BaseModel):
    severity: Literal["error", "warning", "info"]
    kind: str
    level: str | None
    codes: list[str]
    message: str
    area_m2: float | None
    where: list[float] | None


class ValidationOut(BaseModel):
    """geo.validate's report of a version: complete counts, the first issues."""

    name: str
    ok: bool
    tolerance_m: float
    min_area_m2: float
    units_per_level: dict[str, int]
    counts: dict[str, dict[str, int]] = Field(description="Issues per severity and kind")
    issues_total: int
    issues: list[ValidationIssueOut] = Field(description="The first issues, errors first")


class VersionOut(BaseModel):
    """A boundary version: where it came from, its state and its validation report."""

    id: int
    name: str
    state: Literal["draft", "active", "retired"]
    source_name: str = Field(description="The file it was imported from")
    source_sha256: str
    source_crs: str = Field(description="The coordinate system the file was declared in")
    levels: list[str] = Field(description="Levels, top first")
    unit_counts: dict[str, int] = Field(description="Units per level")
    bounds: list[float] = Field(description="minlon, minlat, maxlon, maxlat (WGS84)")
    imported_by: str
    imported_at: datetime
    activated_at: datetime | None = Field(description="When it last became active")
    retired_at: datetime | None
    errors: int = Field(description="Validation errors: a version with any cannot be activated")
    warnings: int
    validation: ValidationOut


class DiffListing(BaseModel):
    count: int = Field(description="How many, in all")
    items: list[dict[str, Any]] = Field(description="The first of them (?limit=)")


class UnitChanges(BaseModel):
    added: DiffListing
    removed: DiffListing
    renamed: DiffListing = Field(description="old_name, new_name")
    parent_changed: DiffListing = Field(description="Moved to another parent: old/new_parent")
    geometry_changed: DiffListing = Field(
        description="area_before_m2, area_after_m2, area_change_m2 and changed_area_m2 (the "
        "area that changed hands: the symmetric difference)"
    )
    leader_changed: DiffListing = Field(
        description="Units whose leader would change: a file's leader seeds a unit the roster "
        "has none for"
    )
    file_leaders_ignored: DiffListing = Field(
        description="Leaders the file names for units the roster already has someone for "
        "(the roster is kept: change them with PUT /units/{code}/leader)"
    )


class CaseMove(BaseModel):
    from_unit: str | None
    to_unit: str
    cases: int


class CaseLoss(BaseModel):
    from_unit: str | None
    cases: int


class CaseCounts(BaseModel):
    open: int
    moved: int = Field(description="Open cases that go to another unit")
    unchanged: int = Field(description="Open cases that keep their unit")
    unassigned: int = Field(description="Open cases left without a unit (to the queue)")
    parent_changed: int = Field(description="Of the unchanged: their units above change")
    leader_changed: int = Field(description="Of the unchanged: their responsible leader changes")


class CaseChanges(CaseCounts):
    moves: list[CaseMove] = Field(description="Per (old unit -> new unit), most cases first")
    unassigned_from: list[CaseLoss] = Field(description="Where the unassigned ones were")


class VersionDiff(BaseModel):
    """What activating a version would change against the active one (a dry run)."""

    version_id: int
    against_version_id: int
    limit: int
    units: UnitChanges
    cases: CaseChanges


class ActivationOut(BaseModel):
    version: VersionOut
    previous_version_id: int | None
    cases: CaseCounts
    leaders_seeded: int = Field(description="Units given the leader their file names")
    index_seconds: float = Field(description="Building the new index (before the switch)")
    seconds: float


class LeaderIn(Strict):
    """A new leader of a unit, from ``since`` (default: now; never in the future)."""

    name: str = Field(min_length=1, max_length=200, examples=["赵敏"])
    phone: str | None = Field(None, max_length=50, pattern=r"^[0-9+\-() ]{3,50}$")
    id: str | None = Field(None, max_length=100, description="The person's staff number")
    since: datetime | None = Field(None, description="When the appointment starts")


class AppointmentOut(BaseModel):
    name: str | None
    phone: str | None
    id: str | None
    since: datetime
    until: datetime | None = Field(description="null: in office")
    appointed_by: str
    ended_by: str | None
    source: str = Field(description="api, import:<file> or the boundary file of a version")


class LeaderHistory(BaseModel):
    code: str
    current: AppointmentOut | None
    appointments: list[AppointmentOut] = Field(description="Oldest first")
