"""Request and response models of the HTTP API."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field


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


class PointsBatch(Strict):
    """Points as [lon, lat] pairs in one coordinate system."""

    crs: str = Field("wgs84", description="wgs84, gcj02, bd09 or EPSG:<code>")
    points: list[tuple[float, float]] = Field(
        description="[lon, lat] pairs (or [x, y] for projected systems)"
    )


class PointGeometry(BaseModel):
    type: Literal["Point"]
    coordinates: tuple[float, float] | tuple[float, float, float]


class PointFeature(BaseModel):
    type: Literal["Feature"]
    id: str | int | None = None
    geometry: PointGeometry
    properties: dict[str, Any] | None = None


class FeatureCollectionBatch(BaseModel):
    """A GeoJSON FeatureCollection of points (WGS84 unless ?crs= says otherwise)."""

    type: Literal["FeatureCollection"]
    features: list[PointFeature]


class BatchResult(BaseModel):
    count: int
    summary: dict[str, int] = Field(description="Number of points per status")
    results: list[LookupResult]


class LevelInfo(BaseModel):
    name: str
    depth: int
    units: int


class BoundaryInfo(BaseModel):
    name: str
    source_crs: str
    levels: list[LevelInfo]
    bounds: tuple[float, float, float, float]


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    boundaries: BoundaryInfo


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
