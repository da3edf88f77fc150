"""Two activations at the same moment, on a real SQLite file and a real PostGIS database: they
do not interleave (one activates, the other finds the version active), and every open case is
re-routed once."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from api.schemas import EventOut
from api.versions.schemas import VersionOut
from tests.api.conftest import auth
from tests.api.versions.conftest import IN_M3, upload


def test_concurrent_activations_do_not_interleave(stored, next_year_gpkg):
    api, keys = stored
    admin = auth(keys["admin"])
    made = api.post(
        "/reports",
        json={"lon": IN_M3[0], "lat": IN_M3[1], "category": "noise"},
        headers=auth(keys["reporter"]),
    )
    assert made.status_code == 201, made.text
    draft = VersionOut.model_validate(upload(api, keys["admin"], next_year_gpkg).json())

    def activate(_: int):  # type: ignore[no-untyped-def]
        return api.post(f"/boundaries/versions/{draft.id}/activate", headers=admin)

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(activate, range(2)))
    assert sorted(a.status_code for a in answers) == [200, 409], [a.text for a in answers]
    refused = next(a for a in answers if a.status_code == 409).json()
    assert refused["code"] in ("already_active", "activation_in_progress")
    events = [
        EventOut.model_validate(e) for e in api.get(f"/reports/{made.json()['id']}/events").json()
    ]
    assert [e.kind for e in events].count("rerouted") == 1
    states = {v["id"]: v["state"] for v in api.get("/boundaries/versions").json()}
    assert list(states.values()).count("active") == 1 and states[draft.id] == "active"
