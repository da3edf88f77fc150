"""The category catalogue: what residents report, its deadline (SLA) and default department."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter
from sqlalchemy import Table
from sqlalchemy.orm import Session

from api.cases.errors import UnknownCategory
from api.db.models import Category
from api.db.upsert import upsert


class CategorySpec(BaseModel):
    """One category of the catalogue."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^[a-z0-9_]{1,64}$")
    name_zh: str
    name_en: str
    sla_hours: float = Field(gt=0)
    department: str
    duplicate_radius_m: float | None = Field(None, gt=0)


#: The built-in catalogue: the problems residents report most often (物业、停车、噪音、飞线...).
DEFAULT_CATEGORIES = [
    CategorySpec(
        code="property",
        name_zh="物业管理",
        name_en="Property management",
        sla_hours=48,
        department="住建委 Housing and construction",
    ),
    CategorySpec(
        code="parking",
        name_zh="违章停车",
        name_en="Illegal parking",
        sla_hours=4,
        department="交警 Traffic police",
        duplicate_radius_m=30,
    ),
    CategorySpec(
        code="noise",
        name_zh="噪音扰民",
        name_en="Noise",
        sla_hours=12,
        department="生态环境局 Ecology and environment",
        duplicate_radius_m=100,
    ),
    CategorySpec(
        code="flying_wires",
        name_zh="飞线充电",
        name_en="Flying wires (unsafe cables)",
        sla_hours=24,
        department="消防 Fire and rescue",
    ),
    CategorySpec(
        code="leaking_pipe",
        name_zh="管道漏水",
        name_en="Leaking pipes",
        sla_hours=24,
        department="水务局 Water authority",
    ),
    CategorySpec(
        code="building_repair",
        name_zh="房屋维修",
        name_en="Building repair",
        sla_hours=72,
        department="住建委 Housing and construction",
    ),
    CategorySpec(
        code="corridor_light",
        name_zh="楼道灯损坏",
        name_en="Broken corridor lights",
        sla_hours=48,
        department="物业 Property company",
    ),
    CategorySpec(
        code="water_cut",
        name_zh="停水",
        name_en="Water cut",
        sla_hours=12,
        department="水务局 Water authority",
        duplicate_radius_m=300,
    ),
    CategorySpec(
        code="rubbish",
        name_zh="垃圾堆放",
        name_en="Rubbish piles",
        sla_hours=24,
        department="城市管理委 City management",
    ),
]


def load_catalogue(path: Path | None) -> list[CategorySpec]:
    """The catalogue from a JSON file (a list of categories), or the built-in one."""
    if path is None:
        return list(DEFAULT_CATEGORIES)
    return TypeAdapter(list[CategorySpec]).validate_python(json.loads(path.read_text("utf-8")))


def sync_catalogue(session: Session, specs: list[CategorySpec]) -> None:
    """Insert or update the catalogue's categories (categories in use are never deleted)."""
    table = Category.__table__
    assert isinstance(table, Table)
    upsert(session, table, [spec.model_dump() for spec in specs], keys=["code"])
    session.commit()


def check_categories(known: Iterable[str], values: Iterable[str] | None) -> tuple[str, ...]:
    """Category filters checked against the catalogue."""
    codes = set(known)
    asked = tuple(values or ())
    unknown = sorted(set(asked) - codes)
    if unknown:
        raise UnknownCategory(f"unknown category {unknown}", allowed=", ".join(sorted(codes)))
    return asked
