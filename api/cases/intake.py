"""Intake (点单 -> 派单): a report is checked, assigned to its unit and leader, and written
durably, once, however often the client retries.

New reports are written by one thread in group commits (api.db.writer.GroupWriter): the
answer is sent only once the report, its units, events, photos and idempotency record are
committed. The Idempotency-Key is checked in the same transaction as the insert.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any, NamedTuple

import orjson
from sqlalchemy import Table, insert, select
from sqlalchemy.orm import Session

from api.access.policy import Principal, Role
from api.cases.errors import IdempotencyKeyReused, UnknownCategory
from api.cases.lifecycle import Status
from api.cases.photos import CleanPhoto, store_photo
from api.cases.transitions import event_row
from api.cases.views import iso, report_view
from api.db.bulk import RawInsert, begin_write, rows_with_keys
from api.db.models import (
    HEAT_CELL_M,
    IdempotencyRecord,
    Photo,
    Report,
    ReportEvent,
    ReportUnit,
)
from api.webhooks import outbox
from api.webhooks.cases import intake_events
from geo.grid import grid_cell
from geo.live_index import OpenCase

if TYPE_CHECKING:
    from api.cases.service import Cases

log = logging.getLogger("wangge")

#: The nearest open look-alikes returned with a new report.
MAX_DUPLICATES = 10


@dataclass(frozen=True)
class Submission:
    """A new report as plain values: where (and in which coordinate system), what, who.

    ``reported_at`` is when it was reported, for reports imported from another system (the
    time of intake when None).
    """

    lon: float
    lat: float
    category: str
    crs: str = "wgs84"
    description: str = ""
    address: str | None = None
    name: str | None = None
    phone: str | None = None
    reported_at: datetime | None = None
    #: A link to media held elsewhere (Open311's media_url): kept with the submission event,
    #: never fetched.
    media_url: str | None = None


@dataclass(frozen=True)
class Receipt:
    """The answer to a submission: the new (or replayed) report as the caller sees it."""

    status_code: int
    body: dict[str, Any]
    replayed: bool
    #: The body as JSON, when it came so from a writer process (sent as it is).
    encoded: bytes | None = field(default=None, compare=False, repr=False)

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled with its body as JSON: a writer process's answer, read on the event loop
        (a body's dict pickles in 8.5 us and loads in 12; its JSON in 1.7 and 2.5)."""
        encoded = self.encoded if self.encoded is not None else orjson.dumps(self.body)
        return (_received, (self.status_code, encoded, self.replayed))

    def json(self) -> bytes:
        """The body as JSON."""
        return self.encoded if self.encoded is not None else orjson.dumps(self.body)


def _received(status_code: int, encoded: bytes, replayed: bool) -> Receipt:
    return Receipt(status_code, orjson.loads(encoded), replayed, encoded)


@dataclass
class Job:
    """A new report, assigned and checked, waiting for the writer."""

    principal: Principal
    key: str | None
    request_hash: str
    row: dict[str, Any]
    units: list[dict[str, Any]]
    photos: list[dict[str, Any]]
    events: list[dict[str, Any]]
    duplicates: list[dict[str, Any]]
    reason: str | None
    #: The answer as it will be sent, but for the id the insert gives it: built before the
    #: job reaches the writer's transaction, so that holds only the inserts. None for a
    #: report with photos (their ids and URLs come from the insert too).
    payload: dict[str, Any] | None = None


class Draft(NamedTuple):
    """A report checked and placed, before its rows are built (:func:`complete`).

    What only the event loop's process can work out (the category, the place, the look-alikes
    among the open cases it holds), as plain values that pickle in microseconds: a writer in
    another process is sent this and builds the rows, the request's hash and the answer
    there, off the loop's interpreter lock.
    """

    principal: tuple[Any, ...]  # (key_id, role, unit_code, name, team_id)
    key: str | None
    submission: tuple[Any, ...]  # Submission's fields, in order
    category: str
    department: str | None
    sla_hours: float
    placed: dict[str, Any]  # BoundaryIndex.place's description of the place
    lon: float
    lat: float
    now: datetime
    boundary_set: str
    version_id: int | None
    duplicates: tuple[tuple[int, float, datetime], ...]  # (id, metres, created_at)
    photos: tuple[dict[str, Any], ...]  # the stored photos' rows


_SUBMITTED = [f.name for f in fields(Submission)]


def submit(
    cases: Cases,
    principal: Principal,
    submission: Submission,
    photos: list[CleanPhoto],
    idempotency_key: str | None,
) -> Receipt:
    """Assign, store and acknowledge one report (through the group writer when there is one)."""
    draft, stored = _place(cases, principal, submission, photos, idempotency_key)
    try:
        if cases.writer is not None:
            answer = cases.writer.submit(_for_writer(cases, draft))
        else:
            answer = _write_alone(cases, complete(draft))
    except BaseException:
        _forget(cases, stored)
        raise
    return _settle(cases, draft, stored, answer)


async def submit_async(
    cases: Cases, principal: Principal, submission: Submission, idempotency_key: str | None
) -> Receipt:
    """``submit`` for a report without photos, from the event loop: placed on the loop (a
    point's assignment and look-alikes take a fraction of a millisecond, less than a hop to a
    thread and back) and awaited while the group writer commits it, no thread held waiting."""
    draft, stored = _place(cases, principal, submission, [], idempotency_key)
    if cases.writer is not None:
        answer = await cases.writer.submit_async(_for_writer(cases, draft))
    else:
        answer = await asyncio.to_thread(_write_alone, cases, complete(draft))
    return _settle(cases, draft, stored, answer)


def _for_writer(cases: Cases, draft: Draft) -> Wire | Job:
    """What the writer is sent: the draft to a writer in another process, which completes it
    there (off this process's interpreter lock); else the job, completed here, outside the
    writer's transaction."""
    assert cases.writer is not None
    return _to_wire(draft) if cases.writer.in_other_process else complete(draft)


#: A draft as sent to a writer process (:func:`_to_wire`).
Wire = tuple[Any, ...]


def _to_wire(draft: Draft) -> Wire:
    """The draft as a plain tuple, its datetimes as timestamps: a named tuple pickles through
    Python code, and so does a datetime's time zone (8.5 us a draft, against 3.6)."""
    return (
        *draft[:9],
        _instant(draft.now),
        draft.boundary_set,
        draft.version_id,
        tuple((i, metres, _instant(at)) for i, metres, at in draft.duplicates),
        draft.photos,
    )


def _from_wire(wire: Wire) -> Draft:
    *head, now, boundary_set, version_id, duplicates, photos = wire
    dated = tuple((i, metres, _at(at)) for i, metres, at in duplicates)
    return Draft._make([*head, _at(now), boundary_set, version_id, dated, photos])


def _instant(at: datetime) -> float | datetime:
    """An aware datetime as its POSIX timestamp (exact to the microsecond for centuries
    around now; :func:`_at` gives it back in UTC, the zone every stored time is in). A naive
    one as it is, for the database to refuse."""
    return at.timestamp() if at.tzinfo is not None else at


def _at(instant: float | datetime) -> datetime:
    """The datetime of :func:`_instant`."""
    return instant if isinstance(instant, datetime) else datetime.fromtimestamp(instant, UTC)


def _write_alone(cases: Cases, job: Job) -> Receipt:
    with cases.db.session() as session:
        [answer] = write_jobs(session, [job])
        session.commit()
    return answer


def submit_many(
    cases: Cases, principal: Principal, submissions: list[tuple[Submission, str | None]]
) -> list[Receipt]:
    """Assign and store many reports (each with its Idempotency-Key) in one transaction."""
    drafts = [_place(cases, principal, s, [], key)[0] for s, key in submissions]
    with cases.db.session() as session:
        answers = write_jobs(session, [complete(draft) for draft in drafts])
        session.commit()
    return [_settle(cases, d, [], answer) for d, answer in zip(drafts, answers, strict=True)]


def _settle(cases: Cases, draft: Draft, stored: list[Path], answer: Receipt) -> Receipt:
    if answer.status_code == 409:
        _forget(cases, stored)
        raise IdempotencyKeyReused(
            "this Idempotency-Key was used before with a different request",
            allowed="a new key for a new request; the same key only to retry the same one",
        )
    if answer.replayed:
        _forget(cases, stored)
    else:
        cases.open_cases.add(
            OpenCase(answer.body["id"], draft.category, draft.lon, draft.lat, draft.now)
        )
    return answer


def _place(
    cases: Cases,
    principal: Principal,
    submission: Submission,
    photos: list[CleanPhoto],
    idempotency_key: str | None,
) -> tuple[Draft, list[Path]]:
    """Check the category, assign the place, find look-alikes, store the photos: the draft
    and the photos' paths (to remove if the report is not written)."""
    category = cases.categories.get(submission.category)
    if category is None:
        raise UnknownCategory(
            f"unknown category {submission.category!r}", allowed=", ".join(sorted(cases.categories))
        )
    active = cases.boundaries.current  # one version for the whole placement
    index = active.index
    found = index.place(submission.lon, submission.lat, submission.crs)
    if found is not None:  # inside a unit: the answer without arrays
        placed, lon, lat = found
    else:
        result = index.assign([submission.lon], [submission.lat], crs=submission.crs)
        placed = index.describe(result, 0)
        lon, lat = float(result.lon[0]), float(result.lat[0])
    now = submission.reported_at or cases.clock()
    settings = cases.settings
    nearby = cases.open_cases.nearby(
        lon,
        lat,
        category.code,
        category.duplicate_radius_m or settings.duplicate_radius_m,
        now - timedelta(hours=settings.duplicate_window_hours),
    )
    stored = [store_photo(settings.media, photo) for photo in photos]
    draft = Draft(
        principal=(
            principal.key_id,
            principal.role.value,
            principal.unit_code,
            principal.name,
            principal.team_id,
        ),
        key=idempotency_key,
        submission=tuple(getattr(submission, name) for name in _SUBMITTED),
        category=category.code,
        department=category.department,
        sla_hours=category.sla_hours,
        placed=placed,
        lon=lon,
        lat=lat,
        now=now,
        boundary_set=index.bset.name,
        version_id=active.version_id,
        duplicates=tuple(
            (d.case.id, round(d.distance_m, 1), d.case.created_at) for d in nearby[:MAX_DUPLICATES]
        ),
        photos=tuple(
            {
                "path": str(path),
                "content_type": ph.content_type,
                "bytes": len(ph.data),
                "sha256": ph.sha256,
            }
            for path, ph in zip(stored, photos, strict=True)
        ),
    )
    return draft, stored


def complete(draft: Draft) -> Job:
    """The draft's rows (report, events), request hash and answer: the job to write."""
    key_id, role, unit, name, team_id = draft.principal
    principal = Principal(key_id, Role(role), unit, name, team_id)
    submission = Submission(*draft.submission)
    placed, now = draft.placed, draft.now
    leader = placed["leader"]
    unit_code = placed["units"][-1]["code"] if placed["units"] else None
    row = {
        "category": draft.category,
        "description": submission.description,
        "address": submission.address,
        "reporter_name": submission.name,
        "reporter_phone": submission.phone,
        "submitted_by": principal.key_id,
        "lon": draft.lon,
        "lat": draft.lat,
        "input_crs": str(submission.crs),
        "input_lon": submission.lon,
        "input_lat": submission.lat,
        # routed at once (派单) when the place has a responsible unit; else the queue
        "status": (Status.ASSIGNED if unit_code else Status.SUBMITTED).value,
        "assignment": placed["status"],
        "distance_m": placed["distance_m"],
        "unit_code": unit_code,
        "leader_unit": leader["unit_code"] if leader else None,
        "leader_name": leader["name"] if leader else None,
        "leader_phone": leader["phone"] if leader else None,
        "leader_id": leader["id"] if leader else None,
        "boundary_set": draft.boundary_set,
        "boundary_version_id": draft.version_id,
        "department": draft.department,
        "duplicate_of": None,
        "created_at": now,
        "updated_at": now,
        "due_at": now + timedelta(hours=draft.sla_hours),
        "resolved_at": None,
        "closed_at": None,
        "rating": None,
        "rating_comment": None,
    }
    where: dict[str, Any] = {
        "lon": submission.lon,
        "lat": submission.lat,
        "crs": str(submission.crs),
    }
    if submission.media_url:
        where["media_url"] = submission.media_url
    events = [
        event_row(principal, None, Status.SUBMITTED, submission.description[:200], where, now)
    ]
    if unit_code:
        events.append(
            event_row(
                None,
                Status.SUBMITTED,
                Status.ASSIGNED,
                placed["reason"] or "",
                {
                    "unit_code": unit_code,
                    "assignment": placed["status"],
                    "boundary_version_id": draft.version_id,
                },
                now,
            )
        )
    duplicates = [
        {"id": case_id, "distance_m": metres, "status": "open", "created_at": created_at}
        for case_id, metres, created_at in draft.duplicates
    ]
    photos = list(draft.photos)
    return Job(
        principal=principal,
        key=draft.key,
        request_hash=_request_hash(submission, [p["sha256"] for p in photos]),
        row=row,
        units=placed["units"],
        photos=photos,
        events=events,
        duplicates=duplicates,
        reason=placed["reason"],
        payload=(
            None  # their ids and URLs come from the insert
            if photos
            else _answer(0, row, placed["units"], [], principal, duplicates, placed["reason"])
        ),
    )


def write_drafts(session: Session, drafts: list[Wire]) -> list[Receipt]:
    """:func:`write_jobs` for drafts as sent (:func:`_to_wire`), completed here (a writer
    process's handler)."""
    return write_jobs(session, [complete(_from_wire(draft)) for draft in drafts])


def _answer(
    report_id: int,
    row: dict[str, Any],
    units: list[dict[str, Any]],
    photos: list[dict[str, Any]],
    principal: Principal,
    duplicates: list[dict[str, Any]],
    reason: str | None,
) -> dict[str, Any]:
    """The 201's body (as stored for replays) from the values written."""
    view = report_view(
        SimpleNamespace(id=report_id, **row),
        [SimpleNamespace(**u) for u in units],
        [SimpleNamespace(**p) for p in photos],
        principal,
        now=row["created_at"],
        duplicates=[{**d, "created_at": iso(d["created_at"])} for d in duplicates],
        reason=reason,
    )
    # a new report's only datetimes are these (jsonable would walk the whole answer)
    for name in _TIMES:
        if view[name] is not None:
            view[name] = iso(view[name])
    return view


_TIMES = ("created_at", "updated_at", "due_at", "resolved_at", "closed_at")


def write_jobs(session: Session, jobs: list[Job]) -> list[Receipt]:
    """Write a batch of new reports with one statement per table (the writer's job).

    Runs on the one thread that writes reports, so the idempotency checks here cannot race
    with another intake; a key repeated within the batch replays its first use.
    """
    results: list[Receipt | None] = [None] * len(jobs)
    connection = session.connection()
    begin_write(connection)  # the keys are read in the transaction that writes
    known = _known_keys(session, jobs)
    first: dict[tuple[str, str], int] = {}
    fresh: list[int] = []
    for n, job in enumerate(jobs):
        if job.key:
            ident = (job.principal.client, job.key)
            record = known.get(ident)
            if record is not None:
                same = record.request_hash == job.request_hash
                results[n] = (
                    Receipt(record.status_code, record.response, True)
                    if same
                    else Receipt(409, {}, False)
                )
                continue
            if ident in first:
                continue  # settled below, once its first use has an answer
            first[ident] = n
        fresh.append(n)
    if fresh:
        # The driver's own executemany, statements compiled once (api.db.bulk): the
        # writer's Python time is the intake's ceiling
        ids = _raw(connection, Report, REPORT_COLUMNS).returning_ids(
            connection, [_with_heat_cell(jobs[n].row) for n in fresh]
        )
        units: list[dict[str, Any]] = []
        events: list[dict[str, Any]] = []
        records: list[dict[str, Any]] = []
        for n, report_id in zip(fresh, ids, strict=True):
            job = jobs[n]
            units += [{"report_id": report_id, "depth": d, **u} for d, u in enumerate(job.units)]
            events += [{"report_id": report_id, **e} for e in job.events]
            photo_ids = (
                _insert_returning(
                    connection, Photo, [{"report_id": report_id, **p} for p in job.photos]
                )
                if job.photos
                else []
            )
            if job.payload is not None:
                payload = {**job.payload, "id": report_id}
            else:
                photos = [{"id": i, **p} for i, p in zip(photo_ids, job.photos, strict=True)]
                payload = _answer(
                    report_id, job.row, job.units, photos, job.principal, job.duplicates, job.reason
                )
            results[n] = Receipt(201, payload, False)
            if job.key:
                records.append(
                    {
                        "client": job.principal.client,
                        "key": job.key,
                        "request_hash": job.request_hash,
                        "status_code": 201,
                        "response": payload,
                        "created_at": job.row["created_at"],
                    }
                )
        for model, rows in (
            (ReportUnit, units),
            (ReportEvent, events),
            (IdempotencyRecord, records),
        ):
            if rows:
                _raw(connection, model, tuple(rows[0])).execute(connection, rows)
        # the webhooks' events, in the same transaction (one executemany for the batch),
        # built only when somebody subscribes
        if outbox.subscribed(session):
            written = [(i, jobs[n]) for n, i in zip(fresh, ids, strict=True)]
            outbox.record(session, intake_events(written), checked=True)
    for n, job in enumerate(jobs):
        if results[n] is None:  # a key repeated within the batch: as its first use
            origin = first[(job.principal.client, job.key or "")]
            answer = results[origin]
            assert answer is not None
            same = jobs[origin].request_hash == job.request_hash
            results[n] = (
                Receipt(answer.status_code, answer.body, True) if same else Receipt(409, {}, False)
            )
    done = [r for r in results if r is not None]
    assert len(done) == len(jobs)
    return done


#: The columns of a new report's row (``_prepare``'s, and its heat cell).
REPORT_COLUMNS = (
    "category", "description", "address", "reporter_name", "reporter_phone", "submitted_by",
    "lon", "lat", "input_crs", "input_lon", "input_lat", "status", "assignment", "distance_m",
    "unit_code", "leader_unit", "leader_name", "leader_phone", "leader_id", "boundary_set",
    "boundary_version_id", "department", "duplicate_of", "created_at", "updated_at", "due_at",
    "resolved_at", "closed_at", "rating", "rating_comment", "heat_x", "heat_y",
)  # fmt: skip

_RAW: dict[tuple[str, str, tuple[str, ...]], RawInsert] = {}


def _raw(connection: Any, model: Any, columns: tuple[str, ...]) -> RawInsert:
    """The table's compiled insert of these columns for the connection's dialect."""
    dialect = connection.dialect
    key = (dialect.name, model.__tablename__, columns)
    found = _RAW.get(key)
    if found is None:
        found = _RAW[key] = RawInsert(dialect, _table(model), columns)
    return found


def _with_heat_cell(row: dict[str, Any]) -> dict[str, Any]:
    """The row with its heat cell (the column's default, computed here: RawInsert applies
    no Python defaults)."""
    x, y = grid_cell(row["lon"], row["lat"], HEAT_CELL_M)
    return {**row, "heat_x": x, "heat_y": y}


def _table(model: Any) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _insert_returning(connection: Any, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    table = _table(model)
    statement = insert(table).returning(table.c.id, sort_by_parameter_order=True)
    return list(connection.execute(statement, rows).scalars())


def _known_keys(session: Session, jobs: list[Job]) -> dict[tuple[str, str], Any]:
    """The records of the batch's (client, key) pairs, found through the keys' index (read
    on the driver's cursor: this runs for every batch of the writer)."""
    wanted = {(job.principal.client, job.key) for job in jobs if job.key}
    if not wanted:
        return {}
    rows = rows_with_keys(
        session.connection(),
        _table(IdempotencyRecord),
        "key",
        sorted({key for _, key in wanted}),
        ("client", "key", "request_hash", "status_code", "response"),
    )
    return {
        (r["client"], r["key"]): SimpleNamespace(**r)
        for r in rows
        if (r["client"], r["key"]) in wanted
    }


def recorded_report(session: Session, key: str, client: str | None = None) -> int | None:
    """The id of the report first made with this Idempotency-Key (the caller's own record
    first when ``client`` is given), or None: Open311's tokens are such keys."""
    table = _table(IdempotencyRecord)
    rows = session.connection().execute(
        select(table.c.client, table.c.response).where(table.c.key == key)
    )
    found = sorted(rows, key=lambda r: r.client != client)
    return int(found[0].response["id"]) if found else None


def _forget(cases: Cases, stored: list[Path]) -> None:
    for path in stored:
        (cases.settings.media / path).unlink(missing_ok=True)


_HASHED = [f.name for f in fields(Submission) if f.name != "reported_at"]


def _request_hash(submission: Submission, photo_hashes: list[str]) -> str:
    # the fields one by one (asdict would deep-copy each value): the same JSON, the same hash
    values = {name: getattr(submission, name) for name in _HASHED}
    values["reported_at"] = submission.reported_at.isoformat() if submission.reported_at else None
    if submission.media_url is None:  # absent: the hash of every report made before it existed
        del values["media_url"]
    digest = hashlib.sha256(json.dumps(values, sort_keys=True, ensure_ascii=False).encode())
    for sha256 in photo_hashes:
        digest.update(sha256.encode())
    return digest.hexdigest()


def sweep_orphan_photos(session: Session, media: Path, *, older_than_s: float = 600.0) -> int:
    """Delete photo files that no report refers to: left by a crash between the photo's write
    and its report's commit. Only files older than ``older_than_s`` go, so a photo that another
    worker has just written for a report not yet committed stays. Returns how many went."""
    if not media.is_dir():
        return 0
    known = set(session.scalars(select(Photo.path)))
    cutoff = time.time() - older_than_s
    removed = 0
    for path in media.glob("*/*"):
        relative = str(path.relative_to(media))
        if path.is_file() and relative not in known and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    if removed:
        log.warning("removed %d photo file(s) with no report under %s", removed, media)
    return removed
