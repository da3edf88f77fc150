"""A no-op POST, served only with WANGGE_BENCH_NOOP=1: the baseline of bench/intake.py."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends

from api.access.auth import allow
from api.access.policy import ALL_ROLES, Principal
from api.errors import KEYED, error_responses

router = APIRouter(prefix="/bench", tags=["bench"], responses=error_responses(*KEYED, 413))


@router.post("/noop", status_code=201)
def create_noop(
    _: Annotated[Principal, Depends(allow(*ALL_ROLES))],
    body: Annotated[dict[str, Any], Body()],
) -> dict[str, Any]:
    """Authenticate, parse the JSON body, answer 201: everything but the work."""
    return {"id": 0, "status": "submitted", "fields": len(body)}
