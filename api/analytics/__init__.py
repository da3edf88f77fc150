"""Targeted governance (靶向治理): hot spots, emerging trends, recurring places, what to target
first and each unit's handling performance, on the active boundary version."""

from api.analytics.errors import ANALYTICS_STATUS_CODES
from api.analytics.service import Analytics

__all__ = ["ANALYTICS_STATUS_CODES", "Analytics"]
