"""Planner coverage: service circles, gaps per unit, suggested sites."""

from __future__ import annotations

from fastapi import APIRouter

router = APIRouter(prefix="/coverage", tags=["coverage"])
