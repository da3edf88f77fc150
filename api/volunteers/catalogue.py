"""The catalogue of services residents may order, each with its points per hour of service.

Configurable like the case categories (WANGGE_SERVICE_TYPES_FILE: a JSON list of these specs);
the built-in one is what community stations commonly offer.
"""

from __future__ import annotations

import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from sqlalchemy import Table, select
from sqlalchemy.orm import Session

from api.db.models import ServiceType
from api.db.upsert import upsert
from api.volunteers.errors import UnknownServiceType


class ServiceTypeSpec(BaseModel):
    """One service of the catalogue."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[a-z0-9_]{1,64}$")
    name_zh: str = Field(min_length=1, max_length=100)
    name_en: str = Field(min_length=1, max_length=100)
    points_per_hour: float = Field(gt=0)
    auto_dispatch: bool = False


#: The built-in catalogue (理发, 磨剪子磨菜刀, 居家维修, ...), points per hour by the effort.
DEFAULT_SERVICE_TYPES = [
    ServiceTypeSpec(code="haircut", name_zh="理发", name_en="Haircut at home", points_per_hour=10),
    ServiceTypeSpec(
        code="knife_sharpening",
        name_zh="磨剪子磨菜刀",
        name_en="Knife sharpening",
        points_per_hour=8,
    ),
    ServiceTypeSpec(
        code="home_repair", name_zh="居家维修", name_en="Home repair", points_per_hour=12
    ),
    ServiceTypeSpec(
        code="health_talk", name_zh="健康讲座", name_en="Health talk", points_per_hour=10
    ),
    ServiceTypeSpec(
        code="elder_company",
        name_zh="陪伴独居老人",
        name_en="Company for elders living alone",
        points_per_hour=6,
    ),
    ServiceTypeSpec(code="cleaning", name_zh="打扫卫生", name_en="Cleaning", points_per_hour=8),
    ServiceTypeSpec(
        code="legal_advice", name_zh="法律咨询", name_en="Legal advice", points_per_hour=15
    ),
    ServiceTypeSpec(
        code="meal_help", name_zh="助餐", name_en="Meal help", points_per_hour=6, auto_dispatch=True
    ),
]


def load_service_types(path: Path | None) -> list[ServiceTypeSpec]:
    """The catalogue from a JSON file (a list of service types), or the built-in one."""
    if path is None:
        return list(DEFAULT_SERVICE_TYPES)
    return TypeAdapter(list[ServiceTypeSpec]).validate_python(json.loads(path.read_text("utf-8")))


def sync_service_types(session: Session, specs: list[ServiceTypeSpec]) -> None:
    """Insert or update the catalogue's types (types in use are never deleted)."""
    table = ServiceType.__table__
    assert isinstance(table, Table)
    upsert(session, table, [spec.model_dump() for spec in specs], keys=["code"])
    session.commit()


def service_types(session: Session) -> list[ServiceType]:
    return list(session.scalars(select(ServiceType).order_by(ServiceType.code)))


def find_service_type(session: Session, value: str) -> ServiceType:
    """A service type by its code or its Chinese name (助餐 or meal_help)."""
    found = session.get(ServiceType, value) or session.scalar(
        select(ServiceType).where(ServiceType.name_zh == value)
    )
    if found is None:
        known = service_types(session)
        raise UnknownServiceType(
            f"unknown service type {value!r}",
            allowed=", ".join(f"{t.code} ({t.name_zh})" for t in known),
        )
    return found


def check_service_codes(session: Session, values: list[str]) -> list[str]:
    """Service type codes (or Chinese names) as codes, each known."""
    return [find_service_type(session, v).code for v in values]
