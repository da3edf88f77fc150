"""A new boundary version reaches subscribers: boundaries.activated, and report.rerouted for
each open case it moves, heard by the subscribers of the units the case left as well as of
the units it went to. (Its own module: activating a version changes the module's service.)"""

from __future__ import annotations

from pathlib import Path

from tests.api.conftest import auth
from tests.api.versions.conftest import IN_M3
from tests.api.versions.conftest import next_year_gpkg as next_year_gpkg  # the fixture
from tests.api.webhooks.conftest import of_report, post_report


def test_an_activation_and_the_cases_it_moves_are_announced(
    hooked, subscribe, receiver_factory, next_year_gpkg: Path
):
    client, keys = hooked
    old_unit, everything = receiver_factory(), receiver_factory()
    subscribe(old_unit, events=["report.rerouted", "boundaries.activated"], units=["M3"])
    subscribe(everything, events=["report.rerouted", "boundaries.activated"], role="dispatcher")
    report = post_report(hooked, where=IN_M3)
    assert report["assignment"]["units"][-1]["code"] == "M3"
    admin = auth(keys["admin"])
    with next_year_gpkg.open("rb") as f:
        imported = client.post(
            "/boundaries/versions", files={"file": (next_year_gpkg.name, f)}, headers=admin
        )
    assert imported.status_code == 201, imported.text
    new = imported.json()["id"]
    activated = client.post(f"/boundaries/versions/{new}/activate", headers=admin)
    assert activated.status_code == 200, activated.text

    got = everything.wait_for(lambda r: len(r) >= 2)
    kinds = {r["body"]["type"]: r["body"] for r in got}
    assert set(kinds) == {"boundaries.activated", "report.rerouted"}
    assert all(r["valid"] for r in got)
    announced = kinds["boundaries.activated"]["data"]
    assert (announced["version_id"], announced["previous_version_id"]) == (new, 1)
    [moved] = of_report(got, report["id"])
    data = moved["body"]["data"]
    # M3 is gone in the new version: the point lies in the redrawn M1
    assert (data["from_unit"], data["to_unit"]) == ("M3", "M1")
    assert (data["from_version"], data["to_version"]) == (1, new)
    assert data["unit_code"] == "M1" and data["boundary_version_id"] == new
    assert "reporter" in data  # a dispatcher's subscription sees who reported it

    # the subscriber of the unit the case left hears of the move, without personal data (an
    # event of no unit, as the activation, reaches the subscriptions that filter no unit)
    [left] = old_unit.wait_for(lambda r: len(r) >= 1)
    assert left["body"]["type"] == "report.rerouted" and left["valid"]
    assert left["body"]["data"]["id"] == report["id"]
    assert "reporter" not in left["body"]["data"]
