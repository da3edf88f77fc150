"""OGC API - Features through the real app, on SQLite and PostGIS: documents, paging, bbox,
property filters, roles and personal data, errors."""

from __future__ import annotations

import pytest
import shapely
from fastapi.testclient import TestClient

from api.schemas import ErrorBody
from api.standards.ogc import CONFORMANCE, MAX_LIMIT
from tests.api.conftest import auth

OGC = "/ogc/collections"


@pytest.fixture(scope="module")
def cases(api: TestClient, keys: dict[str, str]) -> list[int]:
    """Two reports: one in M1 (grid G1) with the reporter's phone, one in M5 (grid G2)."""
    made = []
    for lon, lat in [(117.202, 39.102), (117.212, 39.105)]:
        answer = api.post(
            "/reports",
            json={"lon": lon, "lat": lat, "category": "noise", "phone": "13700000000"},
            headers=auth(keys["reporter"]),
        )
        assert answer.status_code == 201, answer.text
        made.append(answer.json()["id"])
    return made


def test_landing_conformance_and_api_need_no_key(api):
    landing = api.get("/ogc", headers={"Authorization": ""})
    assert landing.status_code == 200
    rels = {link["rel"]: link for link in landing.json()["links"]}
    assert {"self", "service-desc", "conformance", "data"} <= set(rels)
    assert rels["service-desc"]["type"] == "application/vnd.oai.openapi+json;version=3.0"
    conformance = api.get("/ogc/conformance", headers={"Authorization": ""}).json()
    assert conformance["conformsTo"] == CONFORMANCE
    definition = api.get("/ogc/api", headers={"Authorization": ""}).json()
    assert definition["openapi"].startswith("3.0")
    items = definition["paths"]["/ogc/collections/{collectionId}/items"]["get"]
    limit = next(p for p in items["parameters"] if p["name"] == "limit")
    assert limit["schema"]["maximum"] == MAX_LIMIT


def test_collections_follow_the_roles(api, keys):
    def ids(role: str) -> list[str]:
        answer = api.get(OGC, headers=auth(keys[role]))
        assert answer.status_code == 200
        return [c["id"] for c in answer.json()["collections"]]

    assert ids("dispatcher") == ["district", "grid", "microgrid", "facilities", "reports"]
    assert ids("planner") == ["district", "grid", "microgrid", "facilities"]
    assert ids("reporter") == ["district", "grid", "microgrid", "reports"]
    micro = api.get(f"{OGC}/microgrid").json()
    assert micro["extent"]["spatial"]["bbox"] == [[117.2, 39.1, 117.215, 39.11]]
    assert micro["crs"] == ["http://www.opengis.net/def/crs/OGC/1.3/CRS84"]
    refused = api.get(f"{OGC}/reports/items", headers=auth(keys["planner"]))
    assert refused.status_code == 403
    assert "planner" not in ErrorBody.model_validate(refused.json()).allowed
    unknown = api.get(f"{OGC}/street/items")
    assert unknown.status_code == 404 and "microgrid" in unknown.json()["description"]


def test_items_page_to_the_end_with_links(api):
    seen, url = [], f"{OGC}/microgrid/items?limit=3"
    while url:
        page = api.get(url)
        assert page.status_code == 200 and page.headers["content-type"] == "application/geo+json"
        body = page.json()
        assert body["numberMatched"] == 4 and body["numberReturned"] == len(body["features"])
        seen += [f["id"] for f in body["features"]]
        links = {link["rel"]: link["href"] for link in body["links"]}
        assert "self" in links
        url = links.get("next")
    assert seen == ["M1", "M2", "M3", "M5"]
    second = api.get(f"{OGC}/microgrid/items", params={"limit": 3, "offset": 3}).json()
    assert [link["rel"] for link in second["links"]] == ["self", "prev"]
    # a limit above the maximum is served as the maximum, not refused
    assert api.get(f"{OGC}/microgrid/items", params={"limit": 10**9}).status_code == 200


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        # the box of M1 alone, well inside it
        ({"bbox": "117.201,39.101,117.204,39.104"}, ["M1"]),
        # a box on the shared edge of M1 and M2 touches both
        ({"bbox": "117.205,39.101,117.205001,39.102"}, ["M1", "M2"]),
        # inside the hole of M3: M3 does not cover it, G1's micro-grids do not either
        ({"bbox": "117.2063,39.1073,117.2067,39.1077"}, []),
        # far away
        ({"bbox": "100,30,101,31"}, []),
        # a property filter on the parent
        ({"parent": "G2"}, ["M5"]),
        # filters and bbox together
        ({"parent": "G1", "bbox": "117.20,39.10,117.22,39.11"}, ["M1", "M2", "M3"]),
        # the leader's name
        ({"leader_name": "刘洋"}, ["M2"]),
    ],
)
def test_bbox_and_property_filters(api, params, expected):
    body = api.get(f"{OGC}/microgrid/items", params=params).json()
    assert [f["id"] for f in body["features"]] == expected
    assert body["numberMatched"] == len(expected)


def test_unit_features_and_phones(api, keys):
    feature = api.get(f"{OGC}/microgrid/items/M1").json()
    assert feature["type"] == "Feature" and feature["id"] == "M1"
    props = feature["properties"]
    assert props == {
        "code": "M1",
        "name": "微网格1",
        "level": "microgrid",
        "parent": "G1",
        "leader_name": "王芳",
        "leader_phone": props["leader_phone"],
    }
    assert props["leader_phone"].startswith("100-")
    assert shapely.geometry.shape(feature["geometry"]).equals(
        shapely.box(117.20, 39.10, 117.205, 39.105)
    )
    planner = api.get(f"{OGC}/microgrid/items/M1", headers=auth(keys["planner"])).json()
    assert "leader_phone" not in planner["properties"]
    assert api.get(f"{OGC}/microgrid/items/G1").status_code == 404


@pytest.mark.parametrize(
    ("params", "says"),
    [
        ({"bbox": "1,2,3"}, "bbox"),
        ({"bbox": "117.3,39,117.2,39.1"}, "inverted"),
        ({"limit": 0}, "limit"),
        ({"offset": -1}, "offset"),
        ({"datetime": "2026-01-01T00:00:00Z"}, "datetime only for reports"),
        ({"status": "open"}, "code, name, parent, leader_name"),
        ({"colour": "red"}, "colour"),
        ({"f": "html"}, "f"),
    ],
)
def test_bad_parameters_get_400(api, params, says):
    answer = api.get(f"{OGC}/microgrid/items", params=params)
    assert answer.status_code == 400, answer.text
    body = answer.json()
    assert ErrorBody.model_validate(body) and says in body["description"], body


def test_reports_follow_visibility_and_privacy(api, keys, cases):
    def features(role: str, **params):
        answer = api.get(f"{OGC}/reports/items", params=params, headers=auth(keys[role]))
        assert answer.status_code == 200, answer.text
        return answer.json()["features"]

    mine = [f for f in features("dispatcher") if f["id"] in cases]
    assert {f["id"] for f in mine} == set(cases)
    assert all(f["properties"]["reporter_phone"] == "13700000000" for f in mine)
    worker = [f for f in features("grid_worker") if f["id"] in cases]
    assert [f["id"] for f in worker] == [cases[0]]  # G1's case only
    assert worker[0]["properties"]["reporter_phone"] == "13700000000"
    reporter = features("reporter")
    assert {f["id"] for f in reporter} >= set(cases)
    assert all("reporter_phone" not in f["properties"] for f in reporter)
    point = features("dispatcher", bbox="117.211,39.104,117.213,39.106")
    assert [f["id"] for f in point] == [cases[1]]
    assert point[0]["geometry"] == {"type": "Point", "coordinates": [117.212, 39.105]}
    assert features("dispatcher", unit="G2", category="noise")[0]["id"] == cases[1]
    assert features("dispatcher", datetime="2000-01-01T00:00:00Z/2000-02-01T00:00:00Z") == []
    assert len(features("dispatcher", datetime="2000-01-01T00:00:00Z/..")) >= 2
    other = api.get(f"{OGC}/reports/items/{cases[1]}", headers=auth(keys["grid_worker"]))
    assert other.status_code == 404
    one = api.get(f"{OGC}/reports/items/{cases[0]}", headers=auth(keys["grid_worker"]))
    assert one.json()["properties"]["unit_code"] == "M1"
    bad = api.get(f"{OGC}/reports/items", params={"status": "sleeping"})
    assert bad.status_code == 400 and "assigned" in bad.json()["description"]


def test_facilities_collection(api, keys):
    made = api.post(
        "/facilities",
        json={"type": "elderly_care", "name": "友谊路养老中心", "lon": 117.203, "lat": 39.103},
        headers=auth(keys["admin"]),
    )
    assert made.status_code == 201, made.text
    body = api.get(f"{OGC}/facilities/items", params={"type": "elderly_care"}).json()
    [feature] = [f for f in body["features"] if f["id"] == made.json()["id"]]
    assert feature["properties"]["name"] == "友谊路养老中心"
    assert feature["geometry"]["coordinates"] == [117.203, 39.103]
    assert api.get(f"{OGC}/facilities/items/{feature['id']}").json()["id"] == feature["id"]
    unknown = api.get(f"{OGC}/facilities/items", params={"type": "zoo"})
    assert unknown.status_code == 400
    reporter = api.get(f"{OGC}/facilities/items", headers=auth(keys["reporter"]))
    assert reporter.status_code == 403
