"""Care facilities and the population table (admin writes, planners read)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Response

from api.access.auth import allow
from api.access.policy import Principal, Role
from api.deps import PlanningDep, SessionDep
from api.errors import KEYED, error_responses
from api.planning import facilities
from api.schemas import (
    MAX_ID,
    MAX_OFFSET,
    Code,
    FacilityIn,
    FacilityOut,
    FacilityPage,
    FacilityPatch,
    FacilityTypeOut,
)

router = APIRouter(tags=["planning"], responses=error_responses(*KEYED))

READERS = (Role.PLANNER, Role.DISPATCHER, Role.ADMIN)
Reader = Annotated[Principal, Depends(allow(*READERS))]
Admin = Annotated[Principal, Depends(allow(Role.ADMIN))]
FacilityId = Annotated[int, Path(ge=1, le=MAX_ID, description="The facility's id")]
#: ``:int``: a path that is no number (/facilities/types) is not a facility, so other methods
#: on it answer 405, not a 422 about the id.
ONE = "/facilities/{facility_id:int}"
NOT_FOUND = error_responses((404, "No facility with that id"))
BODY_ERRORS = error_responses(
    (413, "Body too large"), (422, "Invalid request: unknown type, bad coordinates or fields")
)


@router.get("/facilities/types", response_model=list[FacilityTypeOut])
def read_facility_types(session: SessionDep, _: Reader) -> list[FacilityTypeOut]:
    """The facility catalogue: the built-in types and any type added by an import."""
    return [FacilityTypeOut.model_validate(t) for t in facilities.facility_types(session=session)]


@router.post("/facilities", status_code=201, response_model=FacilityOut, responses=BODY_ERRORS)
def create_facility(
    session: SessionDep, planning: PlanningDep, _: Admin, body: FacilityIn, response: Response
) -> FacilityOut:
    """Add a facility; the location may be in WGS84, GCJ-02, BD-09 or any EPSG system and is
    stored in WGS84 beside the input."""
    row = facilities.create_facility(session=session, **body.model_dump(), source="api")
    planning.invalidate()
    response.headers["Location"] = f"/facilities/{row.id}"
    return _out(row)


@router.get("/facilities", response_model=FacilityPage)
def read_facilities(
    session: SessionDep,
    _: Reader,
    type: Annotated[Code | None, Query(description="Only facilities of this type")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=MAX_OFFSET)] = 0,
) -> FacilityPage:
    """Facilities by id, optionally of one type, with the total."""
    total, rows = facilities.list_facilities(
        session=session, facility_type=type, limit=limit, offset=offset
    )
    return FacilityPage(total=total, limit=limit, offset=offset, items=[_out(r) for r in rows])


@router.get(ONE, response_model=FacilityOut, responses=NOT_FOUND)
def read_facility(session: SessionDep, _: Reader, facility_id: FacilityId) -> FacilityOut:
    """One facility."""
    return _out(facilities.get_facility(session=session, facility_id=facility_id))


@router.patch(ONE, response_model=FacilityOut, responses=NOT_FOUND | BODY_ERRORS)
def update_facility(
    session: SessionDep,
    planning: PlanningDep,
    _: Admin,
    facility_id: FacilityId,
    body: FacilityPatch,
) -> FacilityOut:
    """Change a facility: any of type, name, capacity (null clears it), or move it with lon
    and lat (and crs unless WGS84)."""
    row = facilities.update_facility(
        session=session, facility_id=facility_id, changes=body.model_dump(exclude_unset=True)
    )
    planning.invalidate()
    return _out(row)


@router.delete(ONE, status_code=204, responses=NOT_FOUND)
def delete_facility(
    session: SessionDep, planning: PlanningDep, _: Admin, facility_id: FacilityId
) -> Response:
    """Delete a facility."""
    facilities.delete_facility(session=session, facility_id=facility_id)
    planning.invalidate()
    return Response(status_code=204)


def _out(row: Any) -> FacilityOut:
    return FacilityOut.model_validate(facilities.facility_out(row))
