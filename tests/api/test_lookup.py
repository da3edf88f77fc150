"""GET /lookup and POST /lookup/batch through the real app."""

import json

import pytest

from api.schemas import BatchResult, ErrorBody, LookupResult
from geo.crs import wgs84_to_gcj02


def _ok(response, model):
    assert response.status_code == 200, response.text
    return model.model_validate(response.json())


def _error(response, status, code):
    assert response.status_code == status, response.text
    body = ErrorBody.model_validate(response.json())
    assert body.code == code
    assert body.message
    return body


def test_lookup_full_chain_and_leader(client):
    got = _ok(client.get("/lookup", params={"lon": 117.2025, "lat": 39.1025}), LookupResult)
    assert got.status == "assigned"
    assert [(u.level, u.code) for u in got.units] == [
        ("district", "D"),
        ("grid", "G1"),
        ("microgrid", "M1"),
    ]
    assert got.units[0].name == "河西区"
    assert got.leader is not None
    assert (got.leader.name, got.leader.unit_code, got.leader.phone) == (
        "王芳",
        "M1",
        "100-0000-0000",
    )
    assert got.distance_m == 0


def test_lookup_gcj02_phone_location(client):
    lon, lat = wgs84_to_gcj02(117.2075, 39.1025)  # the middle of M2, as Amap reports it
    got = _ok(
        client.get("/lookup", params={"lon": float(lon), "lat": float(lat), "crs": "gcj02"}),
        LookupResult,
    )
    assert got.units[-1].code == "M2"
    assert got.lon == pytest.approx(117.2075, abs=1e-7)


@pytest.mark.parametrize(
    ("params", "status"),
    [
        ({"lon": 117.2065, "lat": 39.1075}, "gap"),  # hole in M3
        ({"lon": 117.2025, "lat": 39.0999}, "snapped"),  # 11 m south of M1
        ({"lon": 117.3, "lat": 39.3}, "unassigned"),  # far away
    ],
)
def test_lookup_statuses(client, params, status):
    got = _ok(client.get("/lookup", params=params), LookupResult)
    assert got.status == status
    assert got.reason


@pytest.mark.parametrize(
    ("params", "code", "allowed_hint"),
    [
        ({"lon": "nan", "lat": 39.1}, "invalid_coordinates", "-180"),  # NaN
        ({"lon": "inf", "lat": 39.1}, "invalid_coordinates", "-180"),  # infinity
        ({"lon": 117.2, "lat": 95}, "invalid_coordinates", "-90"),  # latitude out of range
        ({"lon": 200, "lat": 39.1}, "invalid_coordinates", "-180"),  # longitude out of range
        ({"lon": 117.2, "lat": 39.1, "crs": "mars"}, "unknown_crs", "gcj02"),  # unknown system
        ({"lon": "abc", "lat": 39.1}, "invalid_request", "/docs"),  # not a number
        ({"lat": 39.1}, "invalid_request", "/docs"),  # missing lon
        ({"lon": 117.2, "lat": 39.1, "srid": 4326}, "unknown_parameter", "crs"),  # unknown field
    ],
)
def test_lookup_bad_input_is_a_clear_4xx(client, params, code, allowed_hint):
    body = _error(client.get("/lookup", params=params), 422, code)
    assert allowed_hint in (body.allowed or "")


def test_batch_points(client):
    points = [[117.2025, 39.1025], [117.2065, 39.1075], [117.3, 39.3]]
    got = _ok(client.post("/lookup/batch", json={"crs": "wgs84", "points": points}), BatchResult)
    assert got.count == 3
    assert [r.status for r in got.results] == ["assigned", "gap", "unassigned"]
    assert got.summary == {"assigned": 1, "gap": 1, "unassigned": 1}
    # the batch answers exactly what single lookups answer
    for (lon, lat), result in zip(points, got.results, strict=True):
        single = client.get("/lookup", params={"lon": lon, "lat": lat}).json()
        assert result.model_dump() == LookupResult.model_validate(single).model_dump()


def test_batch_geojson_feature_collection(client):
    lon, lat = wgs84_to_gcj02(117.2025, 39.1025)
    fc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": "r-1",
                "geometry": {"type": "Point", "coordinates": [float(lon), float(lat)]},
                "properties": {"note": "x"},
            }
        ],
    }
    got = _ok(client.post("/lookup/batch", params={"crs": "gcj02"}, json=fc), BatchResult)
    assert got.results[0].id == "r-1"
    assert got.results[0].units[-1].code == "M1"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        # one bad point refuses the batch and names it: nothing is silently dropped
        ({"points": [[117.2, 39.1], [117.2, 91.0]]}, 422, "invalid_coordinates"),
        ({"points": [[117.2, 39.1]], "colour": "red"}, 422, "invalid_request"),  # unknown field
        ({"points": [[117.2]]}, 422, "invalid_request"),  # not a pair
        ({"crs": "bd10", "points": [[117.2, 39.1]]}, 422, "unknown_crs"),  # unknown system
        ({"points": [[117.2, 39.1]] * 51}, 413, "batch_too_large"),  # over the configured 50
        (
            {
                "type": "FeatureCollection",
                "features": [
                    {
                        "type": "Feature",
                        "geometry": {"type": "LineString", "coordinates": [[1, 2], [3, 4]]},
                    }
                ],
            },
            422,
            "invalid_request",
        ),
    ],
)
def test_batch_bad_input(client, body, status, code):
    _error(client.post("/lookup/batch", json=body), status, code)


def test_batch_bad_point_names_its_index(client):
    body = _error(
        client.post("/lookup/batch", json={"points": [[117.2, 39.1], [117.2, 91.0]]}),
        422,
        "invalid_coordinates",
    )
    assert body.details["invalid"][0]["index"] == 1


def test_oversize_body_is_413(client):
    points = [[117.2025, 39.1025]] * 2000  # about 40 kB, over the configured 20 kB
    body = json.dumps({"points": points})
    _error(
        client.post("/lookup/batch", content=body, headers={"content-type": "application/json"}),
        413,
        "body_too_large",
    )


def test_oversize_streamed_body_without_length_is_413(client):
    chunk = json.dumps({"points": [[117.2025, 39.1025]] * 2000}).encode()

    def stream():
        for k in range(0, len(chunk), 4096):
            yield chunk[k : k + 4096]

    _error(
        client.post(
            "/lookup/batch", content=stream(), headers={"content-type": "application/json"}
        ),
        413,
        "body_too_large",
    )


def test_malformed_json_is_422(client):
    response = client.post(
        "/lookup/batch", content=b"{not json", headers={"content-type": "application/json"}
    )
    _error(response, 422, "invalid_request")
