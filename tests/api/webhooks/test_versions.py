"""A new boundary version reaches subscribers: boundaries.activated, heard by those of the
units it changed (and everything above them), and report.rerouted for each open case it
moves, heard by the subscribers of the units the case left as well as of the units it went
to. (Its own module: activating a version changes the module's service.)"""

from __future__ import annotations

from pathlib import Path

import pytest
import shapely

from api.versions.files import read_version_file
from api.webhooks.boundaries import activation_changes
from tests.api.conftest import auth
from tests.api.versions.conftest import IN_M3, write_gpkg
from tests.api.versions.conftest import next_year_gpkg as next_year_gpkg  # the fixture
from tests.api.webhooks.conftest import of_report, post_report
from tests.conftest import tiny_layers


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

    assert announced["units_changed"]["removed"] == 2  # G2 and M3
    assert {"M3", "G2", "G3", "M1"} <= set(announced["changed_units"])

    # the subscriber of the unit the case left hears of the move, without personal data, and
    # of the activation (M3 is removed by it)
    got = old_unit.wait_for(lambda r: len(r) >= 2)
    kinds = {r["body"]["type"]: r for r in got}
    assert set(kinds) == {"boundaries.activated", "report.rerouted"}
    assert all(r["valid"] for r in got)
    left = kinds["report.rerouted"]
    assert left["body"]["data"]["id"] == report["id"]
    assert "reporter" not in left["body"]["data"]
    assert kinds["boundaries.activated"]["body"]["data"]["version_id"] == new


@pytest.mark.parametrize(
    ("code", "heard"),
    [
        ("M1", True),  # the unit redrawn
        ("G1", True),  # its grid
        ("D", True),  # its district
        ("M2", False),  # a neighbour left as it was
        ("G2", False),  # another grid, unchanged
        ("M5", False),  # a unit of that grid
    ],
)
def test_an_activation_lies_in_the_units_it_changes_and_those_above(
    tiny_gpkg: Path, tmp_path: Path, code: str, heard: bool
) -> None:
    layers = tiny_layers()
    micro = layers[2][1].copy()
    m1 = micro["code"] == "M1"
    micro.loc[m1, "geometry"] = shapely.box(117.20, 39.10, 117.2049, 39.105)  # a sliver less
    redrawn = write_gpkg([*layers[:2], ("microgrid", micro)], tmp_path / "redrawn.gpkg")
    changes = activation_changes(read_version_file(tiny_gpkg), read_version_file(redrawn))
    assert changes.listed == ["M1"]
    assert changes.counts == {
        "added": 0,
        "removed": 0,
        "renamed": 0,
        "reparented": 0,
        "reshaped": 1,
    }
    assert (code in changes.units) is heard
