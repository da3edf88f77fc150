"""The density page's numbers come from the database's aggregates (GROUP BY per unit, heat
cells binned in SQL, open and overdue counts, bounded markers), on a real SQLite file and a
real PostGIS database; and the page's language follows ?lang= and Accept-Language."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select, update

from api.db.models import HEAT_CELL_M, Report, ReportUnit
from geo.grid import grid_cell
from tests.api.conftest import auth
from tests.maps.pages import payload

#: Where the reports are posted (WGS84): micro-grid -> points.
PLACES = {
    "M1": [(117.2025, 39.1025)] * 3 + [(117.2026, 39.1026)],
    "M2": [(117.2075, 39.1025)] * 2,
    "M5": [(117.2125, 39.1050)],
}


@pytest.fixture(scope="module")
def posted(stored):
    """Seven reports in three micro-grids (two grids) as a resident posts them; one of M1's
    made overdue, one of M2's closed."""
    client, keys = stored
    ids: dict[str, list[int]] = {}
    for unit, points in PLACES.items():
        for lon, lat in points:
            answer = client.post(
                "/reports",
                json={"lon": lon, "lat": lat, "crs": "wgs84", "category": "noise"},
                headers=auth(keys["reporter"]),
            )
            assert answer.status_code == 201, answer.text
            ids.setdefault(unit, []).append(answer.json()["id"])
    with client.app.state.db.session() as session:
        past = datetime.now(UTC) - timedelta(hours=1)
        session.execute(update(Report).where(Report.id == ids["M1"][0]).values(due_at=past))
        session.execute(update(Report).where(Report.id == ids["M2"][0]).values(status="closed"))
        session.commit()
    return client, keys, ids


def density(client, key, **params):
    answer = client.get("/maps/density", params=params, headers=auth(key))
    assert answer.status_code == 200, answer.text
    return answer.text


def test_counts_heat_and_markers_come_from_the_aggregates(posted):
    client, keys, ids = posted
    html = density(client, keys["dispatcher"], level="microgrid")
    units = payload(html, "decodeUnits")
    counts = dict(zip(units["code"], units["count"], strict=True))
    assert {code: counts[code] for code in ("M1", "M2", "M3", "M5")} == {
        "M1": 4,
        "M2": 2,
        "M3": 0,
        "M5": 1,
    }
    legend = payload(html, "decorate")
    assert legend["cases"] == legend["casesInUnits"] == 7
    assert legend["open"]["total"] == 6  # one closed
    assert legend["open"]["overdue"] == 1
    # the heat: every located case in a cell; M1's four points in one 75 m cell
    assert legend["heat"]["drawn"] == 7
    assert legend["heat"]["cells"] == 3
    markers = payload(html, "caseLayer")["rows"]
    assert len(markers) == 6
    assert markers[0][2] == ids["M1"][0] and markers[0][6] == 1  # overdue first
    created = [row[4] for row in markers[1:]]
    assert created == sorted(created, reverse=True)  # then the newest


def test_filters_and_scope_reach_the_aggregates(posted):
    client, keys, _ = posted
    legend = payload(density(client, keys["dispatcher"], status="closed"), "decorate")
    assert legend["cases"] == 1 and legend["open"]["total"] == 0
    legend = payload(density(client, keys["dispatcher"], category="parking"), "decorate")
    assert legend["cases"] == 0 and legend["heat"]["cells"] == 0
    # a grid worker of G1 counts only its grid's cases (M1, M2)
    html = density(client, keys["grid_worker"], level="microgrid")
    legend = payload(html, "decorate")
    assert legend["cases"] == 6 and legend["heat"]["drawn"] == 6
    # a planner: counts, no markers
    html = density(client, keys["planner"], level="grid")
    assert payload(html, "decorate")["open"]["shown"] == 0
    assert "caseLayer" not in html


@pytest.mark.parametrize(
    "params, headers, lang",
    [
        ({}, {}, "zh"),
        ({"lang": "en"}, {}, "en"),
        ({}, {"Accept-Language": "en-US,en;q=0.9"}, "en"),
        ({"lang": "zh"}, {"Accept-Language": "en-US,en;q=0.9"}, "zh"),
        ({}, {"Accept-Language": "fr, zh-CN;q=0.5"}, "zh"),
    ],
)
def test_the_page_language(posted, params, headers, lang):
    client, keys, _ = posted
    answer = client.get(
        "/maps/density", params=params, headers={**auth(keys["dispatcher"]), **headers}
    )
    assert answer.status_code == 200
    assert payload(answer.text, "setLanguage")["lang"] == lang
    assert "Accept-Language" in answer.headers["vary"]
    title = payload(answer.text, "decorate")["title"]
    assert ("案件密度" in title) == (lang == "zh")
    statuses = payload(answer.text, "caseLayer")["statuses"]
    assert ("已派单" in statuses) == (lang == "zh") and ("assigned" in statuses) == (lang == "en")


def test_an_unknown_language_is_refused(posted):
    client, keys, _ = posted
    answer = client.get("/maps/density", params={"lang": "fr"}, headers=auth(keys["dispatcher"]))
    assert answer.status_code == 422
    assert set(answer.json()) >= {"code", "message", "allowed", "details"}


def test_the_filter_caption_is_in_the_page_language(posted):
    client, keys, _ = posted
    params = {"status": ["submitted", "closed"], "category": "parking"}
    chinese = payload(density(client, keys["dispatcher"], **params), "decorate")
    assert chinese["filters"] == "类别：违章停车；状态：待派单、已关闭"
    english = payload(density(client, keys["dispatcher"], lang="en", **params), "decorate")
    assert english["filters"] == "category: Illegal parking; status: submitted, closed"
    assert payload(density(client, keys["dispatcher"]), "decorate")["filters"] == "全部案件"


@pytest.mark.parametrize(
    "level, meta",
    [("microgrid", 'content="on" data-level="microgrid"'), ("grid", 'content="off" data-level=""')],
)
def test_the_hot_spot_layer_asks_for_the_pages_own_level(posted, level, meta):
    """The analytics layer asks for the hot spots of the page's level, and only when it has
    the three units Gi* needs (the tiny set: four micro-grids, two grids)."""
    client, keys, _ = posted
    html = density(client, keys["dispatcher"], level=level)
    assert f'<meta name="wangge-analytics" {meta}>' in html


def _direct(client, keep):
    """Every stored report and its units read back one by one, and those ``keep`` admits:
    the count the aggregates must give, made without them."""
    with client.app.state.db.session() as session:
        reports = session.execute(select(Report)).scalars().all()
        chains = session.execute(select(ReportUnit.report_id, ReportUnit.code)).all()
    kept = [r for r in reports if keep(r)]
    ids = {r.id for r in kept}
    per_unit: dict[str, int] = {}
    for report_id, code in chains:
        if report_id in ids:
            per_unit[code] = per_unit.get(code, 0) + 1
    cells: dict[tuple[int, int], int] = {}
    for r in kept:
        cell = grid_cell(r.lon, r.lat, HEAT_CELL_M)
        cells[cell] = cells.get(cell, 0) + 1
    return len(kept), per_unit, sorted(cells.values())


def _heat_weights(html):
    found = re.search(r"L\.heatLayer\(\s*(\[.*?\]),\s*\{", html, re.S)
    assert found, "no heat layer in the page"
    return sorted(int(row[2]) for row in json.loads(found.group(1)))


def test_filtered_counts_match_a_direct_count(posted):
    """Each filter's numbers (total, per unit, heat cells) differ from the unfiltered page's
    and equal a count made case by case in Python, from the stored rows."""
    client, keys, _ = posted
    with client.app.state.db.session() as session:
        created = sorted(session.execute(select(Report.created_at)).scalars())
    middle = created[len(created) // 2]
    unfiltered = _direct(client, lambda r: True)
    filters = [
        ({"status": "closed"}, lambda r: r.status == "closed"),
        ({"status": ["submitted", "assigned"]}, lambda r: r.status in ("submitted", "assigned")),
        ({"category": "noise"}, lambda r: r.category == "noise"),
        ({"since": middle.isoformat()}, lambda r: r.created_at >= middle),
        ({"until": middle.isoformat()}, lambda r: r.created_at < middle),
    ]
    for params, keep in filters:
        html = density(client, keys["dispatcher"], level="microgrid", **params)
        total, per_unit, cells = _direct(client, keep)
        legend = payload(html, "decorate")
        units = payload(html, "decodeUnits")
        counts = dict(zip(units["code"], units["count"], strict=True))
        assert legend["cases"] == total, params
        assert counts == {c: per_unit.get(c, 0) for c in counts}, params
        assert _heat_weights(html) == cells, params
        if params != {"category": "noise"}:  # every posted case is a noise case
            assert (total, cells) != (unfiltered[0], unfiltered[2]), params


def test_a_grid_workers_counts_match_a_direct_count(posted):
    """The role's area reaches the heat cells and the unit counts too (G1: M1 and M2)."""
    client, keys, ids = posted
    area = set(ids["M1"] + ids["M2"])
    html = density(client, keys["grid_worker"], level="microgrid")
    total, per_unit, cells = _direct(client, lambda r: r.id in area)
    assert payload(html, "decorate")["cases"] == total == 6
    assert _heat_weights(html) == cells
    units = payload(html, "decodeUnits")
    assert dict(zip(units["code"], units["count"], strict=True)) == {
        c: per_unit.get(c, 0) for c in units["code"]
    }


def test_reports_store_their_heat_cell(posted):
    """Intake writes each report's cell of the global grid (geo.grid), as the map groups."""
    client, _, _ = posted
    with client.app.state.db.session() as session:
        rows = session.execute(select(Report.lon, Report.lat, Report.heat_x, Report.heat_y)).all()
    assert rows
    for lon, lat, x, y in rows:
        assert (x, y) == grid_cell(lon, lat, HEAT_CELL_M)
