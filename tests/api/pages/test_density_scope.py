"""What each role sees on the density map, through the real app."""

from __future__ import annotations

import re

import pytest

from tests.api.conftest import auth


def unit_codes(html: str) -> set[str]:
    """The unit codes the page carries (D, G1, G2, M1 ... in the tiny set)."""
    return set(re.findall(r'"((?:D|G\d|M\d))"', html))


@pytest.mark.parametrize(
    ("level", "shown"),
    [
        ("district", {"G1"}),  # above the worker's grid: its own grid, not an empty map
        ("grid", {"G1"}),  # its own level: its grid only
        ("microgrid", {"M1", "M2", "M3"}),  # below: the micro-grids of its grid
    ],
)
def test_grid_worker_sees_its_own_area_at_any_level(served, level, shown):
    client, keys = served
    response = client.get(
        "/maps/density", params={"level": level}, headers=auth(keys["grid_worker"])
    )
    assert response.status_code == 200, response.text
    codes = unit_codes(response.text)
    assert shown <= codes
    assert not codes & {"G2", "M5"}  # nothing of the other grid


def test_dispatcher_sees_every_unit_of_the_level(served):
    client, keys = served
    response = client.get(
        "/maps/density", params={"level": "grid"}, headers=auth(keys["dispatcher"])
    )
    assert {"G1", "G2"} <= unit_codes(response.text)
