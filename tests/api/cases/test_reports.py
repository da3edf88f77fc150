"""Report intake and the case lifecycle, on a real SQLite file and on a real PostGIS database."""

from __future__ import annotations

import io
import json
import threading

import pytest
import sqlalchemy as sa
from PIL import Image

from api.schemas import CategoryOut, ErrorBody, EventOut, ReportOut, ReportPage, UnitStats
from geo.crs import wgs84_to_gcj02
from tests.api.conftest import auth

# the middle of micro-grid M1 (leader 王芳), and as a phone on Amap reports it
M1 = (117.2025, 39.1025)
M1_GCJ = tuple(float(v) for v in wgs84_to_gcj02(*M1))


@pytest.fixture(scope="module")
def api(stored):
    return stored[0]


@pytest.fixture(scope="module")
def keys(stored):
    return stored[1]


def post(api, key, body=None, *, idem=None, **kwargs):
    headers = auth(key)
    if idem:
        headers["Idempotency-Key"] = idem
    if body is not None:
        kwargs["json"] = body
    return api.post("/reports", headers=headers, **kwargs)


def report_body(**overrides):
    body = {
        "lon": M1_GCJ[0],
        "lat": M1_GCJ[1],
        "crs": "gcj02",
        "category": "flying_wires",
        "description": "楼道里有电动车飞线充电",
        "name": "王先生",
        "phone": "13800000000",
    }
    return body | overrides


def created(response) -> ReportOut:
    assert response.status_code == 201, response.text
    return ReportOut.model_validate(response.json())


def error(response, status, code) -> ErrorBody:
    assert response.status_code == status, response.text
    body = ErrorBody.model_validate(response.json())
    assert body.code == code
    return body


# -- the whole loop ---------------------------------------------------------------------------


def test_gcj02_report_goes_to_the_micro_grid_leader_and_through_its_life(api, keys):
    report = created(post(api, keys["reporter"], report_body()))
    assert report.status == "assigned"
    assert [u.code for u in report.assignment.units] == ["D", "G1", "M1"]
    assert report.assignment.leader is not None and report.assignment.leader.name == "王芳"
    assert report.lon == pytest.approx(M1[0], abs=1e-7)
    assert report.input == {"lon": M1_GCJ[0], "lat": M1_GCJ[1], "crs": "gcj02"}
    assert report.reporter is None  # the reporter's own key gets no personal data back
    assert (report.due_at - report.created_at).total_seconds() == 24 * 3600  # flying wires SLA

    worker = auth(keys["grid_worker"])  # scoped to grid G1
    step = api.post(f"/reports/{report.id}/transitions", json={"to": "accepted"}, headers=worker)
    assert step.status_code == 200, step.text
    seen = ReportOut.model_validate(step.json())
    assert seen.status == "accepted"
    assert seen.reporter is not None and seen.reporter.phone == "13800000000"  # a handler
    step = api.post(
        f"/reports/{report.id}/transitions",
        json={"to": "resolved", "note": "拆除飞线，安装充电桩"},
        headers=worker,
    )
    assert ReportOut.model_validate(step.json()).resolved_at is not None

    rated = api.post(
        f"/reports/{report.id}/rating",
        json={"score": 5, "comment": "很快"},
        headers=auth(keys["reporter"]),
    )
    assert rated.status_code == 200, rated.text
    closed = ReportOut.model_validate(rated.json())
    assert closed.status == "closed" and closed.rating == 5 and closed.closed_at is not None

    events = [EventOut.model_validate(e) for e in api.get(f"/reports/{report.id}/events").json()]
    assert [(e.from_status, e.to_status) for e in events] == [
        (None, "submitted"),
        ("submitted", "assigned"),
        ("assigned", "accepted"),
        ("accepted", "resolved"),
        ("resolved", "closed"),
    ]
    assert [e.role for e in events] == [
        "reporter",
        "system",
        "grid_worker",
        "grid_worker",
        "reporter",
    ]
    assert events[3].note == "拆除飞线，安装充电桩"
    assert events[4].data == {"rating": 5}


def test_low_rating_reopens(api, keys):
    report = created(post(api, keys["reporter"], report_body(category="noise")))
    for to in ("accepted", "resolved"):
        api.post(f"/reports/{report.id}/transitions", json={"to": to})
    rated = api.post(
        f"/reports/{report.id}/rating", json={"score": 2}, headers=auth(keys["reporter"])
    )
    assert ReportOut.model_validate(rated.json()).status == "reopened"


@pytest.mark.parametrize(
    ("path", "to", "status", "code"),
    [
        # straight from assigned to closed: not allowed, and the answer names what is
        (["accepted"], "closed", 409, "transition_not_allowed"),
        # a final state goes nowhere
        (["rejected"], "accepted", 409, "transition_not_allowed"),
        # not a status at all
        ([], "teleported", 422, "unknown_status"),
    ],
)
def test_disallowed_transitions_name_the_allowed_ones(api, keys, path, to, status, code):
    report = created(post(api, keys["reporter"], report_body()))
    for step in path:
        body = {"to": step, "note": "not ours"} if step == "rejected" else {"to": step}
        assert api.post(f"/reports/{report.id}/transitions", json=body).status_code == 200
    body = error(api.post(f"/reports/{report.id}/transitions", json={"to": to}), status, code)
    assert body.allowed


def test_transition_409_lists_next_states(api, keys):
    report = created(post(api, keys["reporter"], report_body()))
    body = error(
        api.post(f"/reports/{report.id}/transitions", json={"to": "closed"}),
        409,
        "transition_not_allowed",
    )
    assert body.allowed == "accepted, escalated, reassigned, rejected"


def test_escalate_to_parent_then_department_and_reassign(api, keys):
    report = created(post(api, keys["reporter"], report_body()))
    up = api.post(
        f"/reports/{report.id}/transitions",
        json={"to": "escalated", "escalate_to": "parent", "note": "吹哨"},
    )
    moved = ReportOut.model_validate(up.json())
    assert [u.code for u in moved.assignment.units] == ["D", "G1"]
    assert moved.assignment.leader is not None and moved.assignment.leader.unit_code == "G1"
    across = api.post(
        f"/reports/{report.id}/transitions", json={"to": "reassigned", "unit_code": "M2"}
    )
    again = ReportOut.model_validate(across.json())
    assert again.status == "reassigned"
    assert [u.code for u in again.assignment.units] == ["D", "G1", "M2"]
    dept = api.post(
        f"/reports/{report.id}/transitions", json={"to": "escalated", "escalate_to": "城市管理委"}
    )
    assert ReportOut.model_validate(dept.json()).department == "城市管理委"


def test_reject_as_duplicate(api, keys):
    first = created(post(api, keys["reporter"], report_body(category="rubbish")))
    second = created(post(api, keys["reporter"], report_body(category="rubbish")))
    assert [d.id for d in second.possible_duplicates or []][:1] == [first.id]
    done = api.post(
        f"/reports/{second.id}/transitions", json={"to": "rejected", "duplicate_of": first.id}
    )
    assert ReportOut.model_validate(done.json()).duplicate_of == first.id
    error(
        api.post(
            f"/reports/{first.id}/transitions", json={"to": "rejected", "duplicate_of": 10**9}
        ),
        422,
        "unknown_duplicate",
    )


# -- intake rules -----------------------------------------------------------------------------


def test_outside_the_jurisdiction_is_accepted_into_the_queue(api, keys):
    report = created(post(api, keys["reporter"], report_body(lon=117.5, lat=39.3, crs="wgs84")))
    assert report.status == "submitted"
    assert report.assignment.status == "unassigned" and report.assignment.units == []
    queue = ReportPage.model_validate(api.get("/reports", params={"status": "submitted"}).json())
    assert report.id in [r.id for r in queue.items]


def test_snapped_report_says_so(api, keys):
    report = created(
        post(api, keys["reporter"], report_body(lon=117.2025, lat=39.0999, crs="wgs84"))
    )
    assert report.assignment.status == "snapped"
    assert report.assignment.distance_m is not None and 0 < report.assignment.distance_m < 50


@pytest.mark.parametrize(
    ("overrides", "status", "code"),
    [
        ({"lat": 95}, 422, "invalid_coordinates"),  # out of range
        ({"lon": float("nan")}, 422, "invalid_coordinates"),  # NaN (JSON's NaN literal)
        ({"lon": "117.2"}, 422, "invalid_request"),  # a string is not a number
        ({"crs": "mars"}, 422, "unknown_crs"),  # unknown system
        ({"category": "ufo"}, 422, "unknown_category"),  # not in the catalogue
        ({"colour": "red"}, 422, "invalid_request"),  # unknown field
        ({"phone": "call me"}, 422, "invalid_request"),  # not a phone number
    ],
)
def test_bad_reports_are_refused_clearly(api, keys, overrides, status, code):
    sent = json.dumps(report_body(**overrides))  # NaN as JSON's NaN literal, which httpx refuses
    headers = auth(keys["reporter"]) | {"Content-Type": "application/json"}
    response = api.post("/reports", content=sent, headers=headers)
    body = error(response, status, code)
    assert body.allowed


def test_idempotent_retry_returns_the_first_answer(api, keys):
    body = report_body(description="idempotent")
    first = post(api, keys["reporter"], body, idem="retry-1")
    again = post(api, keys["reporter"], body, idem="retry-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers.get("Idempotent-Replayed") == "true"
    page = ReportPage.model_validate(api.get("/reports", params={"limit": 500}).json())
    assert sum(1 for r in page.items if r.description == "idempotent") == 1
    error(
        post(api, keys["reporter"], report_body(description="other"), idem="retry-1"),
        409,
        "idempotency_key_reused",
    )


def test_concurrent_retries_create_one_report(api, keys):
    body = report_body(description="raced")
    answers = []

    def send():
        answers.append(post(api, keys["reporter"], body, idem="race-1"))

    threads = [threading.Thread(target=send) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1


def test_keys_are_per_client(api, keys):
    body = report_body(description="per client")
    a = created(post(api, keys["reporter"], body, idem="shared-key"))
    b = created(post(api, keys["dispatcher"], body, idem="shared-key"))
    assert a.id != b.id


# -- photos -----------------------------------------------------------------------------------


def _jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (64, 48), (200, 30, 30))
    exif = Image.Exif()
    exif[0x010F] = "PhoneMaker"  # Make
    gps = exif.get_ifd(0x8825)
    gps[1] = "N"
    gps[2] = (39.0, 6.0, 9.0)
    gps[3] = "E"
    gps[4] = (117.0, 12.0, 9.0)
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif)
    return out.getvalue()


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (10, 10), (0, 0, 255)).save(out, "PNG")
    return out.getvalue()


def test_multipart_with_photos_strips_metadata(api, keys):
    raw = _jpeg_with_gps()
    assert Image.open(io.BytesIO(raw)).getexif().get_ifd(0x8825)  # the phone put GPS in
    fields = {k: str(v) for k, v in report_body().items()}
    response = api.post(
        "/reports",
        data=fields,
        files=[
            ("photos", ("IMG_1.jpg", raw, "image/jpeg")),
            ("photos", ("x.txt", _png(), "text/plain")),
        ],  # named .txt, is a PNG: accepted
        headers=auth(keys["reporter"]),
    )
    report = created(response)
    assert [p.content_type for p in report.photos] == ["image/jpeg", "image/png"]
    photo = api.get(report.photos[0].url, headers=auth(keys["reporter"]))
    assert photo.status_code == 200
    stored = Image.open(io.BytesIO(photo.content))
    assert stored.size == (64, 48)
    assert not stored.getexif()  # no EXIF left at all, GPS included
    assert b"PhoneMaker" not in photo.content


@pytest.mark.parametrize(
    ("files", "status", "code"),
    [
        # a text file named like a photo: checked by content
        ([("photos", ("a.jpg", b"hello, not an image", "image/jpeg"))], 415, "unsupported_photo"),
        # a JPEG header with garbage after it
        (
            [("photos", ("b.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 100, "image/jpeg"))],
            422,
            "invalid_photo",
        ),
        # over the configured 200 kB
        (
            [("photos", ("c.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 210_000, "image/png"))],
            413,
            "photo_too_large",
        ),
        # four photos, three allowed
        ([("photos", (f"{i}.png", _png(), "image/png")) for i in range(4)], 413, "too_many_photos"),
    ],
)
def test_bad_photos(api, keys, files, status, code):
    fields = {k: str(v) for k, v in report_body().items()}
    error(
        api.post("/reports", data=fields, files=files, headers=auth(keys["reporter"])), status, code
    )


def test_other_content_types_are_refused(api, keys):
    response = api.post(
        "/reports",
        content=b"lon=1",
        headers={**auth(keys["reporter"]), "content-type": "text/plain"},
    )
    error(response, 415, "unsupported_media_type")


# -- reading, privacy, scope ------------------------------------------------------------------


def test_listing_filters(api, keys):
    reporter = auth(keys["reporter"])
    a = created(post(api, keys["reporter"], report_body(category="water_cut")))
    b = created(
        post(
            api,
            keys["reporter"],
            report_body(category="water_cut", lon=117.212, lat=39.105, crs="wgs84"),
        )
    )  # in M5, grid G2

    def ids(**params):
        page = ReportPage.model_validate(api.get("/reports", params=params).json())
        return {r.id for r in page.items}, page.total

    got, total = ids(category="water_cut")
    assert {a.id, b.id} <= got and total >= 2
    assert a.id in ids(unit="G1")[0] and b.id not in ids(unit="G1")[0]
    assert b.id in ids(unit="G2")[0]
    assert {a.id, b.id} <= ids(unit="D", category="water_cut")[0]  # the top: everything below
    assert ids(bbox="117.211,39.104,117.213,39.106", category="water_cut")[0] == {b.id}
    assert a.id not in ids(overdue="true")[0]
    assert a.id in ids(overdue="false")[0]
    later = a.created_at.isoformat()
    assert a.id in ids(since=later)[0]
    assert a.id not in ids(until=later)[0]
    # a reporter sees only its own, without personal data
    mine = ReportPage.model_validate(api.get("/reports", headers=reporter).json())
    assert mine.items and all(r.reporter is None for r in mine.items)


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"bbox": "1,2,3"}, "invalid_bbox"),  # three numbers
        ({"bbox": "3,2,1,4"}, "invalid_bbox"),  # inverted
        ({"bbox": "nan,1,2,3"}, "invalid_bbox"),  # NaN
        ({"status": "lost"}, "unknown_status"),
        ({"since": "yesterday"}, "invalid_request"),
        ({"limit": 0}, "invalid_request"),
        ({"sort": "id"}, "unknown_parameter"),
    ],
)
def test_listing_bad_filters(api, params, code):
    error(api.get("/reports", params=params), 422, code)


def test_unknown_unit_filter_is_404(api):
    error(api.get("/reports", params={"unit": "NOPE"}), 404, "unit_not_found")


def test_grid_worker_sees_only_its_area(api, keys):
    outside = created(
        post(
            api,
            keys["reporter"],
            report_body(category="noise", lon=117.212, lat=39.105, crs="wgs84"),
        )
    )  # grid G2
    worker = auth(keys["grid_worker"])  # grid G1
    error(api.get(f"/reports/{outside.id}", headers=worker), 404, "report_not_found")
    error(
        api.post(f"/reports/{outside.id}/transitions", json={"to": "accepted"}, headers=worker),
        404,
        "report_not_found",
    )
    page = ReportPage.model_validate(api.get("/reports", headers=worker).json())
    assert all("G1" in [u.code for u in r.assignment.units] for r in page.items)
    assert all(r.reporter is not None for r in page.items)  # handlers see who reported


def test_planner_gets_no_cases_but_stats(api, keys):
    planner = auth(keys["planner"])
    error(api.get("/reports", headers=planner), 403, "forbidden")
    stats = UnitStats.model_validate(api.get("/units/G1/stats", headers=planner).json())
    assert stats.total >= 1 and stats.by_status and stats.by_category
    assert stats.median_hours_to_resolve is not None  # the closed case above
    lookup = api.get("/lookup", params={"lon": M1[0], "lat": M1[1]}, headers=planner).json()
    assert lookup["leader"]["phone"] is None  # no personal data for planners


def test_reporter_cannot_act_or_rate_others(api, keys):
    report = created(post(api, keys["dispatcher"], report_body()))
    reporter = auth(keys["reporter"])
    error(
        api.post(f"/reports/{report.id}/transitions", json={"to": "accepted"}, headers=reporter),
        403,
        "forbidden",
    )
    error(api.get(f"/reports/{report.id}", headers=reporter), 404, "report_not_found")


def test_worker_cannot_reassign(api, keys):
    report = created(post(api, keys["reporter"], report_body()))
    error(
        api.post(
            f"/reports/{report.id}/transitions",
            json={"to": "reassigned", "unit_code": "M2"},
            headers=auth(keys["grid_worker"]),
        ),
        403,
        "forbidden",
    )


def test_categories_catalogue(api):
    cats = [CategoryOut.model_validate(c) for c in api.get("/categories").json()]
    codes = {c.code for c in cats}
    assert {
        "property",
        "parking",
        "noise",
        "flying_wires",
        "leaking_pipe",
        "building_repair",
        "corridor_light",
        "water_cut",
        "rubbish",
    } <= codes
    noise = next(c for c in cats if c.code == "noise")
    assert noise.name_zh == "噪音扰民" and noise.duplicate_radius_m == 100


def test_events_cannot_be_changed(stored):
    client = stored[0]
    engine = client.app.state.db.engine
    with engine.connect() as conn, pytest.raises(sa.exc.DatabaseError):
        conn.execute(sa.text("UPDATE report_events SET note = 'changed'"))
    with engine.connect() as conn, pytest.raises(sa.exc.DatabaseError):
        conn.execute(sa.text("DELETE FROM report_events"))


def test_acknowledged_report_is_on_disk(stored, keys):
    """A 201 means committed: a fresh engine on the same database sees it at once."""
    client = stored[0]
    report = created(post(client, keys["reporter"], report_body(description="durable")))
    url = client.app.state.db.engine.url
    fresh = sa.create_engine(url)
    with fresh.connect() as conn:
        row = conn.execute(
            sa.text("SELECT description, status FROM reports WHERE id = :id"), {"id": report.id}
        ).one()
    fresh.dispose()
    assert tuple(row) == ("durable", "assigned")


def test_overdue_flag(stored, keys):
    client = stored[0]
    report = created(post(client, keys["reporter"], report_body(category="parking")))
    engine = client.app.state.db.engine
    with engine.begin() as conn:  # pretend the 4-hour deadline passed
        conn.execute(
            sa.text("UPDATE reports SET due_at = created_at WHERE id = :id"), {"id": report.id}
        )
    seen = ReportOut.model_validate(client.get(f"/reports/{report.id}").json())
    assert seen.overdue
    late = ReportPage.model_validate(client.get("/reports", params={"overdue": "true"}).json())
    assert report.id in [r.id for r in late.items]
    stats = UnitStats.model_validate(client.get("/units/M1/stats").json())
    assert stats.overdue >= 1


def test_duplicate_index_rebuilt_at_start(backend, keys):
    """Open reports come back into the duplicate index when the service restarts."""
    from tests.api.conftest import make_client

    client, new_keys = make_client(backend)
    try:
        report = created(post(client, new_keys["reporter"], report_body(category="leaking_pipe")))
    finally:
        client.__exit__(None, None, None)
    client, new_keys = make_client(backend)
    try:
        again = created(post(client, new_keys["reporter"], report_body(category="leaking_pipe")))
        assert report.id in [d.id for d in again.possible_duplicates or []]
    finally:
        client.__exit__(None, None, None)


def test_response_json_is_stable(api, keys):
    report = created(post(api, keys["reporter"], report_body()))
    assert json.loads(json.dumps(report.model_dump(mode="json")))["id"] == report.id


# -- moved by people --------------------------------------------------------------------------

# inside grid G1 but in the hole of micro-grid M3: a gap between G1's children
G1_GAP = (117.2065, 39.1075)


@pytest.mark.parametrize(
    ("where", "assignment"),
    [
        (G1_GAP, "gap"),  # in a gap: placed at the grid, then moved down to a micro-grid
        ((117.2025, 39.0999), "snapped"),  # just outside: snapped, then moved elsewhere
    ],
)
def test_reassigned_case_shows_its_new_unit_and_why(api, keys, where, assignment):
    report = created(
        post(api, keys["reporter"], report_body(lon=where[0], lat=where[1], crs="wgs84"))
    )
    assert report.assignment.status == assignment
    moved = api.post(
        f"/reports/{report.id}/transitions", json={"to": "reassigned", "unit_code": "M2"}
    )
    assert moved.status_code == 200, moved.text
    for body in (moved.json(), api.get(f"/reports/{report.id}").json()):
        shown = ReportOut.model_validate(body)
        assert shown.assignment.status == "reassigned"
        assert [u.code for u in shown.assignment.units] == ["D", "G1", "M2"]
        assert shown.assignment.reason is not None and "M2" in shown.assignment.reason
        assert shown.assignment.distance_m is None  # the place's distance no longer explains it
    page = api.get("/reports", params={"unit": "M2", "limit": 500})
    assert page.status_code == 200, page.text
    assert report.id in [r.id for r in ReportPage.model_validate(page.json()).items]


def test_escalated_to_parent_says_so(api, keys):
    report = created(
        post(api, keys["reporter"], report_body(lon=G1_GAP[0], lat=G1_GAP[1], crs="wgs84"))
    )
    up = api.post(
        f"/reports/{report.id}/transitions",
        json={"to": "reassigned", "unit_code": "M1"},
    )
    assert up.status_code == 200, up.text
    up = api.post(
        f"/reports/{report.id}/transitions", json={"to": "escalated", "escalate_to": "parent"}
    )
    shown = ReportOut.model_validate(api.get(f"/reports/{report.id}").json())
    assert shown.assignment.status == "escalated"
    assert shown.assignment.reason is not None and "G1" in shown.assignment.reason
