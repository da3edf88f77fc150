"""Care facilities and the population table (admin writes, planners read)."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(tags=["planning"])
