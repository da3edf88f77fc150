"""The request and response models of the Open311 routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import (
    BaseModel,
    Field,
    field_validator,
)

# -- standards: Open311 GeoReport v2 ---------------------------------------------------------


class Open311RequestIn(BaseModel):
    """The form of POST /open311/v2/requests (field names checked before, against the spec)."""

    service_code: str = Field(min_length=1, max_length=64, description="From services.json")
    lat: float | None = Field(None, ge=-90, le=90, description="WGS84")
    long: float | None = Field(None, ge=-180, le=180, description="WGS84")
    address_string: str | None = Field(None, max_length=500)
    address_id: str | None = Field(None, max_length=200)
    email: str | None = Field(None, max_length=200, pattern=r"^[^@\s]+@[^@\s]+$")
    device_id: str | None = Field(None, max_length=200)
    account_id: str | None = Field(None, max_length=200)
    first_name: str | None = Field(None, max_length=100)
    last_name: str | None = Field(None, max_length=100)
    phone: str | None = Field(None, max_length=50, pattern=r"^[0-9+\-() ]{3,50}$")
    description: str = Field("", max_length=4000, description="The spec's limit: 4,000")
    media_url: str | None = Field(
        None, max_length=2000, pattern=r"^https?://\S+$", description="Kept, never fetched"
    )
    jurisdiction_id: str | None = Field(None, max_length=200)
    api_key: str | None = Field(None, max_length=200)
    token: str | None = Field(None, max_length=100, description="Extension: a retry token")

    @field_validator("*")
    @classmethod
    def _no_nul(cls, value: Any) -> Any:
        # PostgreSQL text cannot hold NUL; refused here rather than failing at the insert
        if isinstance(value, str) and "\x00" in value:
            raise ValueError("text may not contain NUL (\\x00) characters")
        return value


class Open311Service(BaseModel):
    service_code: str
    service_name: str = Field(description="Chinese; English in the description")
    description: str
    metadata: bool
    type: Literal["realtime", "batch", "blackbox"]
    keywords: str
    group: str = Field(description="The department")


class Open311ServiceDefinition(BaseModel):
    service_code: str
    attributes: list[dict[str, Any]]


class Open311Request(BaseModel):
    """A service request (a case) in the spec's fields; extension fields for its handlers."""

    service_request_id: str
    status: Literal["open", "closed"]
    status_notes: str = Field(description="Wangge's own status")
    service_name: str
    service_code: str
    description: str
    agency_responsible: str = Field(
        description="The unit and its leader's unit, the department after an escalation across"
    )
    service_notice: str
    requested_datetime: datetime
    updated_datetime: datetime
    expected_datetime: datetime = Field(description="The SLA due time")
    address: str
    address_id: str
    zipcode: str
    lat: float = Field(description="WGS84")
    long: float
    media_url: str
    reporter_name: str | None = Field(None, description="Only for the handlers of the case")
    reporter_phone: str | None = Field(None, description="Only for the handlers of the case")


class Open311Created(BaseModel):
    service_request_id: str
    token: str
    service_notice: str
    account_id: str | None


class Open311Token(BaseModel):
    service_request_id: str
    token: str


class Open311Error(BaseModel):
    code: int = Field(description="The HTTP status")
    description: str = Field(description="What was wrong, and what is allowed")


class Open311Endpoint(BaseModel):
    specification: str
    url: str
    changeset: str
    type: str
    formats: list[str]


class Open311Discovery(BaseModel):
    changeset: str
    contact: str
    key_service: str
    endpoints: list[Open311Endpoint]
