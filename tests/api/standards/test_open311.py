"""Open311 GeoReport v2 through the real app, on SQLite and PostGIS: services, requests posted
form-encoded as the spec shows them, read back in JSON and XML, tokens, errors, privacy."""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pydantic import TypeAdapter

from api.schemas import ReportPage
from api.settings import Settings
from api.standards.schemas import (
    Open311Created,
    Open311Discovery,
    Open311Error,
    Open311Request,
    Open311Service,
    Open311ServiceDefinition,
    Open311Token,
)
from tests.api.conftest import auth, make_client

BASE = "/open311/v2"
IN_M1 = {"lat": "39.102", "long": "117.202"}  # micro-grid M1 (leader 王芳), grid G1
IN_M5 = {"lat": "39.105", "long": "117.212"}  # micro-grid M5, grid G2


@pytest.fixture(scope="module")
def public(backend: Settings) -> Iterator[TestClient]:
    """A second app on the same database with public read on (and a jurisdiction id)."""
    settings = backend.model_copy(
        update={"open311_public_read": True, "open311_jurisdiction_id": "tianjin.hexi"}
    )
    client, _ = make_client(settings)
    try:
        yield client
    finally:
        client.__exit__(None, None, None)


def post(client: TestClient, key: str, fmt: str = "json", headers=None, files=None, **fields):
    """A POST as the spec shows it: form-encoded, the key among the fields."""
    return client.post(
        f"{BASE}/requests.{fmt}",
        data={"api_key": key, **fields},
        files=files,
        headers={"Authorization": "", **(headers or {})},
    )


def xml_items(text: str, item: str) -> list[dict[str, str]]:
    """The items of an Open311 XML list as {element: text} (nested lists as lists)."""
    root = ET.fromstring(text.encode())
    return [_element(child) for child in root.iter(item)]


def _element(element: ET.Element) -> Any:
    children = list(element)
    if not children:
        return element.text or ""
    if len({c.tag for c in children}) == 1 and len(children) > 1:
        return [_element(c) for c in children]
    return {c.tag: _element(c) for c in children}


def as_text(value: Any) -> Any:
    """A JSON value as the spec's XML writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return {k: as_text(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_text(v) for v in value]
    return "" if value is None else str(value)


def test_services_list_the_catalogue_in_json_and_xml(api):
    as_json = api.get(f"{BASE}/services.json")
    assert as_json.status_code == 200
    assert as_json.headers["content-type"].startswith("application/json")
    services = TypeAdapter(list[Open311Service]).validate_python(as_json.json())
    noise = next(s for s in services if s.service_code == "noise")
    assert noise.service_name == "噪音扰民" and "Noise" in noise.description
    assert noise.group == "生态环境局 Ecology and environment" and noise.type == "realtime"
    assert noise.metadata is False and "noise" in noise.keywords
    as_xml = api.get(f"{BASE}/services.xml")
    assert as_xml.headers["content-type"].startswith("text/xml")
    assert as_xml.text.startswith("<?xml version='1.0' encoding='utf-8'?>")
    assert xml_items(as_xml.text, "service") == [as_text(s) for s in as_json.json()]


def test_service_definition_and_discovery(api):
    definition = api.get(f"{BASE}/services/noise.json")
    assert Open311ServiceDefinition.model_validate(definition.json()).attributes == []
    root = ET.fromstring(api.get(f"{BASE}/services/noise.xml").content)
    assert root.tag == "service_definition" and root.findtext("service_code") == "noise"
    unknown = api.get(f"{BASE}/services/nope.json")
    assert unknown.status_code == 400
    [error] = TypeAdapter(list[Open311Error]).validate_python(unknown.json())
    assert "nope" in error.description and "noise" in error.description
    discovery = Open311Discovery.model_validate(api.get(f"{BASE}/discovery.json").json())
    assert discovery.endpoints[0].url.endswith("/open311/v2")
    assert discovery.endpoints[0].formats == ["text/xml", "application/json"]
    assert ET.fromstring(api.get(f"{BASE}/discovery.xml").content).tag == "discovery"


def test_posted_request_is_assigned_and_reads_back_the_same_in_json_and_xml(api, keys):
    answer = post(
        api,
        keys["reporter"],
        service_code="noise",
        description="楼下 KTV 很吵 <b>&amp;</b>",
        first_name="芳",
        last_name="王",
        phone="13800000000",
        email="wang@example.cn",
        address_string="友谊路 1 号",
        **IN_M1,
    )
    assert answer.status_code == 201, answer.text
    [created] = TypeAdapter(list[Open311Created]).validate_python(answer.json())
    assert created.account_id is None and created.token
    assert "微网格1" in created.service_notice and "M1" in created.service_notice
    # the same case as POST /reports makes: assigned to M1 and its leader
    report = api.get(f"/reports/{created.service_request_id}").json()
    assert report["assignment"]["units"][-1]["code"] == "M1"
    assert report["reporter"] == {"name": "王芳", "phone": "13800000000"}
    as_json = api.get(f"{BASE}/requests/{created.service_request_id}.json")
    [request] = TypeAdapter(list[Open311Request]).validate_python(as_json.json())
    assert request.status == "open" and request.status_notes == "assigned"
    assert request.service_code == "noise" and request.service_name == "噪音扰民"
    assert request.agency_responsible == "微网格1 (M1); leader unit M1"
    assert (request.lat, request.long) == (39.102, 117.202)
    assert request.address == "友谊路 1 号"
    assert request.expected_datetime.isoformat().startswith(report["due_at"][:19])
    assert request.reporter_name == "王芳"  # a dispatcher handles the case
    as_xml = api.get(f"{BASE}/requests/{created.service_request_id}.xml")
    assert xml_items(as_xml.text, "request") == [as_text(r) for r in as_json.json()]


def test_xml_stays_well_formed_whatever_the_text(api, keys):
    text = 'a <tag> & "quotes" \x07 bell \x1b esc 中文'
    answer = post(api, keys["reporter"], service_code="rubbish", description=text, **IN_M5)
    [created] = answer.json()
    xml = api.get(f"{BASE}/requests/{created['service_request_id']}.xml")
    [item] = xml_items(xml.text, "request")  # parses: escaped, no control characters
    assert item["description"] == 'a <tag> & "quotes" \ufffd bell \ufffd esc 中文'
    # NUL cannot be stored (PostgreSQL text): refused, not a 500
    nul = post(api, keys["reporter"], service_code="rubbish", description="a\x00b", **IN_M5)
    assert nul.status_code == 400 and "NUL" in nul.json()[0]["description"]


def test_a_retry_creates_nothing(api, keys):
    def total() -> int:
        return ReportPage.model_validate(api.get("/reports", params={"limit": 1}).json()).total

    before = total()
    fields = dict(service_code="parking", description="堵门", device_id="phone-7", **IN_M1)
    retry = {"Idempotency-Key": "k-31"}
    first = post(api, keys["reporter"], headers=retry, **fields)
    again = post(api, keys["reporter"], headers=retry, **fields)
    assert first.status_code == again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert first.json() == again.json()
    # the same Idempotency-Key from another device is another request
    other = post(api, keys["reporter"], headers=retry, **{**fields, "device_id": "phone-8"})
    assert other.json()[0]["service_request_id"] != first.json()[0]["service_request_id"]
    # the same token field, too
    by_token = [post(api, keys["reporter"], token="tok-12345678", **fields) for _ in range(2)]
    assert by_token[0].json() == by_token[1].json()
    assert by_token[0].json()[0]["token"] == "tok-12345678"
    assert total() == before + 3
    # a retry key reused for another request is refused in the spec's shape
    changed = post(api, keys["reporter"], headers=retry, **{**fields, "description": "x"})
    assert changed.status_code == 409
    assert "Idempotency-Key" in changed.json()[0]["description"]


def test_token_finds_its_request(api, keys):
    [created] = post(api, keys["reporter"], service_code="noise", **IN_M1).json()
    for fmt in ("json", "xml"):
        found = api.get(f"{BASE}/tokens/{created['token']}.{fmt}")
        assert found.status_code == 200, found.text
        if fmt == "json":
            [token] = TypeAdapter(list[Open311Token]).validate_python(found.json())
        else:
            [token] = [Open311Token.model_validate(i) for i in xml_items(found.text, "request")]
        assert token.service_request_id == created["service_request_id"]
    assert api.get(f"{BASE}/tokens/o311-unknown00.json").status_code == 404


@pytest.mark.parametrize(
    ("fields", "says"),
    [
        # an address alone: no geocoder, so lat and long are needed
        ({"service_code": "noise", "address_string": "友谊路 1 号"}, "no geocoder"),
        # nothing to place at all
        ({"service_code": "noise"}, "lat and long"),
        # only one coordinate
        ({"service_code": "noise", "lat": "39.1"}, "lat and long"),
        # off the globe
        ({"service_code": "noise", "lat": "95", "long": "117.2"}, "lat"),
        # not a number
        ({"service_code": "noise", "lat": "north", "long": "117.2"}, "lat"),
        # not a service
        ({"service_code": "dragons", **IN_M1}, "noise"),
        # no service declares attributes
        ({"service_code": "noise", "attribute[WHISPER]": "1", **IN_M1}, "attribute"),
        # a field the spec does not have
        ({"service_code": "noise", "colour": "red", **IN_M1}, "colour"),
        # a media_url that is not a web link
        ({"service_code": "noise", "media_url": "file:///etc/passwd", **IN_M1}, "media_url"),
        # a field given twice: which one would be meant?
        ({"service_code": ["noise", "parking"], **IN_M1}, "more than once"),
        # a jurisdiction that is not this one
        ({"service_code": "noise", "jurisdiction_id": "boston", **IN_M1}, "tianjin.hexi"),
    ],
)
def test_bad_requests_get_400_in_the_spec_shape(public, keys, fields, says):
    for fmt in ("json", "xml"):
        answer = post(public, keys["reporter"], fmt, **fields)
        assert answer.status_code == 400, answer.text
        if fmt == "json":
            [error] = TypeAdapter(list[Open311Error]).validate_python(answer.json())
        else:
            root = ET.fromstring(answer.content)
            assert root.tag == "errors"
            [error] = [Open311Error.model_validate(e) for e in xml_items(answer.text, "error")]
        assert error.code == 400 and says in error.description, error.description


def test_keys_and_roles(api, keys):
    no_key = api.post(
        f"{BASE}/requests.json",
        data={"service_code": "noise", **IN_M1},
        headers={"Authorization": ""},
    )
    assert no_key.status_code == 401
    assert "api_key" in no_key.json()[0]["description"]
    planner = post(api, keys["planner"], service_code="noise", **IN_M1)
    assert planner.status_code == 403
    as_header = api.post(
        f"{BASE}/requests.json",
        data={"service_code": "noise", **IN_M1},
        headers=auth(keys["grid_worker"]),
    )
    assert as_header.status_code == 201
    not_a_form = api.post(f"{BASE}/requests.json", json={"service_code": "noise"})
    assert not_a_form.status_code == 415
    # reading needs a key unless public read is on; api_key works as a parameter
    anonymous = api.get(f"{BASE}/requests.json", headers={"Authorization": ""})
    assert anonymous.status_code == 401
    by_param = api.get(
        f"{BASE}/requests.json",
        params={"api_key": keys["grid_worker"]},
        headers={"Authorization": ""},
    )
    assert by_param.status_code == 200


def test_filters_status_dates_ids_and_pages(api, keys):
    [a] = post(api, keys["reporter"], service_code="water_cut", **IN_M5).json()
    [b] = post(api, keys["reporter"], service_code="water_cut", **IN_M1).json()
    rid = b["service_request_id"]
    for step in ("accepted", "resolved"):
        assert api.post(f"/reports/{rid}/transitions", json={"to": step}).status_code == 200

    def ids(**params) -> list[str]:
        answer = api.get(f"{BASE}/requests.json", params=params)
        assert answer.status_code == 200, answer.text
        return [r["service_request_id"] for r in answer.json()]

    assert ids(service_code="water_cut") == [rid, a["service_request_id"]]  # newest first
    assert ids(service_code="water_cut", status="closed") == [rid]
    assert ids(service_code="water_cut", status="open") == [a["service_request_id"]]
    assert ids(service_code="water_cut", status="open,closed", page_size=1, page=2) == [
        a["service_request_id"]
    ]
    both = f"{a['service_request_id']},{rid}"
    assert sorted(ids(service_request_id=both, service_code="noise")) == sorted(both.split(","))
    assert ids(service_code="water_cut", end_date="2020-01-01T00:00:00Z") == []
    total = api.get(f"{BASE}/requests.json", params={"service_code": "water_cut"})
    assert total.headers["X-Total-Count"] == "2"
    too_long = api.get(
        f"{BASE}/requests.json",
        params={"start_date": "2020-01-01T00:00:00Z", "end_date": "2020-06-01T00:00:00Z"},
    )
    assert too_long.status_code == 400 and "90 days" in too_long.json()[0]["description"]
    bad = api.get(f"{BASE}/requests.json", params={"status": "pending"})
    assert bad.status_code == 400 and "open, closed" in bad.json()[0]["description"]
    bad_ids = api.get(f"{BASE}/requests.xml", params={"service_request_id": "1,x"})
    assert bad_ids.status_code == 400 and ET.fromstring(bad_ids.content).tag == "errors"
    unknown = api.get(f"{BASE}/requests.json", params={"sort": "new"})
    assert unknown.status_code == 400 and "sort" in unknown.json()[0]["description"]


def test_escalated_to_a_department_names_it(api, keys):
    [made] = post(api, keys["reporter"], service_code="leaking_pipe", **IN_M1).json()
    rid = made["service_request_id"]
    moved = api.post(
        f"/reports/{rid}/transitions",
        json={"to": "escalated", "escalate_to": "供水集团 Water supply"},
    )
    assert moved.status_code == 200, moved.text
    [request] = api.get(f"{BASE}/requests/{rid}.json").json()
    assert request["agency_responsible"] == "供水集团 Water supply"
    assert request["status_notes"] == "escalated"


def test_media_link_and_photo(api, keys):
    [linked] = post(
        api,
        keys["reporter"],
        service_code="rubbish",
        media_url="https://pics.example/1.jpg",
        **IN_M1,
    ).json()
    [request] = api.get(f"{BASE}/requests/{linked['service_request_id']}.json").json()
    assert request["media_url"] == "https://pics.example/1.jpg"
    jpeg = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(jpeg, "JPEG")
    answer = post(
        api,
        keys["reporter"],
        service_code="rubbish",
        files={"media": ("p.jpg", jpeg.getvalue(), "image/jpeg")},
        **IN_M1,
    )
    assert answer.status_code == 201, answer.text
    rid = answer.json()[0]["service_request_id"]
    [request] = api.get(f"{BASE}/requests/{rid}.json").json()
    assert request["media_url"].startswith("http://testserver/reports/")
    photo = api.get(request["media_url"])
    assert photo.status_code == 200 and photo.headers["content-type"] == "image/jpeg"


def test_public_read_has_no_personal_data(public, api, keys):
    [made] = post(
        api,
        keys["reporter"],
        service_code="noise",
        first_name="Li",
        last_name="Lei",
        phone="13900000000",
        **IN_M1,
    ).json()
    rid = made["service_request_id"]
    anonymous = public.get(f"{BASE}/requests/{rid}.json")
    assert anonymous.status_code == 200
    [request] = anonymous.json()
    assert "reporter_name" not in request and "reporter_phone" not in request
    assert "13900000000" not in public.get(f"{BASE}/requests.xml").text
    listed = public.get(f"{BASE}/requests.json", params={"service_request_id": rid}).json()
    assert [r["service_request_id"] for r in listed] == [rid]
    # a key still gets its role's view; the jurisdiction, when sent, must be this one
    handler = public.get(f"{BASE}/requests/{rid}.json", params={"api_key": keys["dispatcher"]})
    assert handler.json()[0]["reporter_phone"] == "13900000000"
    assert (
        public.get(f"{BASE}/services.json", params={"jurisdiction_id": "tianjin.hexi"}).status_code
        == 200
    )
    wrong = public.get(f"{BASE}/services.json", params={"jurisdiction_id": "boston"})
    assert wrong.status_code == 400 and "tianjin.hexi" in wrong.json()[0]["description"]
    # posting always needs a key
    assert (
        public.post(f"{BASE}/requests.json", data={"service_code": "noise", **IN_M1}).status_code
        == 401
    )
