"""The category catalogue."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from api.access.auth import allow
from api.access.policy import ALL_ROLES, Principal
from api.deps import CasesDep, SettingsDep
from api.errors import KEYED, error_responses
from api.schemas import CategoryOut

router = APIRouter(prefix="/categories", tags=["reports"], responses=error_responses(*KEYED))


@router.get("", response_model=list[CategoryOut])
def read_categories(
    cases: CasesDep,
    settings: SettingsDep,
    _: Annotated[Principal, Depends(allow(*ALL_ROLES))],
) -> list[CategoryOut]:
    """What can be reported: code, names, deadline (SLA hours), department, duplicate radius."""
    return [
        CategoryOut(
            code=c.code,
            name_zh=c.name_zh,
            name_en=c.name_en,
            sla_hours=c.sla_hours,
            department=c.department,
            duplicate_radius_m=c.duplicate_radius_m or settings.duplicate_radius_m,
        )
        for c in cases.categories.values()
    ]
