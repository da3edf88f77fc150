"""GET /units, GET /units/{code}, GET /health and the shape of every error."""

import pytest

from api.schemas import ErrorBody, Health, UnitCollection, UnitFeature


def test_health(client):
    response = client.get("/health")
    assert response.status_code == 200
    health = Health.model_validate(response.json())
    assert [(lv.name, lv.units) for lv in health.boundaries.levels] == [
        ("district", 1),
        ("grid", 2),
        ("microgrid", 4),
    ]
    assert health.boundaries.source_crs == "wgs84"
    # the suite's own apps write in a thread (tests/conftest.py)
    assert (health.writer.runs_in, health.writer.alive) == ("thread", True)


def test_units_by_level_paginated(client):
    page = UnitCollection.model_validate(
        client.get("/units", params={"level": "microgrid", "limit": 3}).json()
    )
    assert page.numberMatched == 4 and page.numberReturned == 3
    assert [f.id for f in page.features] == ["M1", "M2", "M3"]
    rest = UnitCollection.model_validate(
        client.get("/units", params={"level": "microgrid", "limit": 3, "offset": 3}).json()
    )
    assert [f.id for f in rest.features] == ["M5"]


def test_units_by_parent(client):
    page = UnitCollection.model_validate(client.get("/units", params={"parent": "G1"}).json())
    assert [f.id for f in page.features] == ["M1", "M2", "M3"]
    assert all(f.properties.parent == "G1" for f in page.features)


def test_unit_feature(client):
    response = client.get("/units/G1")
    assert response.status_code == 200
    unit = UnitFeature.model_validate(response.json())
    assert unit.id == "G1"
    assert unit.properties.name == "第一网格"
    assert unit.properties.level == "grid"
    assert unit.properties.parent == "D"
    assert unit.properties.children == 3
    assert unit.properties.leader is not None and unit.properties.leader.name == "李娜"
    assert unit.properties.properties == {"households": 20}
    assert unit.geometry["type"] == "Polygon"


def test_unit_hole_survives(client):
    unit = UnitFeature.model_validate(client.get("/units/M3").json())
    assert len(unit.geometry["coordinates"]) == 2  # exterior and the hole


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/units/NOPE", {}, 404, "unit_not_found"),  # unknown code
        ("/units", {"level": "province"}, 422, "unknown_level"),  # unknown level
        ("/units", {"parent": "NOPE"}, 404, "unit_not_found"),  # unknown parent
        ("/units", {"limit": 0}, 422, "invalid_request"),  # limit below 1
        ("/units", {"limit": 5000}, 422, "invalid_request"),  # limit above 1000
        ("/units", {"offset": -1}, 422, "invalid_request"),  # negative offset
        ("/units", {"page": 2}, 422, "unknown_parameter"),  # unknown parameter
        ("/nowhere", {}, 404, "not_found"),  # unknown route
    ],
)
def test_errors_have_one_shape(client, path, params, status, code):
    response = client.get(path, params=params)
    assert response.status_code == status, response.text
    body = ErrorBody.model_validate(response.json())
    assert body.code == code
    assert body.message


def test_wrong_method_names_allowed(client):
    response = client.delete("/units/G1")
    assert response.status_code == 405
    assert ErrorBody.model_validate(response.json()).code == "method_not_allowed"


def test_openapi_documents_examples(client):
    spec = client.get("/openapi.json").json()
    assert "/lookup" in spec["paths"] and "/lookup/batch" in spec["paths"]
    batch = spec["paths"]["/lookup/batch"]["post"]["requestBody"]["content"]["application/json"]
    assert "examples" in batch
