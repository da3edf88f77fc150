"""Request and response models of the HTTP API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictFloat,
    StrictInt,
    StringConstraints,
)
from pydantic.json_schema import SkipJsonSchema, WithJsonSchema

# -- limits of what requests may carry (README: "Limits") ------------------------------------

#: Ids are INTEGER columns: 64 bits on SQLite but 32 on PostgreSQL, where a larger number
#: cannot even be compared with them ("integer out of range"). So the largest id either
#: database can hold is the largest accepted; beyond it is refused (422), never looked up.
MAX_ID = 2**31 - 1
#: Rows a page may skip (GET /reports, /facilities, /units): deeper than this, filter instead.
MAX_OFFSET = 10_000_000

# Every free-text field of a request has a maximum length (its database column's, where it is
# stored): a field of megabytes would be stored once and then downloaded by every reader.
# Names that must name something are at least one character: an empty one names nothing.

#: A code: of a unit, category, level or facility type (64 characters, as their columns).
Code = Annotated[str, StringConstraints(min_length=1, max_length=64)]
#: A coordinate system: wgs84, gcj02, bd09 or EPSG:<code>.
CrsName = Annotated[str, StringConstraints(min_length=1, max_length=32)]
#: A case status (one of the lifecycle's names, e.g. in_progress).
StatusName = Annotated[str, StringConstraints(min_length=1, max_length=20)]
#: A role name (reporter, grid_worker, dispatcher, planner, admin, team_lead).
RoleName = Annotated[str, StringConstraints(min_length=1, max_length=20)]
#: A department a case is escalated to (100 characters, as the reports' department column).
Department = Annotated[str, StringConstraints(min_length=1, max_length=100)]
#: Names of people, keys and facilities.
NAME_LENGTH = 200
#: A note on a change of a case, a rating's comment.
NOTE_LENGTH = 2000
#: A report's description.
DESCRIPTION_LENGTH = 5000
#: A report's address.
ADDRESS_LENGTH = 500
#: The id of a feature of a batch lookup (echoed in its result).
FEATURE_ID_LENGTH = 200
#: A bbox filter (four numbers).
BBOX_LENGTH = 200

#: Numbers in a JSON body are JSON numbers: not true/false (which would be read as 1 and 0, a
#: point at 0,0 or a rating of 1) nor strings. Multipart forms, all text, are read laxly.
Number = StrictFloat
Integer = StrictInt


def _iso_only(value: object) -> object:
    """Pydantic reads a number as seconds since 1970; a time here is written as a time."""
    if isinstance(value, int | float) or (
        isinstance(value, str) and value.strip().lstrip("+-").replace(".", "", 1).isdigit()
    ):
        raise ValueError("an ISO 8601 date or date-time is needed, e.g. 2026-11-01T08:00:00+08:00")
    return value


#: A time in a query (since, until): an ISO 8601 date-time, or a date (its midnight); read as
#: UTC when it has no zone.
DateTime = Annotated[
    datetime,
    BeforeValidator(_iso_only),
    WithJsonSchema({"anyOf": [{"type": "string", "format": f} for f in ("date-time", "date")]}),
]


class Strict(BaseModel):
    """Request bodies reject unknown fields."""

    model_config = ConfigDict(extra="forbid")


class ErrorBody(BaseModel):
    """Every error response: what was wrong and what is allowed."""

    code: str = Field(examples=["invalid_coordinates"])
    message: str = Field(examples=["1 point(s) have invalid coordinates; first at index 0: ..."])
    allowed: str | None = Field(
        None, examples=["finite numbers with -180 <= lon <= 180 and -90 <= lat <= 90"]
    )
    details: Any = None


class UnitRef(BaseModel):
    level: str
    code: str
    name: str


class Leader(BaseModel):
    name: str | None
    phone: str | None
    id: str | None = None
    unit_code: str = Field(description="The unit this person leads")
    level: str


class LookupResult(BaseModel):
    """Where a point falls: the chain of units and who is responsible."""

    status: Literal["assigned", "gap", "snapped", "unassigned"] = Field(
        description="assigned: inside a unit of the deepest level there; gap: inside a unit but "
        "between its children; snapped: outside every unit but within the snap tolerance; "
        "unassigned: further away"
    )
    units: list[UnitRef] = Field(description="The chain of units, top level first")
    leader: Leader | None = Field(
        description="The leader of the deepest unit on the chain that has one"
    )
    distance_m: float | None = Field(
        description="0 inside; the snap distance; for unassigned points the distance to the "
        "nearest unit (null beyond 100 km)"
    )
    reason: str | None = Field(description="Why the point is not simply assigned")
    lon: float = Field(description="The point in WGS84, after conversion")
    lat: float
    id: str | int | None = Field(None, description="The feature id, for FeatureCollection input")
    boundary_version_id: int | None = Field(None, description="The boundary version answering")


class PointsBatch(Strict):
    """Points as [lon, lat] pairs in one coordinate system."""

    crs: CrsName = Field("wgs84", description="wgs84, gcj02, bd09 or EPSG:<code>")
    points: list[tuple[Number, Number]] = Field(
        description="[lon, lat] pairs (or [x, y] for projected systems)"
    )


class PointGeometry(BaseModel):
    type: Literal["Point"]
    coordinates: tuple[Number, Number] | tuple[Number, Number, Number]


class PointFeature(BaseModel):
    type: Literal["Feature"]
    id: Annotated[str, StringConstraints(max_length=FEATURE_ID_LENGTH)] | Integer | None = None
    geometry: PointGeometry
    properties: dict[str, Any] | None = None


class FeatureCollectionBatch(BaseModel):
    """A GeoJSON FeatureCollection of points (WGS84 unless ?crs= says otherwise)."""

    type: Literal["FeatureCollection"]
    features: list[PointFeature]


class BatchResult(BaseModel):
    boundary_version_id: int | None = Field(None, description="The boundary version answering")
    count: int
    summary: dict[str, int] = Field(description="Number of points per status")
    results: list[LookupResult]


class LevelInfo(BaseModel):
    name: str
    depth: int
    units: int


class BoundaryInfo(BaseModel):
    name: str
    version_id: int | None = Field(None, description="The active boundary version")
    source_crs: str
    levels: list[LevelInfo]
    bounds: tuple[float, float, float, float]


class WriterInfo(BaseModel):
    runs_in: Literal["process", "thread", "none"] = Field(
        description="Where new reports are committed: a child process of this worker "
        "(WANGGE_WRITER=process), a thread of it, or none (each report commits alone)"
    )
    alive: bool = Field(
        description="Whether the writer is running now (a child that died is started again "
        "by the next batch; its batch was answered 503)"
    )
    batches: int = Field(0, description="Batches (transactions) written since this worker started")
    reports: int = Field(0, description="Reports written in them (one commit per batch)")
    busy: float = Field(
        0.0,
        description="Share of the last 10 s the writer spent writing (0 to 1; near 1, intake "
        "is waiting for it: new reports queue behind the batch being committed)",
    )


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    boundaries: BoundaryInfo
    ready: bool = Field(
        description="Whether everything an answer needs (the compiled index, the metric trees "
        "of snapping and distances) is built: no request pays a one-time build"
    )
    building: list[str] = Field(description="What is still being built (empty when ready)")
    writer: WriterInfo


class UnitProperties(BaseModel):
    code: str
    name: str
    level: str
    parent: str | None
    leader: Leader | None
    children: int = Field(description="Number of units directly below this one")
    properties: dict[str, Any] = Field(default_factory=dict, description="Free properties")


class UnitFeature(BaseModel):
    type: Literal["Feature"] = "Feature"
    id: str
    geometry: dict[str, Any]
    properties: UnitProperties


class UnitCollection(BaseModel):
    type: Literal["FeatureCollection"] = "FeatureCollection"
    numberMatched: int = Field(description="Units matching the filters in total")
    numberReturned: int
    limit: int
    offset: int
    features: list[UnitFeature]


# -- reports ---------------------------------------------------------------------------------


class ReportIn(Strict):
    """A new report: where (with its coordinate system), what, and optionally who."""

    lon: Number = Field(examples=[117.2239])
    lat: Number = Field(examples=[39.0998])
    crs: CrsName = Field("wgs84", description="wgs84, gcj02, bd09 or EPSG:<code>")
    category: Code = Field(examples=["flying_wires"], description="A code from GET /categories")
    description: str = Field("", max_length=DESCRIPTION_LENGTH, examples=["楼道里有电动车飞线充电"])
    address: str | None = Field(None, max_length=ADDRESS_LENGTH)
    name: str | None = Field(
        None, max_length=NAME_LENGTH, description="The reporter's name (private)"
    )
    phone: str | None = Field(
        None,
        max_length=50,
        pattern=r"^[0-9+\-() ]{3,50}$",
        description="The reporter's phone (private)",
    )


class Reporter(BaseModel):
    name: str | None
    phone: str | None


class Duplicate(BaseModel):
    id: int
    distance_m: float
    status: str
    created_at: datetime


class PhotoOut(BaseModel):
    id: int
    content_type: str
    bytes: int
    url: str


class Assignment(BaseModel):
    status: Literal["assigned", "gap", "snapped", "unassigned", "reassigned", "escalated"] = Field(
        description="How the case got its unit: by its place (assigned, gap, snapped, "
        "unassigned, as in /lookup), or moved by people (reassigned by a dispatcher, escalated "
        "to the parent unit); `reason` says why in words"
    )
    units: list[UnitRef]
    leader: Leader | None
    distance_m: float | None
    reason: str | None
    boundary_set: str
    boundary_version_id: int | None = Field(
        None,
        description="The boundary version this assignment was made under (null: before "
        "versions were kept)",
    )


class ReportOut(BaseModel):
    """A report as the caller may see it (reporter fields only for its handlers)."""

    id: int
    status: str
    category: str
    description: str
    address: str | None
    lon: float = Field(description="WGS84")
    lat: float
    input: dict[str, Any] = Field(description="The location as sent: lon, lat, crs")
    assignment: Assignment
    department: str | None
    duplicate_of: int | None
    created_at: datetime
    updated_at: datetime
    due_at: datetime
    overdue: bool
    resolved_at: datetime | None
    closed_at: datetime | None
    rating: int | None
    rating_comment: str | None
    reporter: Reporter | None = Field(
        None, description="Only for dispatchers and the handlers of the case"
    )
    photos: list[PhotoOut] = Field(default_factory=list)
    possible_duplicates: list[Duplicate] | None = Field(
        None, description="On intake: open reports of the same category close by"
    )
    allowed_next: list[str] = Field(description="The states this case may move to next")


class ReportPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[ReportOut]


class EventOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    actor: str
    role: str
    from_status: str | None
    to_status: str
    note: str
    data: dict[str, Any]
    kind: str = Field(
        "transition",
        description="transition (a move along the lifecycle), rerouted (a new boundary "
        "version moved the case) or leader_changed (its responsible leader changed)",
    )


class TransitionIn(Strict):
    """Move a case to another state."""

    to: StatusName = Field(examples=["accepted"])
    note: str = Field("", max_length=NOTE_LENGTH)
    unit_code: Code | None = Field(None, description="reassigned: the unit to move the case to")
    escalate_to: Department | None = Field(
        None,
        description="escalated: 'parent' (the unit above the current one) or a department name",
    )
    duplicate_of: Integer | None = Field(
        None, ge=1, le=MAX_ID, description="rejected: the report this duplicates"
    )


class RatingIn(Strict):
    score: Integer = Field(ge=1, le=5)
    comment: str = Field("", max_length=NOTE_LENGTH)


class CategoryOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    sla_hours: float
    department: str
    duplicate_radius_m: float


class UnitStats(BaseModel):
    code: str
    level: str
    total: int
    by_status: dict[str, int]
    by_category: dict[str, int]
    overdue: int
    median_hours_to_resolve: float | None


class KeyIn(Strict):
    role: RoleName = Field(examples=["dispatcher"])
    unit_code: Code | None = Field(None, description="The unit of a grid worker's key")
    name: str = Field("", max_length=NAME_LENGTH, description="Whose key it is")
    team_id: Integer | None = Field(
        None, ge=1, le=MAX_ID, description="The volunteer team of a team lead's key"
    )


class KeyOut(BaseModel):
    id: int
    role: str
    unit_code: str | None
    name: str
    created_at: datetime
    revoked_at: datetime | None
    key: str | None = Field(None, description="Shown once, when the key is created")
    team_id: int | None = None


# -- planning: facilities and coverage -------------------------------------------------------


class FacilityTypeOut(BaseModel):
    code: str = Field(examples=["elderly_care"])
    name_zh: str
    name_en: str
    builtin: bool = Field(description="In the built-in catalogue (else added by an import)")
    facilities: int = Field(description="Facilities of this type stored")


class FacilityIn(Strict):
    """A new facility: type, name, optional capacity, and where (with its coordinate system)."""

    type: Code = Field(examples=["elderly_care"], description="A code from GET /facilities/types")
    name: str = Field(min_length=1, max_length=NAME_LENGTH, examples=["友谊路街道居家养老服务中心"])
    capacity: Integer | None = Field(None, ge=0, le=1_000_000, description="Places, if known")
    lon: Number = Field(examples=[117.2239])
    lat: Number = Field(examples=[39.0998])
    crs: CrsName = Field("wgs84", description="wgs84, gcj02, bd09 or EPSG:<code>")


class FacilityPatch(Strict):
    """Fields to change; a move gives lon and lat (and crs unless WGS84); capacity may be null."""

    # None is "not given" (the default); sent as null, it is refused, so the schema has no null
    type: Code | SkipJsonSchema[None] = None
    name: Annotated[str, Field(min_length=1, max_length=NAME_LENGTH)] | SkipJsonSchema[None] = None
    capacity: Integer | None = Field(None, ge=0, le=1_000_000, description="null clears it")
    lon: Number | SkipJsonSchema[None] = None
    lat: Number | SkipJsonSchema[None] = None
    crs: CrsName | None = Field(None, description="Of lon/lat; wgs84 if not given")


class LocationInput(BaseModel):
    lon: float
    lat: float
    crs: str


class FacilityOut(BaseModel):
    id: int
    type: str
    name: str
    capacity: int | None
    lon: float = Field(description="WGS84")
    lat: float
    input: LocationInput = Field(description="The location as given")
    source: str = Field(description="api, import:<file> or demo")
    created_at: datetime
    updated_at: datetime


class FacilityPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[FacilityOut]


class CoverageSummary(BaseModel):
    """Parameters and totals of a coverage answer."""

    facility_type: str
    level: str
    mode: Literal["circle", "network"]
    minutes: float
    speed_m_per_min: float
    distance_m: float = Field(description="minutes x speed")
    buffer_m: float | None = Field(None, description="Network mode: band kept along streets")
    metric_crs: str = Field(description="The projected CRS distances and areas are measured in")
    facilities: int
    population_source: Literal["units", "points", "none"]
    population: str = Field(description="What the population was given for")
    population_rows_ignored: int = Field(
        description="Per-unit rows whose code is not in the loaded boundary set"
    )
    units_without_population: int | None = Field(
        None,
        description="Per-unit population: units of the level it is given for that have none "
        "(e.g. units new in the active boundary version, until theirs is imported)",
    )
    units: int
    residents: float
    residents_60: float
    covered: float
    covered_60: float
    uncovered: float
    uncovered_60: float
    share_covered: float | None
    share_covered_60: float | None
    area_m2: float
    covered_area_m2: float
    gap_area_m2: float
    gaps: int
    units_served: int = Field(description="Units whose representative point is covered")
    units_fully_covered_60: int
    residents_outside_level: float = Field(description="Residents in no unit of the level")
    residents_60_outside_level: float
    boundary_set: str
    data_version: dict[str, int] = Field(description="Versions of the facility and population data")
    computed_at: datetime


class CoverageUnit(BaseModel):
    code: str
    name: str
    area_m2: float
    covered_area_m2: float
    served: bool
    population: float
    population_60: float
    covered: float
    covered_60: float
    uncovered: float
    uncovered_60: float
    share_covered_60: float | None = Field(description="null without residents aged 60+")


class GapProperties(BaseModel):
    unit: str
    unit_name: str
    residents: float = Field(description="Uncovered residents in this piece")
    residents_60: float = Field(description="Uncovered residents aged 60+ in this piece")
    area_m2: float


class GapFeature(BaseModel):
    type: Literal["Feature"]
    geometry: dict[str, Any]
    properties: GapProperties


class GapCollection(BaseModel):
    type: Literal["FeatureCollection"]
    features: list[GapFeature]


class CoverageOut(BaseModel):
    summary: CoverageSummary
    units: list[CoverageUnit] = Field(description="One row per unit of the level, in set order")
    gaps: GapCollection = Field(
        description="Parts of the units outside every service area (EPSG:4326), most uncovered "
        "60+ residents first"
    )


class SuggestIn(Strict):
    """New sites wanted: how many, for which facility type and service circle, where from."""

    k: Integer = Field(ge=1, le=50, description="Number of sites wanted")
    facility_type: Code = Field("elderly_care", description="A code from GET /facilities/types")
    minutes: Number = Field(15.0, ge=1, le=120, description="Minutes of walking")
    speed: Number | None = Field(
        None, ge=10, le=200, description="Walking speed in m/min (default 1000/15, about 66.7)"
    )
    level: Code | None = Field(None, description="Level the sites' units are named at")
    mode: Literal["circle", "network"] = "circle"
    population: Literal["units", "points"] | None = None
    candidates: list[tuple[Number, Number]] | None = Field(
        None,
        min_length=1,
        description="Candidate sites as [lon, lat] in crs; default: the representative point "
        "of every unit of the deepest level (network mode: of the level's units)",
    )
    crs: CrsName = Field(
        "wgs84", description="Of the candidates: wgs84, gcj02, bd09 or EPSG:<code>"
    )


class SuggestedSite(BaseModel):
    rank: int
    lon: float = Field(description="WGS84")
    lat: float
    site: str | None = Field(description="The candidate: a unit code or candidates[i]")
    unit: str | None = Field(description="The unit of the level it lies in")
    unit_name: str | None
    gain: float = Field(description="Residents aged 60+ newly covered by this site")
    gain_all_ages: float
    cumulative: float = Field(description="60+ residents newly covered by this and earlier sites")
    share_of_uncovered_60: float | None


class SuggestOut(BaseModel):
    summary: dict[str, Any]
    sites: list[SuggestedSite] = Field(description="In the order picked; gains never increase")
