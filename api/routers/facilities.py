"""Care facilities and the population table (admin writes, planners read)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response
from sqlalchemy import func, select

from api import planning
from api.access.auth import allow
from api.access.policy import Principal, Role
from api.db.models import Facility
from api.errors import ApiError
from api.planning import PlanningDep
from api.schemas import (
    ErrorBody,
    FacilityIn,
    FacilityOut,
    FacilityPage,
    FacilityPatch,
    FacilityTypeOut,
)

router = APIRouter(tags=["planning"])

READERS = (Role.PLANNER, Role.DISPATCHER, Role.ADMIN)
Reader = Annotated[Principal, Depends(allow(*READERS))]
Admin = Annotated[Principal, Depends(allow(Role.ADMIN))]
FacilityId = Annotated[int, Path(description="The facility's id")]

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in {
        401: "No or invalid API key",
        403: "Role not allowed",
        404: "No such facility",
        422: "Invalid request: unknown type, bad coordinates or fields",
        429: "Rate limit",
    }.items()
}


@router.get("/facilities/types", response_model=list[FacilityTypeOut], responses=ERRORS)
def read_facility_types(service: PlanningDep, _: Reader) -> list[FacilityTypeOut]:
    """The facility catalogue: the built-in types and any type added by an import."""
    with service.db.session() as session:
        return [FacilityTypeOut.model_validate(t) for t in planning.facility_types(session)]


@router.post("/facilities", status_code=201, response_model=FacilityOut, responses=ERRORS)
def create_facility(
    service: PlanningDep, _: Admin, body: FacilityIn, response: Response
) -> FacilityOut:
    """Add a facility; the location may be in WGS84, GCJ-02, BD-09 or any EPSG system and is
    stored in WGS84 beside the input."""
    with service.db.session() as session:
        row = planning.create_facility(session, **body.model_dump(), source="api")
        out = FacilityOut.model_validate(planning.facility_out(row))
    service.invalidate()
    response.headers["Location"] = f"/facilities/{out.id}"
    return out


@router.get("/facilities", response_model=FacilityPage, responses=ERRORS)
def read_facilities(
    service: PlanningDep,
    _: Reader,
    type: Annotated[str | None, Query(description="Only facilities of this type")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> FacilityPage:
    """Facilities by id, optionally of one type, with the total."""
    query = select(Facility)
    counted = select(func.count()).select_from(Facility)
    with service.db.session() as session:
        if type is not None:
            planning.check_facility_type(session, type)
            query = query.where(Facility.type == type)
            counted = counted.where(Facility.type == type)
        total = int(session.scalar(counted) or 0)
        rows = session.scalars(query.order_by(Facility.id).limit(limit).offset(offset)).all()
        items = [FacilityOut.model_validate(planning.facility_out(r)) for r in rows]
    return FacilityPage(total=total, limit=limit, offset=offset, items=items)


@router.get("/facilities/{facility_id}", response_model=FacilityOut, responses=ERRORS)
def read_facility(service: PlanningDep, _: Reader, facility_id: FacilityId) -> FacilityOut:
    """One facility."""
    with service.db.session() as session:
        row = planning.get_facility(session, facility_id)
        return FacilityOut.model_validate(planning.facility_out(row))


@router.patch("/facilities/{facility_id}", response_model=FacilityOut, responses=ERRORS)
def update_facility(
    service: PlanningDep, _: Admin, facility_id: FacilityId, body: FacilityPatch
) -> FacilityOut:
    """Change a facility: any of type, name, capacity (null clears it), or move it with lon
    and lat (and crs unless WGS84)."""
    changes = body.model_dump(exclude_unset=True)
    for name in ("type", "name"):
        if name in changes and changes[name] is None:
            raise ApiError(422, "invalid_request", f"{name} cannot be null", allowed="a string")
    moving = {"lon", "lat", "crs"} & set(changes)
    if moving and not (changes.get("lon") is not None and changes.get("lat") is not None):
        raise ApiError(
            422,
            "incomplete_location",
            "a move needs both lon and lat",
            allowed="lon and lat together, with crs unless they are WGS84",
        )
    with service.db.session() as session:
        row = planning.update_facility(session, facility_id, changes)
        out = FacilityOut.model_validate(planning.facility_out(row))
    service.invalidate()
    return out


@router.delete("/facilities/{facility_id}", status_code=204, responses=ERRORS)
def delete_facility(service: PlanningDep, _: Admin, facility_id: FacilityId) -> Response:
    """Delete a facility."""
    with service.db.session() as session:
        planning.delete_facility(session, facility_id)
    service.invalidate()
    return Response(status_code=204)
