"""POST /reports answered by the fast intake (api.routers.fast_intake) gives what the FastAPI
route gives, for good reports and bad; anything out of the common case reaches the route."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.schemas import ReportOut
from api.settings import Settings
from geo.crs import wgs84_to_gcj02
from tests.api.conftest import auth, make_client

M1_GCJ = tuple(float(v) for v in wgs84_to_gcj02(117.2025, 39.1025))
#: What differs between two reports made from the same body: who they are and when.
OWN = {"id", "created_at", "updated_at", "due_at", "possible_duplicates"}


@pytest.fixture(scope="module", params=["thread", "process"])
def served(
    backend: Settings, request: pytest.FixtureRequest
) -> Iterator[tuple[TestClient, TestClient, dict[str, str]]]:
    """The service (its requests through the fast intake) and the same running service seen
    through FastAPI's whole stack alone; its reports written in a thread, or by a child
    process as ``wangge serve`` writes them."""
    settings = backend.model_copy(update={"max_body_bytes": 5_000, "writer": request.param})
    client, keys = make_client(settings)
    for key in keys.values():  # each key read once (a key not yet cached goes to the route)
        client.get("/categories", headers=auth(key))
    try:
        yield client, TestClient(client.app.full_stack), keys  # type: ignore[attr-defined]
    finally:
        client.__exit__(None, None, None)


def body(**overrides: object) -> dict[str, object]:
    return {
        "lon": M1_GCJ[0],
        "lat": M1_GCJ[1],
        "crs": "gcj02",
        "category": "flying_wires",
        "description": "楼道里有电动车飞线充电",
        "phone": "13800000000",
    } | overrides


class Counts:
    """How many requests the fast intake answered and passed on while the block ran."""

    def __init__(self, client: TestClient) -> None:
        self.intake = client.app.intake  # type: ignore[attr-defined]

    def __enter__(self) -> Counts:
        self.start = (self.intake.answered, self.intake.passed_on)
        return self

    def __exit__(self, *_: object) -> None:
        self.answered = self.intake.answered - self.start[0]
        self.passed_on = self.intake.passed_on - self.start[1]


def test_a_report_is_answered_as_the_route_answers_it(served):
    fast, full, keys = served
    headers = auth(keys["reporter"])
    before = fast.get("/health").json()["writer"]
    with Counts(fast) as counts:
        a = fast.post("/reports", json=body(), headers=headers | {"Idempotency-Key": "same-1"})
    b = full.post("/reports", json=body(), headers=headers | {"Idempotency-Key": "same-2"})
    assert (counts.answered, counts.passed_on) == (1, 0)
    assert a.status_code == b.status_code == 201, a.text
    first, second = ReportOut.model_validate(a.json()), ReportOut.model_validate(b.json())
    assert second.id == first.id + 1
    assert {k: v for k, v in a.json().items() if k not in OWN} == {
        k: v for k, v in b.json().items() if k not in OWN
    }
    # the second sees the first as a look-alike, whichever path made each
    assert first.id in [d.id for d in second.possible_duplicates]
    assert a.headers["location"] == f"/reports/{first.id}"
    assert a.headers["content-type"] == b.headers["content-type"] == "application/json"
    assert int(a.headers["content-length"]) == len(a.content)
    # the report is stored, and read back as it was answered
    stored = full.get(f"/reports/{first.id}", headers=auth(keys["dispatcher"])).json()
    assert stored["assignment"] == a.json()["assignment"]
    assert stored["input"] == a.json()["input"]
    # /health counts both with the writer's batches (one each: they came one after the other)
    after = fast.get("/health").json()["writer"]
    assert after["reports"] - before["reports"] == after["batches"] - before["batches"] == 2
    assert 0 < after["busy"] <= 1


def test_a_child_writer_answers_as_a_writer_in_the_server(backend):
    """A child process builds the 201 itself (the server's loop does not): the same answer."""
    answers = {}
    for writer in ("thread", "process"):
        client, keys = make_client(backend.model_copy(update={"writer": writer}))
        try:
            headers = auth(keys["reporter"]) | {"Idempotency-Key": f"either-{writer}"}
            answers[writer] = client.post("/reports", json=body(), headers=headers)
        finally:
            client.__exit__(None, None, None)
    thread, process = answers["thread"], answers["process"]
    assert thread.status_code == process.status_code == 201, process.text
    assert {k: v for k, v in process.json().items() if k not in OWN} == {
        k: v for k, v in thread.json().items() if k not in OWN
    }
    assert set(process.json()) == set(thread.json())


def test_a_retry_replays_the_first_answer_and_another_body_is_refused(served):
    fast, full, keys = served
    headers = auth(keys["reporter"]) | {"Idempotency-Key": "retry-fast"}
    first = fast.post("/reports", json=body(description="retry"), headers=headers)
    again = fast.post("/reports", json=body(description="retry"), headers=headers)
    assert again.status_code == 201 and again.json() == first.json()
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    # through either path, the same key with another body: the same 409
    with Counts(fast) as counts:
        refused = fast.post("/reports", json=body(description="other"), headers=headers)
    assert counts.answered == 1
    also = full.post("/reports", json=body(description="other"), headers=headers)
    assert refused.status_code == also.status_code == 409
    assert refused.json() == also.json()
    assert refused.json()["code"] == "idempotency_key_reused"


LONG_KEY = "k" * 201


@pytest.mark.parametrize(
    ("name", "content", "headers", "url", "passed_on"),
    [
        ("unknown category", json.dumps(body(category="ufo")), {}, "/reports", True),
        ("unknown field", json.dumps(body(colour="red")), {}, "/reports", True),
        ("broken JSON", '{"lon": 117.2, "lat":', {}, "/reports", True),
        ("not an object", "[1, 2]", {}, "/reports", True),
        ("a string for a number", json.dumps(body(lon="117.2")), {}, "/reports", True),
        ("an unknown query parameter", json.dumps(body()), {}, "/reports?colour=red", True),
        ("an Idempotency-Key too long", json.dumps(body()), {"Idempotency-Key": LONG_KEY},
         "/reports", True),
        ("a text body", "lon=117.2", {"Content-Type": "text/plain"}, "/reports", True),
        ("a body over the limit", json.dumps(body(description="长" * 3_000)), {}, "/reports",
         True),
        ("latitude out of range", json.dumps(body(lat=95)), {}, "/reports", False),
        ("NaN", json.dumps(body(lon=float("nan"))), {}, "/reports", False),
        ("an unknown system", json.dumps(body(crs="mars")), {}, "/reports", False),
    ],
)  # fmt: skip
def test_a_bad_report_gets_the_routes_answer(served, name, content, headers, url, passed_on):
    fast, full, keys = served
    sent = {"Content-Type": "application/json"} | auth(keys["reporter"]) | headers
    with Counts(fast) as counts:
        a = fast.post(url, content=content, headers=sent)
    b = full.post(url, content=content, headers=sent)
    assert 400 <= a.status_code < 500, (name, a.text)
    assert (a.status_code, a.json()) == (b.status_code, b.json()), name
    assert (counts.passed_on, counts.answered) == ((1, 0) if passed_on else (0, 1)), name


@pytest.mark.parametrize(
    ("name", "headers", "status"),
    [
        ("no key", {}, 401),
        ("an unknown key", {"Authorization": "Bearer wg_00000000_nothing"}, 401),
        ("a planner's key", "planner", 403),
        ("an empty Bearer beside a good X-API-Key", "empty-bearer", 401),
        ("X-API-Key alone", "x-api-key", 201),
        ("Bearer first, then X-API-Key", "bearer-first", 403),
    ],
)
def test_keys_are_read_as_the_route_reads_them(served, name, headers, status):
    fast, full, keys = served
    if headers == "planner":
        headers = auth(keys["planner"])
    elif headers == "empty-bearer":
        headers = {"Authorization": "Bearer ", "X-API-Key": keys["reporter"]}
    elif headers == "x-api-key":
        headers = {"X-API-Key": keys["reporter"]}
    elif headers == "bearer-first":
        headers = {"X-API-Key": keys["reporter"]} | auth(keys["planner"])
    a = fast.post("/reports", json=body(), headers=headers)
    b = full.post("/reports", json=body(), headers=headers)
    assert a.status_code == b.status_code == status, (name, a.text)
    if status != 201:
        assert a.json() == b.json()


def test_a_streamed_body_reaches_the_route(served):
    """Without a Content-Length (chunked), the body is the route's to read and limit."""
    fast, _, keys = served
    sent = json.dumps(body(description="streamed")).encode()
    with Counts(fast) as counts:
        answer = fast.post(
            "/reports",
            content=iter([sent[:10], sent[10:]]),
            headers=auth(keys["reporter"]) | {"Content-Type": "application/json"},
        )
    assert answer.status_code == 201, answer.text
    assert (counts.answered, counts.passed_on) == (0, 1)
    assert answer.json()["description"] == "streamed"


def test_a_key_over_its_rate_is_refused_once_and_nothing_is_written(backend, tmp_path):
    settings = backend.model_copy(update={"rate_limit_per_minute": 3, "data_dir": tmp_path})
    client, keys = make_client(settings)
    try:
        headers = auth(keys["reporter"])
        listed = client.get("/reports", headers=auth(keys["dispatcher"]))
        before = listed.json()["total"]  # (the PostGIS database is the module's)
        answers = [client.post("/reports", json=body(description=f"r{i}"), headers=headers)
                   for i in range(4)]  # fmt: skip
        assert [a.status_code for a in answers] == [201, 201, 201, 429]
        assert answers[3].json()["code"] == "rate_limited"
        assert int(answers[3].headers["retry-after"]) >= 1
        listed = client.get("/reports", headers=auth(keys["dispatcher"]))
        assert listed.json()["total"] == before + 3
    finally:
        client.__exit__(None, None, None)
