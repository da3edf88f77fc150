"""Helpers of the volunteer services tests: teams, their leads' keys, volunteers, points."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from api.volunteers.schemas import TeamOut, VolunteerOut
from tests.api.conftest import auth

#: A place inside micro-grid M1 (grid G1) of the tiny set, and one in M5 (grid G2).
IN_M1 = (117.2025, 39.1025)
IN_M5 = (117.2125, 39.1025)


def make_team(client: TestClient, admin: str, **fields: Any) -> dict[str, Any]:
    body = {"name": "理发志愿队", "services": ["haircut"], "capacity_per_day": 4, **fields}
    response = client.post("/volunteers/teams", json=body, headers=auth(admin))
    assert response.status_code == 201, response.text
    return TeamOut.model_validate(response.json()).model_dump()


def lead_key(client: TestClient, admin: str, team_id: int) -> str:
    """A team lead's key, made through POST /keys with team_id."""
    response = client.post(
        "/keys",
        json={"role": "team_lead", "team_id": team_id, "name": f"lead {team_id}"},
        headers=auth(admin),
    )
    assert response.status_code == 201, response.text
    assert response.json()["team_id"] == team_id
    return str(response.json()["key"])


def make_volunteer(client: TestClient, key: str, team_id: int, name: str, phone: str) -> int:
    response = client.post(
        "/volunteers",
        json={"name": name, "phone": phone, "team_id": team_id, "skills": ["haircut"]},
        headers=auth(key),
    )
    assert response.status_code == 201, response.text
    return VolunteerOut.model_validate(response.json()).id
