"""API keys (admin): create, list, revoke."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path

from api.access.auth import allow
from api.access.keys import issue_key, list_keys, revoke_key
from api.access.policy import Principal, Role
from api.deps import IndexDep, KeysDep, SessionDep
from api.errors import KEYED, error_responses
from api.schemas import MAX_ID, KeyIn, KeyOut

router = APIRouter(prefix="/keys", tags=["keys"], responses=error_responses(*KEYED))
Admin = Annotated[Principal, Depends(allow(Role.ADMIN))]
KeyId = Annotated[int, Path(ge=1, le=MAX_ID, description="The key's id, from GET /keys")]


def _out(row: Any, key: str | None = None) -> KeyOut:
    return KeyOut.model_validate(row, from_attributes=True).model_copy(update={"key": key})


@router.post(
    "",
    status_code=201,
    response_model=KeyOut,
    responses=error_responses(
        (404, "No unit with that unit_code, or no team with that team_id"), 413
    ),
)
def create_api_key(session: SessionDep, index: IndexDep, _: Admin, body: KeyIn) -> KeyOut:
    """Create a key; the key itself is in this response only."""
    row, key = issue_key(
        session,
        index.bset,
        body.role,
        unit_code=body.unit_code,
        name=body.name,
        team_id=body.team_id,
    )
    return _out(row, key)


@router.get("", response_model=list[KeyOut])
def read_api_keys(session: SessionDep, _: Admin) -> list[KeyOut]:
    """All keys (without the keys themselves)."""
    return [_out(row) for row in list_keys(session)]


@router.delete(
    "/{key_id}", response_model=KeyOut, responses=error_responses((404, "No key with that id"))
)
def delete_api_key(session: SessionDep, keys: KeysDep, _: Admin, key_id: KeyId) -> KeyOut:
    """Revoke a key: it stops working at once on this worker (and on the others within the
    key cache's lifetime)."""
    row = revoke_key(session, key_id)
    keys.forget(row.id)
    return _out(row)
