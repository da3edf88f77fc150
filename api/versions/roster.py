"""The leader roster: people appointed to lead units (by code) for a period, apart from the
geometry.

A unit has at most one appointment in force: appointing someone ends the current appointment
when the new one starts; ending one leaves the unit without a leader (the responsible leader of
its cases is then the leader of the nearest unit above that has one). An appointment starts now
or in the past (a change recorded a few days late), never in the future: a change takes effect
when it is recorded, so that every open case can be told at once (``leader_changed`` events).

The whole roster lives in memory (a city's leaders and their changes are tens of thousands of
rows) and is read again whenever another process changes it (the ``roster`` change counter).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from api.db.models import LeaderAppointment
from api.planning.imports import ParsedFile, RowProblem, _csv_rows, _read_text
from api.versions.errors import InvalidAppointment, NoCurrentLeader
from geo.units import LEADER_COLUMNS, BoundarySet

#: How far ahead of this server's clock a start may be (another machine's clock).
CLOCK_SKEW = timedelta(minutes=5)
#: What a phone number may look like (as for reporters).
PHONE = re.compile(r"^[0-9+\-() ]{3,50}$")
ROSTER_COLUMNS = ("code", "leader_name", "leader_phone", "leader_id", "since")


@dataclass(frozen=True)
class Appointment:
    id: int
    unit_code: str
    name: str | None
    phone: str | None
    person_id: str | None
    since: datetime
    until: datetime | None
    appointed_by: str
    ended_by: str | None
    source: str

    def holds_at(self, at: datetime) -> bool:
        return self.since <= at and (self.until is None or at < self.until)


#: The columns of leader_appointments in the order of Appointment's fields.
APPOINTMENT_FIELDS = (
    "id",
    "unit_code",
    "name",
    "phone",
    "person_id",
    "since",
    "until",
    "appointed_by",
    "ended_by",
    "source",
)


class Roster:
    """Every appointment, to answer who led which unit at any time."""

    def __init__(self, appointments: Iterable[Appointment]) -> None:
        self.appointments = sorted(appointments, key=lambda a: (a.since, a.id))
        self._current = {a.unit_code: a for a in self.appointments if a.until is None}

    @classmethod
    def read(cls, session: Session) -> Roster:
        columns = [getattr(LeaderAppointment, f) for f in APPOINTMENT_FIELDS]
        return cls(Appointment(*row) for row in session.execute(select(*columns)))

    def current(self, code: str) -> Appointment | None:
        """The appointment in force (open-ended) for a unit."""
        return self._current.get(code)

    def at(self, at: datetime | None = None) -> dict[str, Appointment]:
        """The appointment in force for each unit at a time (None: now)."""
        if at is None:
            return dict(self._current)
        return {a.unit_code: a for a in self.appointments if a.holds_at(at)}

    def key(self, at: datetime | None = None) -> tuple[int, ...]:
        """What the leaders at a time are made of (for caching views of them)."""
        return tuple(sorted(a.id for a in self.at(at).values()))

    def table(self, at: datetime | None = None) -> pd.DataFrame:
        """The leaders at a time, as :meth:`geo.units.BoundarySet.with_leaders` takes them."""
        held = list(self.at(at).values())
        return pd.DataFrame(
            {
                "code": [a.unit_code for a in held],
                "leader_name": [a.name for a in held],
                "leader_phone": [a.phone for a in held],
                "leader_id": [a.person_id for a in held],
            },
            columns=["code", *LEADER_COLUMNS],
        )

    def history(self, code: str) -> list[Appointment]:
        """A unit's appointments, oldest first."""
        return [a for a in self.appointments if a.unit_code == code]


def check_since(since: datetime, now: datetime, current: Appointment | None) -> datetime:
    """The start of a new appointment, checked: not in the future, not before the current one."""
    since = since if since.tzinfo else since.replace(tzinfo=UTC)
    if since > now + CLOCK_SKEW:
        raise InvalidAppointment(
            f"since {since.isoformat()} is in the future",
            allowed="now or a past time: a change takes effect when it is recorded",
        )
    if current is not None and since < current.since:
        raise InvalidAppointment(
            f"since {since.isoformat()} is before the current leader's start "
            f"({current.since.isoformat()})",
            allowed=f"a time from {current.since.isoformat()} on",
        )
    return min(since, now)


@dataclass(frozen=True)
class NewLeader:
    """A person to appoint to a unit from a time (None: now)."""

    code: str
    name: str
    phone: str | None = None
    person_id: str | None = None
    since: datetime | None = None


def appoint(
    session: Session,
    roster: Roster,
    leaders: list[NewLeader],
    *,
    actor: str,
    source: str,
    now: datetime,
) -> list[str]:
    """Record new leaders (in the caller's transaction); the codes whose leader changed.

    Each ends the appointment before it when it starts: the one in force, or the previous new
    leader of the same unit (they take effect in the order of their start).
    """
    by_code: dict[str, list[tuple[datetime, NewLeader]]] = {}
    for leader in leaders:
        if not leader.name.strip():
            raise InvalidAppointment("a leader needs a name", allowed="a non-empty name")
        current = roster.current(leader.code)
        start = check_since(leader.since or now, now, current)
        by_code.setdefault(leader.code, []).append((start, leader))
    rows = []
    for code, entries in by_code.items():
        entries.sort(key=lambda e: e[0])
        current = roster.current(code)
        if current is not None:
            session.execute(
                update(LeaderAppointment)
                .where(LeaderAppointment.id == current.id)
                .values(until=entries[0][0], ended_by=actor)
            )
        for n, (start, leader) in enumerate(entries):
            until = entries[n + 1][0] if n + 1 < len(entries) else None
            rows.append(
                {
                    "unit_code": code,
                    "name": leader.name.strip(),
                    "phone": leader.phone,
                    "person_id": leader.person_id,
                    "since": start,
                    "until": until,
                    "appointed_by": actor,
                    "ended_by": actor if until is not None else None,
                    "source": source,
                    "created_at": now,
                }
            )
    if rows:
        session.execute(insert(LeaderAppointment), rows)
    return list(by_code)


def end_appointment(
    session: Session, roster: Roster, code: str, *, actor: str, now: datetime
) -> None:
    """End the current appointment of a unit, with no successor (in the caller's transaction)."""
    current = roster.current(code)
    if current is None:
        raise NoCurrentLeader(
            f"unit {code} has no leader now", allowed="PUT /units/{code}/leader to appoint one"
        )
    session.execute(
        update(LeaderAppointment)
        .where(LeaderAppointment.id == current.id)
        .values(until=max(now, current.since), ended_by=actor)
    )


def seed_from_file(
    session: Session, roster: Roster, bset: BoundarySet, *, version_id: int, now: datetime
) -> list[str]:
    """Appoint the leaders a version's file names to the units that have none (in the caller's
    transaction); the codes seeded."""
    units = bset.units
    named = units[units[list(LEADER_COLUMNS)].notna().any(axis=1)]
    rows = []
    for code, name, phone, person in named[["code", *LEADER_COLUMNS]].itertuples(
        index=False, name=None
    ):
        if roster.current(code) is None:
            rows.append(
                {
                    "unit_code": code,
                    "name": name,
                    "phone": phone,
                    "person_id": person,
                    "since": now,
                    "until": None,
                    "appointed_by": f"version {version_id}",
                    "source": f"boundary file of version {version_id}",
                    "created_at": now,
                }
            )
    if rows:
        session.execute(insert(LeaderAppointment), rows)
    return [r["unit_code"] for r in rows]


def appointment_view(a: Appointment, *, with_phone: bool) -> dict[str, Any]:
    return {
        "name": a.name,
        "phone": a.phone if with_phone else None,
        "id": a.person_id,
        "since": a.since,
        "until": a.until,
        "appointed_by": a.appointed_by,
        "ended_by": a.ended_by,
        "source": a.source,
    }


# -- roster files ----------------------------------------------------------------------------


def read_roster_file(path: Path, bset: BoundarySet, roster: Roster, *, now: datetime) -> ParsedFile:
    """A roster CSV (code, leader_name, leader_phone, leader_id, since) checked row by row:
    every bad row named by its line, as for the planning imports.

    Rows of one unit take effect in the order of their ``since``; each must start after the
    appointment before it (the one in force, or the previous row).
    """
    parsed = ParsedFile(path=path)
    text, parsed.encoding = _read_text(path)
    header, rows = _csv_rows(path, text, parsed, ROSTER_COLUMNS)
    missing = [c for c in ("code", "leader_name") if c not in header]
    if missing:
        parsed.problems.append(
            RowProblem(1, f"the header lacks {', '.join(missing)}; it has {', '.join(header)}")
        )
        return parsed
    latest: dict[str, datetime] = {}
    known = bset.positions([row.values["code"] for row in rows]) >= 0
    for row, in_set in zip(rows, known, strict=True):
        values = row.values
        code = values["code"]
        try:
            if not in_set:
                raise ValueError(f"unit {code!r} is not in the active boundary version")
            if not values.get("leader_name"):
                raise ValueError("leader_name is empty")
            phone = values.get("leader_phone") or None
            if phone is not None and not PHONE.match(phone):
                raise ValueError(f"leader_phone {phone!r} is not a phone number")
            since = _parse_time(values.get("since", ""), now)
            if since > now + CLOCK_SKEW:
                raise ValueError(f"since {since.isoformat()} is in the future")
            current = roster.current(code)
            floor = latest.get(code) or (current.since if current else None)
            if floor is not None and since < floor:
                raise ValueError(
                    f"since {since.isoformat()} is before the start of the appointment before "
                    f"it ({floor.isoformat()})"
                )
        except ValueError as exc:
            parsed.problems.append(RowProblem(row.line, str(exc)))
            continue
        latest[code] = since
        parsed.rows.append(
            {
                "line": row.line,
                "leader": NewLeader(
                    code=code,
                    name=values["leader_name"],
                    phone=phone,
                    person_id=values.get("leader_id") or None,
                    since=since,
                ),
            }
        )
    parsed.sort()
    return parsed


def _parse_time(text: str, now: datetime) -> datetime:
    """An ISO 8601 date or time (no zone: UTC); empty is now."""
    if not text.strip():
        return now
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            f"since {text!r} is not an ISO 8601 date or time (e.g. 2026-12-01 or "
            "2026-12-01T08:00+08:00)"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
