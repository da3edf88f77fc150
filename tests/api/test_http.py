"""The HTTP edge as the OpenAPI description says: methods and their Allow header, unreadable
bodies, error media types, multipart text in its charset."""

from __future__ import annotations

import pytest

from api.schemas import ErrorBody
from tests.api.conftest import auth, png

#: Every route with a body (role, method, path).
BODY_ROUTES = [
    ("planner", "POST", "/lookup/batch"),
    ("reporter", "POST", "/reports"),
    ("dispatcher", "POST", "/reports/1/transitions"),
    ("reporter", "POST", "/reports/1/rating"),
    ("admin", "POST", "/keys"),
    ("admin", "POST", "/facilities"),
    ("admin", "PATCH", "/facilities/1"),
    ("planner", "POST", "/coverage/suggest"),
    ("planner", "POST", "/bench/noop"),
]


def _documented(client, method: str, path: str) -> set[str]:
    spec = client.app.openapi()
    return set(spec["paths"][path][method.lower()]["responses"])


@pytest.mark.parametrize(
    ("method", "path", "template", "allow"),
    [
        ("PUT", "/reports", "/reports", "GET, POST"),  # two routes, one path
        ("OPTIONS", "/facilities", "/facilities", "GET, POST"),
        ("OPTIONS", "/facilities/1", "/facilities/{facility_id}", "DELETE, GET, PATCH"),
        ("POST", "/keys/1", "/keys/{key_id}", "DELETE"),
        ("PATCH", "/facilities/types", "/facilities/types", "GET"),  # not a facility id
        ("DELETE", "/units/G1", "/units/{code}", "GET"),
    ],
)
def test_a_method_the_path_has_not_gets_405_naming_every_method_it_has(
    client, keys, method, path, template, allow
):
    response = client.request(method, path, headers=auth(keys["admin"]))
    assert response.status_code == 405, response.text
    assert response.headers["Allow"] == allow
    body = ErrorBody.model_validate(response.json())
    assert body.code == "method_not_allowed" and body.allowed == allow
    documented = {m.upper() for m in client.app.openapi()["paths"][template]}
    assert documented == set(allow.split(", "))


@pytest.mark.parametrize(("role", "method", "path"), BODY_ROUTES)
@pytest.mark.parametrize(
    "body",
    [
        b"\xff\xfe\x00{",  # not UTF-8
        b'{"lon": 117.2, ',  # not JSON (cut short)
    ],
)
def test_an_unreadable_body_is_the_same_422_on_every_route(client, keys, role, method, path, body):
    headers = auth(keys[role]) | {"Content-Type": "application/json"}
    response = client.request(method, path, content=body, headers=headers)
    assert response.status_code == 422, response.text
    assert ErrorBody.model_validate(response.json()).code == "invalid_request"
    template = path.replace("/reports/1", "/reports/{report_id}").replace(
        "/facilities/1", "/facilities/{facility_id}"
    )
    assert "422" in _documented(client, method, template)


@pytest.mark.parametrize(
    ("path", "params", "status"),
    [
        ("/maps/density", {"level": "nope"}, 422),
        ("/maps/density", {"colour": "red"}, 422),
        ("/maps/coverage", {"minutes": 0}, 422),
    ],
)
def test_the_map_pages_answer_errors_in_json_as_documented(client, keys, path, params, status):
    response = client.get(path, params=params, headers=auth(keys["planner"]))
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    ErrorBody.model_validate(response.json())
    documented = client.app.openapi()["paths"][path]["get"]["responses"]
    assert set(documented[str(status)]["content"]) == {"application/json"}
    assert set(documented["200"]["content"]) == {"text/html"}


def test_a_browser_without_a_session_is_sent_to_sign_in_as_documented(client):
    response = client.get(
        "/maps/density",
        params={"level": "grid"},
        headers={"Authorization": "", "Accept": "text/html"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/signin?next=%2Fmaps%2Fdensity%3Flevel%3Dgrid"
    assert "303" in _documented(client, "GET", "/maps/density")


@pytest.mark.parametrize(
    ("charset", "field", "status"),
    [
        (None, b"\xe6\xa5\xbc\xe9\x81\x93", 201),  # 楼道 in UTF-8
        (None, b"\xc2\xa5\xb5\xc0", 422),  # 楼道 in GBK: not UTF-8, once stored as "Â¥µÀ"
        (None, b"caf\xe9", 422),  # Latin-1
        ("latin-1", b"caf\xe9", 201),  # what the form says it is
    ],
)
def test_a_multipart_text_field_is_read_in_its_charset_or_refused(
    client, keys, charset, field, status
):
    boundary = "wangge-test-boundary"
    parts = [
        (b"lon", b"117.2025"),
        (b"lat", b"39.1025"),
        (b"category", b"noise"),
        (b"description", field),
    ]
    body = b"".join(
        b'--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n'
        % (boundary.encode(), name, value)
        for name, value in parts
    )
    body += (
        b'--%s\r\nContent-Disposition: form-data; name="photos"; filename="a.png"\r\n'
        b"Content-Type: image/png\r\n\r\n%s\r\n--%s--\r\n"
        % (boundary.encode(), png(), boundary.encode())
    )
    content_type = f"multipart/form-data; boundary={boundary}"
    if charset:
        content_type += f"; charset={charset}"
    headers = auth(keys["reporter"]) | {"Content-Type": content_type}
    response = client.post("/reports", content=body, headers=headers)
    assert response.status_code == status, response.text
    if status == 201:
        assert response.json()["description"] == field.decode(charset or "utf-8")
    else:
        error = ErrorBody.model_validate(response.json())
        assert error.code == "invalid_form" and "description" in error.message
