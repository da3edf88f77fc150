"""API keys (admin): create, list, revoke."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path
from sqlalchemy import select

from api.access.auth import allow
from api.access.keys import create_key
from api.access.policy import Principal, Role
from api.db.models import ApiKey
from api.deps import IndexDep, ReportsDep
from api.errors import ApiError
from api.schemas import ErrorBody, KeyIn, KeyOut

router = APIRouter(prefix="/keys", tags=["keys"])
Admin = Annotated[Principal, Depends(allow(Role.ADMIN))]
ERRORS: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody}, 422: {"model": ErrorBody}}


def _out(row: ApiKey, key: str | None = None) -> KeyOut:
    return KeyOut(
        id=row.id,
        role=row.role,
        unit_code=row.unit_code,
        name=row.name,
        created_at=row.created_at,
        revoked_at=row.revoked_at,
        key=key,
    )


@router.post("", status_code=201, response_model=KeyOut, responses=ERRORS)
def create_api_key(reports: ReportsDep, index: IndexDep, _: Admin, body: KeyIn) -> KeyOut:
    """Create a key; the key itself is in this response only."""
    try:
        role = Role(body.role)
    except ValueError:
        raise ApiError(
            422,
            "unknown_role",
            f"unknown role {body.role!r}",
            allowed=", ".join(r.value for r in Role),
        ) from None
    if role == Role.GRID_WORKER and not body.unit_code:
        raise ApiError(
            422,
            "unit_required",
            "a grid worker's key needs unit_code",
            allowed="the code of the unit the worker serves",
        )
    if body.unit_code:
        index.bset.position(body.unit_code)
    with reports.db.session() as session:
        row, key = create_key(session, role, unit_code=body.unit_code, name=body.name)
        return _out(row, key)


@router.get("", response_model=list[KeyOut])
def read_api_keys(reports: ReportsDep, _: Admin) -> list[KeyOut]:
    """All keys (without the keys themselves)."""
    with reports.db.session() as session:
        return [_out(row) for row in session.scalars(select(ApiKey).order_by(ApiKey.id))]


@router.delete("/{key_id}", response_model=KeyOut, responses=ERRORS)
def delete_api_key(reports: ReportsDep, _: Admin, key_id: Annotated[int, Path()]) -> KeyOut:
    """Revoke a key (it stops working within 30 s everywhere)."""
    with reports.db.session() as session:
        row = session.get(ApiKey, key_id)
        if row is None:
            raise ApiError(404, "key_not_found", f"no key {key_id}", allowed="ids from GET /keys")
        if row.revoked_at is None:
            row.revoked_at = datetime.now(UTC)
            session.commit()
        return _out(row)
