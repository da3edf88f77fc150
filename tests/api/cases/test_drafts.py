"""A report's draft as the event loop sends it to the writer process: plain values, back the
same."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta, timezone

import orjson
from hypothesis import given
from hypothesis import strategies as st

from api.cases.intake import Draft, Receipt, _at, _from_wire, _instant, _to_wire


@given(st.datetimes(min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1)))
def test_a_time_goes_as_a_timestamp_and_comes_back_the_same_to_the_microsecond(naive):
    for zone in (UTC, timezone(timedelta(hours=8)), timezone(timedelta(hours=-3, minutes=-30))):
        at = naive.replace(tzinfo=zone)
        back = _at(pickle.loads(pickle.dumps(_instant(at))))
        assert back == at  # the same instant
        assert back.tzinfo is UTC  # in the zone times are stored in


def test_a_naive_time_goes_as_it_is_for_the_database_to_refuse():
    naive = datetime(2026, 1, 1, 8, 0)
    assert _at(_instant(naive)) is naive


def test_a_draft_with_look_alikes_comes_back_equal():
    now = datetime(2026, 12, 4, 9, 30, 15, 123457, tzinfo=timezone(timedelta(hours=8)))
    draft = Draft(
        principal=(7, "reporter", None, "app", None),
        key="k-1",
        submission=(117.2, 39.1, "noise", "gcj02", "很吵", None, None, None, now, None),
        category="noise",
        department="城管",
        sla_hours=48.0,
        placed={"status": "assigned", "units": [{"level": "district", "code": "120103"}]},
        lon=117.19,
        lat=39.09,
        now=now,
        boundary_set="hexi",
        version_id=3,
        duplicates=tuple((i, 12.5 + i, now - timedelta(minutes=i)) for i in range(10)),
        photos=(),
    )
    wire = pickle.loads(pickle.dumps(_to_wire(draft)))
    assert type(wire) is tuple  # no class to pickle by name
    assert _from_wire(wire) == draft


def test_a_receipt_goes_as_its_json_and_comes_back_equal_and_sent_as_it_came():
    body = {"id": 5, "status": "assigned", "lon": 117.19, "units": [{"code": "120103"}]}
    back = pickle.loads(pickle.dumps(Receipt(201, body, False)))
    assert back == Receipt(201, body, False)
    assert back.encoded is not None and back.json() is back.encoded  # not encoded again
    assert orjson.loads(back.json()) == body
    assert Receipt(201, body, True).json() == orjson.dumps(body)  # made here: encoded once
