"""Boundary versions: import a new grid map, list and read versions, diff one against the
active version, activate one (which re-routes the open cases)."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Path, Query, UploadFile

from api.access.auth import allow
from api.access.policy import ALL_ROLES, Principal, Role
from api.deps import SessionDep, VersionsDep
from api.errors import KEYED, error_responses
from api.schemas import ErrorBody
from api.versions import Actor
from api.versions.files import safe_file_name
from api.versions.schemas import ActivationOut, VersionDiff, VersionOut

UPLOAD_PATH = "/boundaries/versions"
router = APIRouter(prefix=UPLOAD_PATH, tags=["boundaries"], responses=error_responses(*KEYED, 413))
Admin = Annotated[Principal, Depends(allow(Role.ADMIN))]
Reader = Annotated[Principal, Depends(allow(*ALL_ROLES))]
VersionId = Annotated[int, Path(ge=1, description="A version id from GET /boundaries/versions")]

ERRORS: dict[int | str, dict[str, Any]] = {
    code: {"model": ErrorBody, "description": text}
    for code, text in {
        404: "No such version",
        409: "The version has validation errors, is already active, or another activation "
        "holds the lock",
        413: "File larger than WANGGE_MAX_BOUNDARY_UPLOAD_BYTES",
        422: "A file that cannot be read as boundaries, or coordinates that cannot be what it "
        "declares",
    }.items()
}


def actor_of(principal: Principal) -> Actor:
    """Who makes a change, as the version store and the cases' events name them."""
    return Actor(principal.name or principal.client, principal.role.value)


@router.post("", status_code=201, response_model=VersionOut, responses=ERRORS)
def create_version(
    versions: VersionsDep,
    session: SessionDep,
    principal: Admin,
    file: Annotated[
        UploadFile,
        File(
            description="A GeoPackage (one layer per level, top first), a zip of GeoJSON or "
            "Shapefile files (one per level: 1_district.geojson, 2_grid.geojson... or ordered "
            "by their parent codes), or one GeoJSON file"
        ),
    ],
    crs: Annotated[
        str | None,
        Form(
            max_length=32,
            description="The file's coordinate system if it declares none or the wrong one: "
            "wgs84, gcj02, bd09 or EPSG:<code>",
        ),
    ] = None,
    name: Annotated[
        str | None, Form(max_length=200, description="A name for the version (default: file)")
    ] = None,
) -> Any:
    """Import a boundary file as a new draft version, validated (its report is in the answer);
    nothing changes for lookups or cases until it is activated."""
    with tempfile.TemporaryDirectory(prefix="wangge-boundaries-") as folder:
        target = FilePath(folder) / safe_file_name(file.filename)
        with target.open("wb") as out:
            shutil.copyfileobj(file.file, out, 1 << 20)
        return versions.import_file(
            session, target, crs=crs or None, name=name or None, actor=actor_of(principal)
        )


@router.get("", response_model=list[VersionOut])
def read_versions(versions: VersionsDep, session: SessionDep, _: Reader) -> Any:
    """Every boundary version, newest first (validation counts; the issues are on each)."""
    return versions.list_versions(session)


@router.get("/{version_id}", response_model=VersionOut, responses=ERRORS)
def read_version(
    versions: VersionsDep, session: SessionDep, _: Reader, version_id: VersionId
) -> Any:
    """One version with its validation report (the first 1,000 issues, all counts)."""
    return versions.get(session, version_id)


@router.get("/{version_id}/diff", response_model=VersionDiff, responses=ERRORS)
def read_version_diff(
    versions: VersionsDep,
    session: SessionDep,
    _: Admin,
    version_id: VersionId,
    limit: Annotated[
        int, Query(ge=1, le=100_000, description="Items listed per kind of change")
    ] = 500,
) -> Any:
    """What activating this version would change against the active one: units added,
    removed, renamed, under another parent, reshaped (area in m²), leaders; the open cases
    that would move, per (old unit -> new unit), and those left without a unit. A dry run."""
    return versions.diff(session, version_id, limit=limit)


@router.post("/{version_id}/activate", response_model=ActivationOut, responses=ERRORS)
def create_version_activation(
    versions: VersionsDep, session: SessionDep, principal: Admin, version_id: VersionId
) -> Any:
    """Activate a version: in one transaction it becomes active, the previous one retired,
    and every open case is placed again (a `rerouted` event for each that moves); closed
    cases keep their units. Refused (409) while it has validation errors. Activating an
    older version rolls back."""
    return versions.activate(session, version_id, actor=actor_of(principal))
