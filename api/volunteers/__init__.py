"""Volunteer services (志愿服务): 点单 → 派单 → 接单 → 评单, points for hours, the exchange."""

from api.volunteers.errors import VOLUNTEERS_STATUS_CODES

__all__ = ["VOLUNTEERS_STATUS_CODES"]
