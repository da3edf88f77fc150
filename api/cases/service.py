"""Reports: intake (idempotent, durable), the lifecycle, queries and statistics."""

from __future__ import annotations

import hashlib
import statistics
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sqlalchemy import Select, Table, and_, func, insert, select, update
from sqlalchemy.orm import Session

from api.access.policy import Principal, Role
from api.cases.lifecycle import ACTORS, DONE, OPEN, Status, allowed_next
from api.cases.photos import CleanPhoto, store_photo
from api.db import Database
from api.db.models import Category, IdempotencyRecord, Photo, Report, ReportEvent, ReportUnit
from api.db.writer import GroupWriter
from api.errors import ApiError
from api.schemas import ReportIn, TransitionIn
from api.settings import Settings
from geo.assign import BoundaryIndex
from geo.errors import UnitNotFound
from geo.live_index import OpenCase, OpenCaseIndex

SYSTEM = "system"
#: The nearest open look-alikes returned with a new report.
MAX_DUPLICATES = 10


@dataclass
class Reports:
    """Everything the report routes need: settings, boundaries, database, open-case index."""

    settings: Settings
    index: BoundaryIndex
    db: Database
    categories: dict[str, Category] = field(default_factory=dict)
    open_cases: OpenCaseIndex = field(default_factory=OpenCaseIndex)
    #: Batches intake writes into shared commits (None: each report commits alone).
    writer: GroupWriter[_Intake, tuple[int, dict[str, Any], bool]] | None = None

    # -- start-up ---------------------------------------------------------------------------

    def load(self) -> None:
        """Read the catalogue and rebuild the open-case index from the database."""
        with self.db.session() as session:
            self.categories = {c.code: c for c in session.scalars(select(Category))}
            for expunge in self.categories.values():
                session.expunge(expunge)
            rows = session.execute(
                select(Report.id, Report.category, Report.lon, Report.lat, Report.created_at).where(
                    Report.status.in_([s.value for s in OPEN])
                )
            )
            for row in rows:
                self.open_cases.add(
                    OpenCase(row.id, row.category, row.lon, row.lat, row.created_at)
                )

    # -- intake -----------------------------------------------------------------------------

    def create(
        self,
        principal: Principal,
        body: ReportIn,
        photos: list[CleanPhoto],
        idempotency_key: str | None,
    ) -> tuple[int, dict[str, Any], bool]:
        """Assign, store and acknowledge a report: (status code, response body, replayed).

        The answer is given only once the report, its units, events, photos and idempotency
        record are committed (photos are fsynced before that).
        """
        # The writer checks the Idempotency-Key in the same transaction as the insert (a
        # retry then costs an assignment for nothing, but every first try saves a query).
        request_hash = _request_hash(body, photos)
        job = self.prepare(principal, body, photos, idempotency_key, request_hash)
        try:
            if self.writer is not None:
                status, payload, replayed = self.writer.submit(job)
            else:
                with self.db.session() as session:
                    [(status, payload, replayed)] = self.write_intakes(session, [job])
                    session.commit()
        except BaseException:
            self._forget(job.stored)
            raise
        if status == 409:
            self._forget(job.stored)
            raise _reused_key()
        if replayed:
            self._forget(job.stored)
        else:
            self.track_new(job, payload["id"])
        return status, payload, replayed

    def track_new(self, job: _Intake, report_id: int) -> None:
        """Put a newly written report into the open-case index."""
        row = job.row
        self.open_cases.add(
            OpenCase(report_id, row["category"], row["lon"], row["lat"], row["created_at"])
        )

    def prepare(
        self,
        principal: Principal,
        body: ReportIn,
        photos: list[CleanPhoto],
        idempotency_key: str | None,
        request_hash: str,
        *,
        now: datetime | None = None,
    ) -> _Intake:
        """Everything but the write: check the category, assign the place, find look-alikes,
        store the photos. ``now`` is the intake time (the demo backdates its reports)."""
        category = self.categories.get(body.category)
        if category is None:
            raise ApiError(
                422,
                "unknown_category",
                f"unknown category {body.category!r}",
                allowed=", ".join(sorted(self.categories)),
            )
        result = self.index.assign([body.lon], [body.lat], crs=body.crs)
        placed = self.index.describe(result, 0)
        now = now or datetime.now(UTC)
        lon, lat = float(result.lon[0]), float(result.lat[0])
        nearby = self.open_cases.nearby(
            lon,
            lat,
            category.code,
            category.duplicate_radius_m or self.settings.duplicate_radius_m,
            now - timedelta(hours=self.settings.duplicate_window_hours),
        )
        leader = placed["leader"]
        unit_code = placed["units"][-1]["code"] if placed["units"] else None
        row = {
            "category": category.code,
            "description": body.description,
            "address": body.address,
            "reporter_name": body.name,
            "reporter_phone": body.phone,
            "submitted_by": principal.key_id,
            "lon": lon,
            "lat": lat,
            "input_crs": str(body.crs),
            "input_lon": body.lon,
            "input_lat": body.lat,
            # routed at once (派单) when the place has a responsible unit; else the queue
            "status": (Status.ASSIGNED if unit_code else Status.SUBMITTED).value,
            "assignment": placed["status"],
            "distance_m": placed["distance_m"],
            "unit_code": unit_code,
            "leader_unit": leader["unit_code"] if leader else None,
            "leader_name": leader["name"] if leader else None,
            "leader_phone": leader["phone"] if leader else None,
            "boundary_set": self.index.bset.name,
            "department": category.department,
            "duplicate_of": None,
            "created_at": now,
            "updated_at": now,
            "due_at": now + timedelta(hours=category.sla_hours),
            "resolved_at": None,
            "closed_at": None,
            "rating": None,
            "rating_comment": None,
        }
        events = [
            _event_row(
                principal,
                None,
                Status.SUBMITTED,
                body.description[:200],
                {"lon": body.lon, "lat": body.lat, "crs": str(body.crs)},
                now,
            )
        ]
        if unit_code:
            events.append(
                _event_row(
                    None,
                    Status.SUBMITTED,
                    Status.ASSIGNED,
                    placed["reason"] or "",
                    {"unit_code": unit_code, "assignment": placed["status"]},
                    now,
                )
            )
        stored = [store_photo(self.settings.media, photo) for photo in photos]
        job = _Intake(
            principal=principal,
            key=idempotency_key,
            request_hash=request_hash,
            row=row,
            units=placed["units"],
            photos=[
                {
                    "path": str(path),
                    "content_type": ph.content_type,
                    "bytes": len(ph.data),
                    "sha256": ph.sha256,
                }
                for path, ph in zip(stored, photos, strict=True)
            ],
            events=events,
            duplicates=[
                {
                    "id": d.case.id,
                    "distance_m": round(d.distance_m, 1),
                    "status": "open",
                    "created_at": d.case.created_at,
                }
                for d in nearby[:MAX_DUPLICATES]
            ],
            reason=placed["reason"],
            stored=stored,
        )
        return job

    def write_intakes(
        self, session: Session, jobs: list[_Intake]
    ) -> list[tuple[int, dict[str, Any], bool]]:
        """Write a batch of new reports with one statement per table (the writer's job).

        Runs on the one thread that writes reports, so the idempotency checks here cannot race
        with another intake; a key repeated within the batch replays its first use.
        """
        results: list[tuple[int, dict[str, Any], bool] | None] = [None] * len(jobs)
        keys = {job.key for job in jobs if job.key}
        connection = session.connection()
        idempotency = IdempotencyRecord.__table__
        assert isinstance(idempotency, Table)
        known = {
            (r.client, r.key): r
            for r in (
                connection.execute(
                    select(
                        idempotency.c.client,
                        idempotency.c.key,
                        idempotency.c.request_hash,
                        idempotency.c.status_code,
                        idempotency.c.response,
                    ).where(idempotency.c.key.in_(keys))
                )
                if keys
                else []
            )
        }
        first: dict[tuple[str, str], int] = {}
        fresh: list[int] = []
        for n, job in enumerate(jobs):
            if job.key:
                ident = (job.principal.client, job.key)
                record = known.get(ident)
                if record is not None:
                    same = record.request_hash == job.request_hash
                    results[n] = (
                        (record.status_code, record.response, True) if same else (409, {}, False)
                    )
                    continue
                if ident in first:
                    continue  # settled below, once its first use has an answer
                first[ident] = n
            fresh.append(n)
        if fresh:
            # Core statements, not the ORM: one multi-row INSERT ... RETURNING for the reports
            # and one executemany per table (the writer's time is the intake's ceiling)
            reports_table = Report.__table__
            assert isinstance(reports_table, Table)
            ids = (
                connection.execute(
                    insert(reports_table).returning(
                        reports_table.c.id, sort_by_parameter_order=True
                    ),
                    [jobs[n].row for n in fresh],
                )
                .scalars()
                .all()
            )
            units: list[dict[str, Any]] = []
            events: list[dict[str, Any]] = []
            records: list[dict[str, Any]] = []
            for n, report_id in zip(fresh, ids, strict=True):
                job = jobs[n]
                units += [
                    {"report_id": report_id, "depth": d, **u} for d, u in enumerate(job.units)
                ]
                events += [{"report_id": report_id, **e} for e in job.events]
                photo_ids: list[int] = []
                if job.photos:
                    photos_table = Photo.__table__
                    assert isinstance(photos_table, Table)
                    photo_ids = list(
                        connection.execute(
                            insert(photos_table).returning(
                                photos_table.c.id, sort_by_parameter_order=True
                            ),
                            [{"report_id": report_id, **p} for p in job.photos],
                        ).scalars()
                    )
                payload = _jsonable(
                    self.view(
                        SimpleNamespace(id=report_id, **job.row),
                        [SimpleNamespace(**u) for u in job.units],
                        [
                            SimpleNamespace(id=i, **p)
                            for i, p in zip(photo_ids, job.photos, strict=True)
                        ],
                        job.principal,
                        now=job.row["created_at"],
                        duplicates=job.duplicates,
                        reason=job.reason,
                    )
                )
                results[n] = (201, payload, False)
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
                    table = model.__table__
                    assert isinstance(table, Table)
                    connection.execute(insert(table), rows)
        for n, job in enumerate(jobs):
            if results[n] is None:  # a key repeated within the batch: as its first use
                origin = first[(job.principal.client, job.key or "")]
                answer = results[origin]
                assert answer is not None
                same = jobs[origin].request_hash == job.request_hash
                results[n] = (answer[0], answer[1], True) if same else (409, {}, False)
        done = [r for r in results if r is not None]
        assert len(done) == len(jobs)
        return done

    def _forget(self, stored: list[Path]) -> None:
        for path in stored:
            (self.settings.media / path).unlink(missing_ok=True)

    # -- reading ----------------------------------------------------------------------------

    def get(self, session: Session, report_id: int, principal: Principal) -> Report:
        """A report the caller may see (404 otherwise, so ids of others' cases do not leak)."""
        report = session.get(Report, report_id)
        if report is None or not self._visible(session, report, principal):
            raise ApiError(
                404,
                "report_not_found",
                f"no report {report_id} visible to you",
                allowed="ids from GET /reports",
            )
        return report

    def _visible(self, session: Session, report: Report, principal: Principal) -> bool:
        if principal.role in (Role.DISPATCHER, Role.ADMIN):
            return True
        if principal.role == Role.REPORTER:
            return report.submitted_by == principal.key_id
        if principal.role == Role.GRID_WORKER:
            return principal.unit_code in self._chain_codes(session, report.id)
        return False

    @staticmethod
    def _chain_codes(session: Session, report_id: int) -> set[str]:
        return set(
            session.scalars(select(ReportUnit.code).where(ReportUnit.report_id == report_id))
        )

    def scoped(self, query: Select[Any], principal: Principal) -> Select[Any]:
        """Restrict a report query to what the caller may see."""
        if principal.role == Role.REPORTER:
            return query.where(Report.submitted_by == principal.key_id)
        if principal.role == Role.GRID_WORKER:
            return query.where(
                Report.id.in_(
                    select(ReportUnit.report_id).where(ReportUnit.code == principal.unit_code)
                )
            )
        return query

    def to_out(
        self,
        session: Session,
        report: Report,
        principal: Principal,
        *,
        now: datetime | None = None,
    ) -> dict[str, Any]:
        """A stored report as this caller may see it."""
        units = list(
            session.scalars(
                select(ReportUnit)
                .where(ReportUnit.report_id == report.id)
                .order_by(ReportUnit.depth)
            )
        )
        photos = list(session.scalars(select(Photo).where(Photo.report_id == report.id)))
        reason = None
        if report.assignment != "assigned" and report.unit_code:
            try:
                pos = self.index.bset.position(report.unit_code)
                reason = self.index.explain(report.assignment, pos, report.distance_m or 0.0)
            except UnitNotFound:  # assigned under boundaries no longer active
                reason = None
        return self.view(report, units, photos, principal, now=now, reason=reason)

    @staticmethod
    def view(
        report: Any,
        units: list[Any],
        photos: list[Any],
        principal: Principal,
        *,
        now: datetime | None = None,
        duplicates: list[dict[str, Any]] | None = None,
        reason: str | None = None,
    ) -> dict[str, Any]:
        """A report as this caller may see it: reporter fields only for its handlers."""
        now = now or datetime.now(UTC)
        codes = [u.code for u in units]
        sees_reporter = principal.role in (Role.DISPATCHER, Role.ADMIN) or (
            principal.role == Role.GRID_WORKER and principal.unit_code in codes
        )
        leader = None
        if report.leader_unit:
            leader = {
                "name": report.leader_name,
                "phone": report.leader_phone if principal.role != Role.PLANNER else None,
                "id": None,
                "unit_code": report.leader_unit,
                "level": next((u.level for u in units if u.code == report.leader_unit), ""),
            }
        status = Status(report.status)
        return {
            "id": report.id,
            "status": report.status,
            "category": report.category,
            "description": report.description,
            "address": report.address,
            "lon": report.lon,
            "lat": report.lat,
            "input": {"lon": report.input_lon, "lat": report.input_lat, "crs": report.input_crs},
            "assignment": {
                "status": report.assignment,
                "units": [{"level": u.level, "code": u.code, "name": u.name} for u in units],
                "leader": leader,
                "distance_m": report.distance_m,
                "reason": reason,
                "boundary_set": report.boundary_set,
            },
            "department": report.department,
            "duplicate_of": report.duplicate_of,
            "created_at": report.created_at,
            "updated_at": report.updated_at,
            "due_at": report.due_at,
            "overdue": status not in DONE and now > report.due_at,
            "resolved_at": report.resolved_at,
            "closed_at": report.closed_at,
            "rating": report.rating,
            "rating_comment": report.rating_comment,
            "reporter": {"name": report.reporter_name, "phone": report.reporter_phone}
            if sees_reporter
            else None,
            "photos": [
                {
                    "id": p.id,
                    "content_type": p.content_type,
                    "bytes": p.bytes,
                    "url": f"/reports/{report.id}/photos/{p.id}",
                }
                for p in photos
            ],
            "possible_duplicates": duplicates,
            "allowed_next": [s.value for s in allowed_next(status)],
        }

    # -- lifecycle --------------------------------------------------------------------------

    def transition(
        self,
        report_id: int,
        principal: Principal,
        change: TransitionIn,
        *,
        at: datetime | None = None,
        view: bool = True,
    ) -> dict[str, Any]:
        """Move a case to another state, if the lifecycle and the caller's role allow it.

        ``at`` is when it happened (now, unless the demo replays a case's past); with
        ``view=False`` the case is not read back (an empty dict is returned)."""
        try:
            target = Status(change.to)
        except ValueError:
            raise ApiError(
                422,
                "unknown_status",
                f"unknown status {change.to!r}",
                allowed=", ".join(s.value for s in Status),
            ) from None
        with self.db.session() as session:
            report = self.get(session, report_id, principal)
            current = Status(report.status)
            if target not in allowed_next(current):
                raise ApiError(
                    409,
                    "transition_not_allowed",
                    f"a {current.value} case cannot become {target.value}",
                    allowed=", ".join(s.value for s in allowed_next(current)) or "nothing: final",
                )
            if principal.role not in ACTORS[target]:
                raise ApiError(
                    403,
                    "forbidden",
                    f"role {principal.role.value!r} may not make a case {target.value}",
                    allowed="roles: " + ", ".join(r.value for r in ACTORS[target]),
                )
            now = at or datetime.now(UTC)
            values: dict[str, Any] = {"status": target.value, "updated_at": now}
            data: dict[str, Any] = {}
            if target == Status.REASSIGNED:
                if not change.unit_code:
                    raise ApiError(
                        422,
                        "unit_required",
                        "reassigning needs unit_code",
                        allowed="a unit code from GET /units",
                    )
                values |= self._move_to(session, report, change.unit_code)
                data["unit_code"] = change.unit_code
            elif target == Status.ESCALATED:
                if not change.escalate_to:
                    raise ApiError(
                        422,
                        "escalation_target_required",
                        "escalating needs escalate_to",
                        allowed="'parent' or a department name",
                    )
                if change.escalate_to == "parent":
                    parent = self._parent_of(report)
                    values |= self._move_to(session, report, parent)
                    data["unit_code"] = parent
                else:
                    values["department"] = change.escalate_to
                    data["department"] = change.escalate_to
            elif target == Status.REJECTED:
                if not change.note and change.duplicate_of is None:
                    raise ApiError(
                        422,
                        "reason_required",
                        "rejecting needs a note or duplicate_of",
                        allowed="note: why; duplicate_of: the report id it repeats",
                    )
                if change.duplicate_of is not None:
                    if (
                        change.duplicate_of == report.id
                        or session.get(Report, change.duplicate_of) is None
                    ):
                        raise ApiError(
                            422,
                            "unknown_duplicate",
                            f"no other report {change.duplicate_of}",
                            allowed="the id of another report",
                        )
                    values["duplicate_of"] = change.duplicate_of
                    data["duplicate_of"] = change.duplicate_of
            elif target == Status.RESOLVED:
                values["resolved_at"] = now
            elif target == Status.CLOSED:
                values["closed_at"] = now
            elif target == Status.REOPENED:
                values["resolved_at"] = None
            self._apply(session, report, current, values)
            _event(session, report, principal, current, target, change.note, data, now)
            session.commit()
            self._track(report)
            return self.to_out(session, report, principal) if view else {}

    def rate(
        self,
        report_id: int,
        principal: Principal,
        score: int,
        comment: str,
        *,
        at: datetime | None = None,
    ) -> dict[str, Any]:
        """The reporter rates a resolved case (评单): a low score reopens it, else it closes."""
        with self.db.session() as session:
            report = self.get(session, report_id, principal)
            if principal.role != Role.REPORTER or report.submitted_by != principal.key_id:
                raise ApiError(
                    403,
                    "forbidden",
                    "only the reporter of a case rates it",
                    allowed="the key that posted the report",
                )
            current = Status(report.status)
            if current != Status.RESOLVED:
                raise ApiError(
                    409,
                    "not_resolved",
                    f"a {current.value} case cannot be rated",
                    allowed="rating once the case is resolved",
                )
            target = Status.REOPENED if score < self.settings.reopen_below_rating else Status.CLOSED
            now = at or datetime.now(UTC)
            values: dict[str, Any] = {
                "status": target.value,
                "updated_at": now,
                "rating": score,
                "rating_comment": comment,
            }
            if target == Status.CLOSED:
                values["closed_at"] = now
            else:
                values["resolved_at"] = None
            self._apply(session, report, current, values)
            _event(session, report, principal, current, target, comment, {"rating": score}, now)
            session.commit()
            self._track(report)
            return self.to_out(session, report, principal)

    def _apply(
        self, session: Session, report: Report, current: Status, values: dict[str, Any]
    ) -> None:
        # compare-and-set on the status, so two concurrent changes cannot both win
        done = session.execute(
            update(Report)
            .where(and_(Report.id == report.id, Report.status == current.value))
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        if done.rowcount != 1:  # type: ignore[attr-defined]
            session.rollback()
            raise ApiError(
                409,
                "conflict",
                "the case changed meanwhile; read it and try again",
                allowed="GET /reports/{id} for the current state",
            )
        for key, value in values.items():
            setattr(report, key, value)

    def _track(self, report: Report) -> None:
        if Status(report.status) in OPEN:
            self.open_cases.add(
                OpenCase(report.id, report.category, report.lon, report.lat, report.created_at)
            )
        else:
            self.open_cases.remove(report.id)

    def _parent_of(self, report: Report) -> str:
        bset = self.index.bset
        code = report.unit_code
        if code is None:
            raise ApiError(
                409,
                "no_unit",
                "the case has no unit to escalate from",
                allowed="reassign it to a unit first",
            )
        try:
            parent = bset.units["parent"].iat[bset.position(code)]
        except UnitNotFound:
            raise ApiError(
                409,
                "unit_retired",
                f"unit {code} is not in the active boundaries",
                allowed="reassign the case to a current unit",
            ) from None
        if not parent:
            raise ApiError(
                409,
                "top_level",
                f"unit {code} is at the top level",
                allowed="escalate to a department instead",
            )
        return str(parent)

    def _move_to(self, session: Session, report: Report, code: str) -> dict[str, Any]:
        """Point the case at another unit: its chain, its responsible leader."""
        bset = self.index.bset
        pos = bset.position(code)
        chain = [int(p) for p in bset.chains[pos] if p >= 0]
        units = bset.units
        session.query(ReportUnit).filter(ReportUnit.report_id == report.id).delete()
        session.add_all(
            ReportUnit(
                report_id=report.id,
                depth=d,
                level=units["level"].iat[p],
                code=units["code"].iat[p],
                name=units["name"].iat[p],
            )
            for d, p in enumerate(chain)
        )
        leader = int(bset.responsible[pos])
        return {
            "unit_code": code,
            "leader_unit": units["code"].iat[leader] if leader >= 0 else None,
            "leader_name": units["leader_name"].iat[leader] if leader >= 0 else None,
            "leader_phone": units["leader_phone"].iat[leader] if leader >= 0 else None,
        }

    # -- statistics -------------------------------------------------------------------------

    def unit_stats(self, code: str, principal: Principal) -> dict[str, Any]:
        bset = self.index.bset
        level = bset.units["level"].iat[bset.position(code)]
        if principal.role == Role.GRID_WORKER and principal.unit_code != code:
            chain = {bset.units["code"].iat[p] for p in bset.chains[bset.position(code)] if p >= 0}
            if principal.unit_code not in chain:
                raise ApiError(
                    403,
                    "forbidden",
                    "this unit is outside your area",
                    allowed=f"{principal.unit_code} and the units below it",
                )
        now = datetime.now(UTC)
        with self.db.session() as session:
            rows = session.execute(
                select(
                    Report.status,
                    Report.category,
                    Report.due_at,
                    Report.created_at,
                    Report.resolved_at,
                )
                .join(ReportUnit, ReportUnit.report_id == Report.id)
                .where(ReportUnit.code == code)
            ).all()
        done = {s.value for s in DONE}
        hours = [
            (r.resolved_at - r.created_at).total_seconds() / 3600
            for r in rows
            if r.resolved_at is not None
        ]
        return {
            "code": code,
            "level": level,
            "total": len(rows),
            "by_status": dict(Counter(r.status for r in rows)),
            "by_category": dict(Counter(r.category for r in rows)),
            "overdue": sum(1 for r in rows if r.status not in done and now > r.due_at),
            "median_hours_to_resolve": round(statistics.median(hours), 2) if hours else None,
        }


@dataclass
class _Intake:
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
    stored: list[Path] = field(default_factory=list)


def _event_row(
    principal: Principal | None,
    from_status: Status | None,
    to_status: Status,
    note: str,
    data: dict[str, Any],
    at: datetime,
) -> dict[str, Any]:
    return {
        "at": at,
        "actor": (principal.name or principal.client) if principal else SYSTEM,
        "role": principal.role.value if principal else SYSTEM,
        "from_status": from_status.value if from_status else None,
        "to_status": to_status.value,
        "note": note,
        "data": data,
    }


def _jsonable(value: Any) -> Any:
    """Datetimes as ISO 8601 UTC ('Z'), recursively: the form stored for idempotent replays."""
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _reused_key() -> ApiError:
    return ApiError(
        409,
        "idempotency_key_reused",
        "this Idempotency-Key was used before with a different request",
        allowed="a new key for a new request; the same key only to retry the same one",
    )


def count(session: Session, query: Select[Any]) -> int:
    """Rows a report query matches (counting ids only: the PostGIS-only column stays out)."""
    ids = query.with_only_columns(Report.id).order_by(None).subquery()
    return int(session.scalar(select(func.count()).select_from(ids)) or 0)


def _event(
    session: Session,
    report: Report,
    principal: Principal | None,
    from_status: Status | None,
    to_status: Status,
    note: str,
    data: dict[str, Any],
    at: datetime,
) -> None:
    row = _event_row(principal, from_status, to_status, note, data, at)
    session.add(ReportEvent(report_id=report.id, **row))


def _request_hash(body: ReportIn, photos: list[CleanPhoto]) -> str:
    digest = hashlib.sha256(body.model_dump_json().encode())
    for photo in photos:
        digest.update(photo.sha256.encode())
    return digest.hexdigest()
