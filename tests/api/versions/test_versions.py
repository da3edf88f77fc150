"""Boundary versions end to end, on a real SQLite file and on a real PostGIS database: the first
start's version 1, import -> diff -> activate of next year's map with open and closed cases,
lookups at a time, refusals, and the rollback (the module's last test)."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from api.schemas import (
    EventOut,
    Health,
    LookupResult,
    ReportOut,
    ReportPage,
    UnitCollection,
    UnitFeature,
)
from api.versions.schemas import ActivationOut, VersionDiff, VersionOut
from tests.api.conftest import auth
from tests.api.versions.conftest import IN_G2_GAP, IN_M1, IN_M3, IN_M5, error, report_at, upload


def ok(response, model, status=200):
    assert response.status_code == status, response.text
    return model.model_validate(response.json())


def lookup(api, place, **params) -> LookupResult:
    return ok(api.get("/lookup", params={"lon": place[0], "lat": place[1], **params}), LookupResult)


def events(api, report_id) -> list[EventOut]:
    response = api.get(f"/reports/{report_id}/events")
    assert response.status_code == 200, response.text
    return [EventOut.model_validate(e) for e in response.json()]


def move(api, report_id, to, **extra):
    response = api.post(f"/reports/{report_id}/transitions", json={"to": to, **extra})
    assert response.status_code == 200, response.text
    return ReportOut.model_validate(response.json())


@pytest.fixture(scope="module")
def scenario(api, keys, next_year_gpkg):
    """Cases under version 1, then next year's map imported, diffed and activated."""
    reporter = keys["reporter"]
    cases = {
        "in_m3": report_at(api, reporter, IN_M3),
        "closed_in_m3": report_at(api, reporter, IN_M3, "parking"),
        "in_gap": report_at(api, reporter, IN_G2_GAP),
        "in_m5": report_at(api, reporter, IN_M5),
        "in_m1": report_at(api, reporter, IN_M1),
    }
    closed = cases["closed_in_m3"].id
    for step in ("accepted", "resolved", "closed"):
        move(api, closed, step)
    before = datetime.now(UTC)
    time.sleep(0.01)  # activations are ordered by time: keep "before" strictly before
    imported = ok(upload(api, keys["admin"], next_year_gpkg, name="河西 2027"), VersionOut, 201)
    diff = ok(
        api.get(f"/boundaries/versions/{imported.id}/diff", headers=auth(keys["admin"])),
        VersionDiff,
    )
    # the dry run changed nothing
    assert (
        ReportOut.model_validate(api.get(f"/reports/{cases['in_m3'].id}").json())
        .assignment.units[-1]
        .code
        == "M3"
    )
    activated = ok(
        api.post(f"/boundaries/versions/{imported.id}/activate", headers=auth(keys["admin"])),
        ActivationOut,
    )
    return {
        "cases": cases,
        "before": before,
        "imported": imported,
        "diff": diff,
        "activated": activated,
    }


def test_the_first_start_imported_the_configured_file_as_active_version_1(api, backend):
    health = ok(api.get("/health"), Health)
    versions = [VersionOut.model_validate(v) for v in api.get("/boundaries/versions").json()]
    first = versions[-1]
    assert first.id == 1 and first.source_name == "tiny.gpkg"
    assert first.unit_counts == {"district": 1, "grid": 2, "microgrid": 4}
    assert first.imported_by.startswith("configuration")
    assert len(first.source_sha256) == 64
    if len(versions) == 1:
        assert health.boundaries.version_id == 1 and first.state == "active"


def test_a_new_report_records_the_version_and_the_leader(api, keys):
    report = report_at(api, keys["reporter"], IN_M1)
    assert (
        report.assignment.boundary_version_id
        == ok(api.get("/health"), Health).boundaries.version_id
    )
    assert report.assignment.leader is not None and report.assignment.leader.name == "王芳"
    assigned = [e for e in events(api, report.id) if e.to_status == "assigned"]
    assert assigned[0].data["boundary_version_id"] == report.assignment.boundary_version_id
    assert {e.kind for e in events(api, report.id)} == {"transition"}


def test_the_import_is_a_validated_draft(scenario):
    imported = scenario["imported"]
    assert imported.state == "draft" and imported.name == "河西 2027"
    assert imported.levels == ["district", "grid", "microgrid"]
    assert imported.unit_counts == {"district": 1, "grid": 2, "microgrid": 3}
    assert imported.errors == 0 and imported.validation.ok
    assert imported.source_name == "hexi-2027.gpkg" and imported.source_crs == "wgs84"


def test_the_diff_names_every_kind_of_change(scenario):
    units = scenario["diff"].units
    assert scenario["diff"].against_version_id == 1
    assert {i["code"] for i in units.added.items} == {"G3"}
    assert {i["code"] for i in units.removed.items} == {"G2", "M3"}
    assert units.renamed.items == [
        {"code": "G1", "level": "grid", "old_name": "第一网格", "new_name": "第一网格（调整）"}
    ]
    assert units.parent_changed.items == [
        {"code": "M5", "level": "microgrid", "old_parent": "G2", "new_parent": "G3"}
    ]
    reshaped = {i["code"]: i for i in units.geometry_changed.items}
    assert set(reshaped) == {"D", "M1", "M2"}
    # D loses a quarter of its 0.02 x 0.01 degree box: about 432 m x 1,111 m
    assert reshaped["D"]["area_change_m2"] == pytest.approx(-480_000, rel=0.02)
    assert reshaped["M1"]["area_change_m2"] == pytest.approx(
        +reshaped["M1"]["area_before_m2"], rel=0.01
    )
    assert reshaped["M1"]["changed_area_m2"] == pytest.approx(
        reshaped["M1"]["area_before_m2"], rel=0.01
    )
    # M5 had nobody (its cases went to D's 张伟); its file names 孙丽, and the roster has none
    leaders = {i["code"]: i for i in units.leader_changed.items}
    assert set(leaders) == {"M5"} and leaders["M5"]["new"]["name"] == "孙丽"
    assert leaders["M5"]["old"] is None
    # M1's file names another leader than the roster's 王芳: the roster is kept, and said so
    ignored = {i["code"]: i for i in units.file_leaders_ignored.items}
    assert ignored["M1"]["old"]["name"] == "王芳" and ignored["M1"]["new"]["name"] == "别人"


def test_the_diff_counts_the_open_cases_that_would_move(scenario):
    cases = scenario["diff"].cases
    moves = {(m.from_unit, m.to_unit): m.cases for m in cases.moves}
    assert moves[("M3", "M1")] >= 1
    assert {(u.from_unit): u.cases for u in cases.unassigned_from}["G2"] >= 1
    assert cases.open == cases.moved + cases.unchanged + cases.unassigned
    assert cases.parent_changed >= 1  # the case in M5, under G3 now


def test_activation_moves_the_open_case_of_the_redrawn_area_with_its_event(api, scenario):
    activated = scenario["activated"]
    version = scenario["imported"].id
    assert activated.version.state == "active" and activated.previous_version_id == 1
    assert activated.cases.moved == scenario["diff"].cases.moved
    assert activated.cases.unassigned == scenario["diff"].cases.unassigned
    case = scenario["cases"]["in_m3"]
    now = ReportOut.model_validate(api.get(f"/reports/{case.id}").json())
    assert [u.code for u in now.assignment.units] == ["D", "G1", "M1"]
    assert now.assignment.units[1].name == "第一网格（调整）"
    assert now.assignment.boundary_version_id == version
    assert now.assignment.leader is not None and now.assignment.leader.name == "王芳"
    [rerouted] = [e for e in events(api, case.id) if e.kind == "rerouted"]
    assert rerouted.data["from_unit"] == "M3" and rerouted.data["to_unit"] == "M1"
    assert rerouted.data["from_version"] == 1 and rerouted.data["to_version"] == version
    assert rerouted.data["leader"]["name"] == "王芳"
    assert rerouted.from_status == rerouted.to_status == "assigned"


def test_a_closed_case_keeps_the_units_it_was_closed_under(api, scenario):
    case = scenario["cases"]["closed_in_m3"]
    now = ReportOut.model_validate(api.get(f"/reports/{case.id}").json())
    assert now.status == "closed"
    assert [u.code for u in now.assignment.units] == ["D", "G1", "M3"]
    assert now.assignment.boundary_version_id == 1
    assert now.assignment.leader == case.assignment.leader
    assert not [e for e in events(api, case.id) if e.kind != "transition"]
    # and it is still found by the unit it was handled in, though M3 is gone
    page = ReportPage.model_validate(api.get("/reports", params={"unit": "M3"}).json())
    assert case.id in [r.id for r in page.items]


def test_a_case_of_the_removed_unit_waits_in_the_dispatchers_queue(api, scenario):
    case = scenario["cases"]["in_gap"]
    now = ReportOut.model_validate(api.get(f"/reports/{case.id}").json())
    assert now.status == "submitted" and now.assignment.units == []
    assert now.assignment.status == "unassigned" and now.assignment.leader is None
    queue = ReportPage.model_validate(api.get("/reports", params={"status": "submitted"}).json())
    assert case.id in [r.id for r in queue.items]
    [rerouted] = [e for e in events(api, case.id) if e.kind == "rerouted"]
    assert (rerouted.from_status, rerouted.to_status) == ("assigned", "submitted")
    assert rerouted.data["from_unit"] == "G2" and rerouted.data["to_unit"] is None
    assert "queue" in rerouted.note


def test_a_micro_grid_under_a_new_grid_gets_its_new_chain_and_leader(api, scenario):
    case = scenario["cases"]["in_m5"]
    assert case.assignment.leader is not None and case.assignment.leader.unit_code == "D"
    now = ReportOut.model_validate(api.get(f"/reports/{case.id}").json())
    assert [u.code for u in now.assignment.units] == ["D", "G3", "M5"]
    assert now.assignment.leader is not None and now.assignment.leader.name == "孙丽"
    [rerouted] = [e for e in events(api, case.id) if e.kind == "rerouted"]
    assert rerouted.data["from_units"] == ["D", "G2", "M5"]
    assert rerouted.data["to_units"] == ["D", "G3", "M5"]


def test_an_unmoved_case_keeps_everything_but_records_the_new_version(api, scenario):
    case = scenario["cases"]["in_m1"]
    now = ReportOut.model_validate(api.get(f"/reports/{case.id}").json())
    assert [u.code for u in now.assignment.units] == ["D", "G1", "M1"]
    assert now.assignment.boundary_version_id == scenario["imported"].id
    assert not [e for e in events(api, case.id) if e.kind != "transition"]


def test_lookups_answer_from_the_version_active_at_a_time(api, scenario):
    version = scenario["imported"].id
    now = lookup(api, IN_M3)
    assert now.units[-1].code == "M1" and now.boundary_version_id == version
    then = lookup(api, IN_M3, at=scenario["before"].isoformat())
    assert then.units[-1].code == "M3" and then.boundary_version_id == 1
    assert lookup(api, IN_G2_GAP).status == "unassigned"
    assert lookup(api, IN_G2_GAP, at=scenario["before"].isoformat()).units[-1].code == "G2"
    batch = api.post(
        "/lookup/batch",
        params={"at": scenario["before"].isoformat()},
        json={"points": [list(IN_M3), list(IN_M5)]},
    ).json()
    assert batch["boundary_version_id"] == 1
    assert [r["units"][1]["code"] for r in batch["results"]] == ["G1", "G2"]
    error(
        api.get("/lookup", params={"lon": 117.2, "lat": 39.1, "at": "2001-01-01T00:00:00Z"}),
        422,
        "no_version_at",
    )
    error(
        api.get("/lookup", params={"lon": 117.2, "lat": 39.1, "at": "yesterday"}),
        422,
        "invalid_request",
    )


def test_units_of_any_version(api, scenario):
    old = UnitCollection.model_validate(
        api.get("/units", params={"version": 1, "level": "grid"}).json()
    )
    assert [f.id for f in old.features] == ["G1", "G2"]
    new = UnitCollection.model_validate(
        api.get("/units", params={"level": "grid", "version": scenario["imported"].id}).json()
    )
    assert [f.id for f in new.features] == ["G1", "G3"]
    m3 = UnitFeature.model_validate(api.get("/units/M3", params={"version": 1}).json())
    assert m3.properties.parent == "G1"
    error(api.get("/units/M3"), 404, "unit_not_found")
    error(api.get("/units", params={"version": 999}), 404, "version_not_found")


def test_planning_follows_the_active_version(api, keys, scenario):
    """Population is keyed by code: kept codes keep theirs, new units count as lacking."""
    from api.planning.population import store_population

    rows = [
        {"kind": "unit", "code": c, "residents": 100, "residents_60": 20}
        for c in ("M1", "M2", "M3")
    ]
    with api.app.state.db.session() as session:
        store_population(rows, session=session, replace=True, source="test")
    coverage = api.get("/coverage", params={"level": "grid"}, headers=auth(keys["planner"]))
    assert coverage.status_code == 200, coverage.text
    summary = coverage.json()["summary"]
    assert summary["boundary_set"].startswith(f"version {scenario['imported'].id}")
    assert summary["population_rows_ignored"] == 1  # M3 is not in the active version
    assert summary["units_without_population"] == 1  # M5 has none


def test_activating_a_version_with_validation_errors_is_refused(api, keys, overlapping_gpkg):
    admin = keys["admin"]
    bad = ok(upload(api, admin, overlapping_gpkg), VersionOut, 201)
    assert bad.errors >= 1 and bad.state == "draft"
    assert "overlap" in bad.validation.counts["error"]
    active = ok(api.get("/health"), Health).boundaries.version_id
    body = error(
        api.post(f"/boundaries/versions/{bad.id}/activate", headers=auth(admin)),
        409,
        "validation_errors",
    )
    assert "overlap" in body.details["errors"]
    assert ok(api.get("/health"), Health).boundaries.version_id == active
    error(
        api.post(f"/boundaries/versions/{active}/activate", headers=auth(admin)),
        409,
        "already_active",
    )
    error(
        api.post("/boundaries/versions/999/activate", headers=auth(admin)), 404, "version_not_found"
    )


def test_the_command_line_lists_diffs_and_refuses_like_the_api(wangge, scenario):
    listed = wangge("boundaries", "list")
    assert listed.exit_code == 0, listed.output
    assert "河西 2027" in listed.output and "active" in listed.output
    diff = wangge("boundaries", "diff", "1")
    assert diff.exit_code == 0, diff.output
    assert "M1" in diff.output and "M3" in diff.output  # the cases would move back
    refused = wangge("boundaries", "activate", str(scenario["imported"].id))
    assert refused.exit_code == 2 and "already active" in refused.output


def test_rollback_is_activating_the_old_version_again(api, keys, scenario):
    """The module's last test: version 1 again, the moved cases back where they were."""
    admin = keys["admin"]
    back = ok(api.post("/boundaries/versions/1/activate", headers=auth(admin)), ActivationOut)
    assert back.previous_version_id == scenario["imported"].id
    case = scenario["cases"]["in_m3"]
    now = ReportOut.model_validate(api.get(f"/reports/{case.id}").json())
    assert [u.code for u in now.assignment.units] == ["D", "G1", "M3"]
    assert now.assignment.boundary_version_id == 1
    gap = ReportOut.model_validate(api.get(f"/reports/{scenario['cases']['in_gap'].id}").json())
    assert gap.status == "assigned" and gap.assignment.units[-1].code == "G2"
    kinds = [e.kind for e in events(api, case.id)]
    assert kinds.count("rerouted") == 2
    versions = {v["id"]: v["state"] for v in api.get("/boundaries/versions").json()}
    assert versions[1] == "active" and versions[scenario["imported"].id] == "retired"
    assert lookup(api, IN_M3).units[-1].code == "M3"
    # the roster is not geometry: M5 keeps the leader its 2027 file gave it
    assert lookup(api, IN_M5).leader.name == "孙丽"
