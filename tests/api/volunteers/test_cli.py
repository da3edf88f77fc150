"""`wangge volunteers import` and `wangge points statement` against the module's database."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from api.db.models import Volunteer, VolunteerTeam

TEAMS = """name,organisation,services,units,lon,lat,radius_m,capacity_per_day
友谊路理发队,河西区志愿者协会,理发;居家维修,G1,,,,3
东海路助餐队,东海街道,助餐,,117.2125,39.1025,800,5
坏队,,juggling,G1,,,,2
无处队,,理发,,,,,2
远队,,理发,NOPE,,,,2
"""


def test_teams_then_volunteers_in_gb18030(wangge, backend, tmp_path: Path):
    teams = tmp_path / "teams.csv"
    teams.write_bytes(TEAMS.encode("gb18030"))
    result = wangge("volunteers", "import", teams)
    assert result.exit_code == 2, result.output
    assert "2 teams imported" in result.output and "3 row(s) refused" in result.output
    assert "line 4:" in result.output and "juggling" in result.output
    assert "line 5:" in result.output and "line 6:" in result.output and "NOPE" in result.output
    from api.db import Database

    db = Database(backend.database)
    with db.session() as session:
        made = list(
            session.scalars(select(VolunteerTeam).order_by(VolunteerTeam.id.desc()).limit(2))
        )
        assert made[1].services == ["haircut", "home_repair"] and made[1].units == ["G1"]
        assert made[0].radius_m == 800 and made[0].services == ["meal_help"]
        team_id = made[1].id
    people = tmp_path / "volunteers.csv"
    people.write_text(
        f"name,phone,team_id,skills\n张三,13900000011,{team_id},理发\n李四,bad phone!,{team_id},\n"
        f"王五,,999999,\n",
        encoding="utf-8-sig",
    )
    result = wangge("volunteers", "import", people)
    assert result.exit_code == 2, result.output
    assert "1 volunteers imported" in result.output and "(utf-8)" in result.output
    assert "line 3:" in result.output and "phone" in result.output
    assert "line 4:" in result.output and "999999" in result.output
    with db.session() as session:
        volunteer = session.scalars(select(Volunteer).where(Volunteer.name == "张三")).one()
    db.dispose()
    statement = wangge("points", "statement", volunteer.id)
    assert statement.exit_code == 0, statement.output
    assert "balance: 0" in statement.output
    assert wangge("points", "statement", 999999).exit_code == 2


def test_a_file_that_is_neither(wangge, tmp_path: Path):
    other = tmp_path / "other.csv"
    other.write_text("a,b\n1,2\n")
    result = wangge("volunteers", "import", other)
    assert result.exit_code == 2 and "cannot tell teams from volunteers" in result.output


def test_a_team_leads_key_from_the_command_line(wangge, backend, tmp_path: Path):
    teams = tmp_path / "one.csv"
    teams.write_text("name,services,units,capacity_per_day\n小队,理发,G2,2\n", encoding="utf-8")
    assert wangge("volunteers", "import", teams).exit_code == 0
    from api.db import Database

    db = Database(backend.database)
    with db.session() as session:
        team_id = session.scalars(
            select(VolunteerTeam.id).where(VolunteerTeam.name == "小队")
        ).one()
    made = wangge("keys", "create", "--role", "team_lead", "--team", team_id)
    assert made.exit_code == 0, made.output
    assert f"team {team_id}" in made.output and made.output.strip().splitlines()[-1].startswith(
        "wg_"
    )
    from api.db.models import ApiKey

    with db.session() as session:
        assert (
            session.scalars(select(ApiKey.team_id).order_by(ApiKey.id.desc()).limit(1)).one()
            == team_id
        )
    db.dispose()
    missing = wangge("keys", "create", "--role", "team_lead")
    assert missing.exit_code == 2 and "team_id" in missing.output
