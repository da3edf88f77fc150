"""The OpenAPI description, tested from outside by schemathesis against a real server process.

Every operation, with a key of every role, gets generated requests: examples, boundary and
invalid values (the coverage phase), then random ones valid and invalid (fuzzing). The run
fails on any 5xx, any status code, content type, header or body the description does not
document, invalid data accepted, a method it does not list answered otherwise than 405 with
the right Allow. Fixed seed and a bounded number of examples: the same run every time, about
two minutes on two cores, in one process (schemathesis's own workers are not needed).

Left out: ``positive_data_acceptance``, which expects every schema-valid request to succeed;
many are refused by what no schema can say (a level the loaded boundaries do not have, a
category not in the catalogue, coordinates outside their system), with a documented 4xx.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import schemathesis

from api.access.keys import create_key
from api.access.policy import Role
from api.db import Database
from api.main import create_app
from api.settings import Settings
from tests.api.conftest import auth
from tests.api.process import running_server

EXAMPLES = 12  # per operation, role and generation mode
SEED = 20261201

CONFIG = schemathesis.Config.from_dict(
    {
        "seed": SEED,
        "generation": {"max-examples": EXAMPLES, "deterministic": True},
        "checks": {"positive_data_acceptance": {"enabled": False}},
        # Hypothesis's health checks time the generation of data, which on a loaded machine
        # fails for reasons that are not the service's
        "suppress-health-check": ["all"],
    }
)


@pytest.fixture(scope="module")
def served(tiny_gpkg: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, dict]]:
    """`wangge serve` on the tiny boundaries, a key per role, and a few cases to act on."""
    data = tmp_path_factory.mktemp("contract")
    env = {**os.environ, "WANGGE_BOUNDARIES": str(tiny_gpkg), "WANGGE_DATA_DIR": str(data)}
    env["WANGGE_RATE_LIMIT_PER_MINUTE"] = "1000000"
    settings = Settings(boundaries=str(tiny_gpkg), data_dir=data)
    db = Database(settings.database)
    keys: dict[str, str] = {}
    with db.session() as session:
        for role in Role:
            unit = "G1" if role == Role.GRID_WORKER else None
            _, keys[role.value] = create_key(session, role, unit_code=unit, name=role.value)
    db.dispose()
    with running_server(env) as base:
        assert httpx.get(f"{base}/openapi.json").json() == DESCRIPTION
        for lon in (117.2025, 117.2075, 117.2125):  # in M1, M2 and M5: cases with ids 1, 2, 3
            made = httpx.post(
                f"{base}/reports",
                json={"lon": lon, "lat": 39.1025, "category": "noise", "phone": "13800000000"},
                headers=auth(keys["reporter"]),
            )
            assert made.status_code == 201, made.text
        facility = {"type": "elderly_care", "name": "养老中心", "lon": 117.205, "lat": 39.105}
        assert httpx.post(
            f"{base}/facilities", json=facility, headers=auth(keys["admin"])
        ).is_success
        yield base, keys


#: The description as the app builds it (no boundaries needed for that); the server serves the
#: same one, which the fixture checks.
DESCRIPTION = create_app(Settings()).openapi()
#: The standards' routes speak their own error shapes (Open311's list of errors, OGC's), which
#: their own tests and real clients check (tests/api/standards); holding them to this
#: description as well is still to do.
STANDARDS = r"^/(open311|ogc|tiles)(/|$)"
schema = schemathesis.openapi.from_dict(DESCRIPTION, config=CONFIG).exclude(path_regex=STANDARDS)


@pytest.mark.parametrize("role", [r.value for r in Role])
@schema.parametrize()
def test_the_service_keeps_its_openapi_description(case, role, served):  # type: ignore[no-untyped-def]
    base, keys = served
    if case.method == "DELETE" and case.path == "/keys/{key_id}":
        # revoking the run's own keys would leave every later request a 401: their ids (1 to
        # 5) stand in for the id of no key
        if str(case.path_parameters.get("key_id")) in {str(i) for i in range(1, len(Role) + 1)}:
            case.path_parameters["key_id"] = 999_999
    case.call_and_validate(base_url=base, headers=auth(keys[role]))
