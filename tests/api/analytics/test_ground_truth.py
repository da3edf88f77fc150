"""The planted truth over the Hexi demo is found: hot grids, recurring places, the rising
trend, and the targets a command centre would act on first."""

from __future__ import annotations

import math

import numpy as np
import pytest

from api.analytics.hotspots import gi_star
from api.analytics.schemas import EmergingOut, HotSpotsOut, RecurringOut, TargetsOut
from tests.api.analytics.conftest import HOT_CASES, NOW, PLACES, Planted

UNTIL = NOW.isoformat()


def test_planted_grids_are_hot_at_95_or_more(planted: Planted) -> None:
    answer = planted.client.get(
        "/analytics/hotspots", params={"level": "grid", "until": UNTIL, "permutations": 999}
    )
    assert answer.status_code == 200, answer.text
    body = HotSpotsOut.model_validate(answer.json())
    by_code = {u.code: u for u in body.units}
    assert len(by_code) == 1441
    for code in planted.hot_grids:
        unit = by_code[code]
        assert unit.count >= HOT_CASES
        assert unit.class_ in {"hot_99", "hot_95"}, (code, unit)
        assert unit.z is not None and unit.z > 3
    # few hot units beyond the planted areas (a grid and its neighbours each) and their rims
    hot = [u for u in body.units if u.class_.startswith("hot")]
    assert len(hot) < 4 * len(planted.hot_grids) * 7


def test_uniform_cases_give_no_hot_unit(planted: Planted) -> None:
    analytics = planted.client.app.state.analytics  # type: ignore[attr-defined]
    boundaries = planted.client.app.state.boundaries  # type: ignore[attr-defined]
    weights = analytics.weights.get(boundaries.version_id, boundaries.bset, "grid")
    counts = np.random.default_rng(3).poisson(2.0, weights.n).astype(float)
    result = gi_star(counts, weights, permutations=999)
    assert not any(str(c).startswith("hot") for c in result.classes)


def test_planted_places_are_found_with_their_counts(planted: Planted) -> None:
    answer = planted.client.get(
        "/analytics/recurring",
        params={"days": 90, "radius_m": 50, "min_reports": 5, "until": UNTIL},
    )
    assert answer.status_code == 200, answer.text
    body = RecurringOut.model_validate(answer.json())
    for (category, count, lon, lat), (_, n) in zip(planted.places, PLACES, strict=True):
        near = [
            p
            for p in body.places
            if p.category == category
            and math.hypot((p.lon - lon) * 86_000, (p.lat - lat) * 111_000) < 30
        ]
        assert len(near) == 1, (category, body.places)
        place = near[0]
        assert place.count == count == n
        # the first was fixed and closed; every later report came after that
        assert place.recurs_after_closure == n - 1
        assert place.open == n - 1
        assert place.median_hours_to_resolve == 24.0  # the one resolved, a day after it came
        assert place.first < place.last


def test_rising_trend_is_classed_rising(planted: Planted) -> None:
    answer = planted.client.get(
        "/analytics/emerging",
        params={"level": "grid", "category": "rubbish", "weeks": 12, "until": UNTIL},
    )
    assert answer.status_code == 200, answer.text
    body = EmergingOut.model_validate(answer.json())
    unit = next(u for u in body.units if u.code == planted.rising_grid)
    assert unit.trend == "increasing"
    assert unit.spot == "hot"
    assert unit.pattern in {"new", "consecutive", "intensifying"}
    assert unit.counts[-1] > unit.counts[0]


def test_targets_this_month_are_the_planted_ones(planted: Planted) -> None:
    answer = planted.client.get(
        "/analytics/targets", params={"level": "community", "days": 28, "top": 10, "until": UNTIL}
    )
    assert answer.status_code == 200, answer.text
    body = TargetsOut.model_validate(answer.json())
    assert len(body.items) == 10
    pairs = [(i.unit, i.category) for i in body.items]
    # the rising rubbish leads (84 reports in its last four weeks), then the planted areas'
    # communities with parking (an area may reach into a neighbouring community)
    assert pairs[0] == (planted.rising_community, "rubbish")
    assert {(c, "parking") for c in planted.hot_communities} <= set(pairs[:8])
    assert all(i.category == "parking" for i in body.items[1:5])
    second = body.items[1]
    assert second.ratio is not None and second.ratio > 3
    assert "倍" in second.reason.zh and "times its 90-day rate" in second.reason.en
    first = body.items[0]
    assert first.score >= body.items[-1].score
    assert f"{first.count}" in first.reason.zh and "件" in first.reason.zh
    assert f"{first.count} " in first.reason.en and "28 days" in first.reason.en


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"level": "block"}, "unknown_level"),
        ({"category": "nope"}, "unknown_category"),
        ({"since": "2026-11-20T00:00:00Z", "until": "2026-11-10T00:00:00Z"}, "invalid_window"),
        ({"since": "2001-01-01T00:00:00Z", "until": "2001-02-01T00:00:00Z"}, "no_cases"),
        ({"permutations": 5}, None),
        ({"permutations": 100000}, None),
        ({"level": "district"}, "too_few_units"),
    ],
)
def test_bad_hotspot_queries_are_refused(planted: Planted, params, code) -> None:
    answer = planted.client.get("/analytics/hotspots", params=params)
    assert answer.status_code == 422, answer.text
    body = answer.json()
    assert {"code", "message", "allowed", "details"} <= set(body)
    if code:
        assert body["code"] == code
