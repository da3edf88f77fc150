"""Open cases follow the boundaries and the leaders: re-routing on a new boundary version, a new
leader on a roster change, each with its event in the caller's transaction.

On a new version every open case is placed again:

* a case placed by its location (assigned, gap, snapped, unassigned) is placed again by its
  location against the new version;
* a case people moved (reassigned by a dispatcher, escalated to the parent unit) stays with the
  unit they chose while that unit exists, its chain and leader those of the new version; when
  the unit is gone, it is placed by its location.

A case whose unit changes gets a ``rerouted`` event (old unit, new unit, both version ids, the
new leader); so does one whose unit stays but whose units above change (a micro-grid moved to
another grid). A case left with no unit goes back to the dispatchers' queue (``submitted``); a
case in the queue that now has a unit is ``assigned``. Other statuses are kept. A case whose unit
stays but whose responsible leader changes gets a ``leader_changed`` event. Closed cases are
never touched: they keep the units, version and leader they were handled under.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Table, bindparam, delete, insert, or_, select, update
from sqlalchemy.orm import Session

from api.cases.lifecycle import OPEN, Status
from api.cases.transitions import event_row
from api.cases.units import reports_in
from api.cases.views import MOVED
from api.db.models import Report, ReportEvent, ReportUnit
from api.webhooks.cases import record_case_changes
from geo.assign import UNASSIGNED, BoundaryIndex

REROUTED, LEADER_CHANGED = "rerouted", "leader_changed"
MOVED_TO, UNCHANGED, NOW_UNASSIGNED, PARENT_CHANGED = (
    "moved",
    "unchanged",
    "unassigned",
    "parent_changed",
)
#: Ids per IN (...) list.
CHUNK = 1_000


@dataclass
class OpenCase:
    """An open case as stored: where it is, where it is assigned, who leads it."""

    id: int
    status: str
    assignment: str
    unit_code: str | None
    lon: float
    lat: float
    leader: tuple[str | None, str | None, str | None, str | None]  # unit, name, phone, id
    version_id: int | None
    chain: tuple[str, ...] = ()
    chain_names: tuple[str, ...] = ()


@dataclass
class Reroute:
    """Where each open case would be under an index (nothing written yet)."""

    cases: list[OpenCase]
    index: BoundaryIndex
    version_id: int
    unit_pos: list[int] = field(default_factory=list)
    chains: list[tuple[int, ...]] = field(default_factory=list)
    leaders: list[int] = field(default_factory=list)
    assignment: list[str] = field(default_factory=list)
    distance_m: list[float | None] = field(default_factory=list)
    outcome: list[str] = field(default_factory=list)
    leader_changed: list[bool] = field(default_factory=list)

    def __post_init__(self) -> None:
        # the unit columns as plain arrays: read once per case, tens of thousands of times
        units = self.index.bset.units
        self._columns = {
            c: units[c].to_numpy(dtype=object)
            for c in ("code", "name", "level", "leader_name", "leader_phone", "leader_id")
        }

    def unit_code(self, i: int) -> str | None:
        pos = self.unit_pos[i]
        return None if pos < 0 else str(self._columns["code"][pos])

    def chain_codes(self, i: int) -> tuple[str, ...]:
        codes = self._columns["code"]
        return tuple(str(codes[p]) for p in self.chains[i])

    def chain_rows(self, i: int) -> list[dict[str, Any]]:
        """The report_units rows of the case's new chain of units (top first)."""
        code, name, level = (self._columns[c] for c in ("code", "name", "level"))
        return [
            {
                "report_id": self.cases[i].id,
                "depth": d,
                "level": level[p],
                "code": code[p],
                "name": name[p],
            }
            for d, p in enumerate(self.chains[i])
        ]

    def chain_changes(self, i: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
        """What to write of the case's chain: rows to update (a depth whose unit changed),
        rows to insert (deeper than before), and the depth from which old rows go."""
        case = self.cases[i]
        new = self.chain_rows(i)
        old = list(zip(case.chain, case.chain_names, strict=True))
        kept = min(len(old), len(new))
        changed = [
            r
            for r, (c, n) in zip(new[:kept], old[:kept], strict=True)
            if (r["code"], r["name"]) != (c, n)
        ]
        return changed, new[kept:], len(new)

    def renamed(self, i: int) -> bool:
        """Whether the units on the case's chain have other names now (same codes)."""
        names = self._columns["name"]
        return tuple(str(names[p]) for p in self.chains[i]) != self.cases[i].chain_names

    def leader(self, i: int) -> tuple[str | None, str | None, str | None, str | None]:
        pos = self.leaders[i]
        if pos < 0:
            return (None, None, None, None)
        c = self._columns
        return (
            str(c["code"][pos]),
            c["leader_name"][pos],
            c["leader_phone"][pos],
            c["leader_id"][pos],
        )

    def counts(self) -> dict[str, int]:
        """Open cases moved, kept, left without a unit; kept with other units above; with
        another leader (kept ones)."""
        found = Counter(self.outcome)
        return {
            "open": len(self.cases),
            MOVED_TO: found[MOVED_TO],
            UNCHANGED: found[UNCHANGED] + found[PARENT_CHANGED],
            NOW_UNASSIGNED: found[NOW_UNASSIGNED],
            PARENT_CHANGED: found[PARENT_CHANGED],
            LEADER_CHANGED: sum(self.leader_changed),
        }

    def moves(self) -> Counter[tuple[str | None, str | None]]:
        """(old unit, new unit): cases, for those that move or lose their unit."""
        return Counter(
            (case.unit_code, self.unit_code(i))
            for i, case in enumerate(self.cases)
            if self.outcome[i] in (MOVED_TO, NOW_UNASSIGNED)
        )


def read_open_cases(
    session: Session,
    *,
    not_in_version: int | None = None,
    in_units: Collection[str] | None = None,
    lock: bool = False,
) -> list[OpenCase]:
    """The open cases (those assigned under another version, or in any of some units), with
    their chains. ``lock`` holds them against concurrent changes until the transaction ends
    (PostgreSQL; SQLite's one writer holds everything)."""
    query = select(
        Report.id,
        Report.status,
        Report.assignment,
        Report.unit_code,
        Report.lon,
        Report.lat,
        Report.leader_unit,
        Report.leader_name,
        Report.leader_phone,
        Report.leader_id,
        Report.boundary_version_id,
    ).where(Report.status.in_([s.value for s in OPEN]))
    if not_in_version is not None:
        query = query.where(
            or_(
                Report.boundary_version_id.is_(None),
                Report.boundary_version_id != not_in_version,
            )
        )
    if in_units is not None:
        query = query.where(Report.id.in_(reports_in(in_units)))
    ids = query.with_only_columns(Report.id).order_by(None)
    if lock:
        query = query.with_for_update(of=Report)
    cases = [
        OpenCase(
            id=r.id,
            status=r.status,
            assignment=r.assignment,
            unit_code=r.unit_code,
            lon=r.lon,
            lat=r.lat,
            leader=(r.leader_unit, r.leader_name, r.leader_phone, r.leader_id),
            version_id=r.boundary_version_id,
        )
        for r in session.execute(query.order_by(Report.id))
    ]
    chains: dict[int, list[tuple[str, str]]] = {}
    if cases:  # the chains of the same cases, in one query
        rows = session.execute(
            select(ReportUnit.report_id, ReportUnit.code, ReportUnit.name)
            .where(ReportUnit.report_id.in_(ids))
            .order_by(ReportUnit.report_id, ReportUnit.depth)
        )
        for report_id, code, name in rows:
            chains.setdefault(report_id, []).append((code, name))
    for case in cases:
        chain = chains.get(case.id, [])
        case.chain = tuple(code for code, _ in chain)
        case.chain_names = tuple(name for _, name in chain)
    return cases


def plan_reroute(
    cases: list[OpenCase], index: BoundaryIndex, version_id: int, *, keep_units: bool = False
) -> Reroute:
    """Where each case goes under ``index`` (see the module's rules). ``keep_units`` keeps
    every case's unit where it exists (a roster change: only the leaders are new)."""
    plan = Reroute(cases=cases, index=index, version_id=version_id)
    bset = index.bset
    n = len(cases)
    if n == 0:
        return plan
    placed = index.assign(np.array([c.lon for c in cases]), np.array([c.lat for c in cases]))
    kept = bset.positions([c.unit_code or "" for c in cases])
    by_people = np.array([keep_units or c.assignment in MOVED for c in cases], dtype=bool)
    keep = by_people & (kept >= 0)
    unit = np.where(keep, kept, placed.unit)
    ok = unit >= 0
    chains = np.full((n, len(bset.levels)), -1, dtype=np.intp)
    chains[ok] = bset.chains[unit[ok]]
    leaders = np.full(n, -1, dtype=np.intp)
    leaders[ok] = bset.responsible[unit[ok]]
    plan.unit_pos = unit.tolist()
    plan.chains = [tuple(int(p) for p in row if p >= 0) for row in chains]
    plan.leaders = leaders.tolist()
    for i, case in enumerate(cases):
        if keep[i]:
            plan.assignment.append(case.assignment)
            plan.distance_m.append(None)
        else:
            plan.assignment.append(str(placed.status[i]))
            distance = float(placed.distance_m[i])
            plan.distance_m.append(None if np.isnan(distance) else round(distance, 2))
        new_unit = plan.unit_code(i)
        if new_unit is None and case.unit_code is not None:
            outcome = NOW_UNASSIGNED
        elif new_unit != case.unit_code:
            outcome = MOVED_TO
        elif plan.chain_codes(i) != case.chain:
            outcome = PARENT_CHANGED
        else:
            outcome = UNCHANGED
        plan.outcome.append(outcome)
        plan.leader_changed.append(outcome == UNCHANGED and plan.leader(i) != case.leader)
    return plan


def apply_reroute(
    session: Session,
    plan: Reroute,
    *,
    actor: str,
    role: str,
    now: datetime,
    note: str = "",
) -> dict[str, int]:
    """Write a plan (in the caller's transaction): the cases' units, leaders and version, and
    the events; the counts of :meth:`Reroute.counts`."""
    changed: list[dict[str, Any]] = []
    version_only: list[int] = []
    chain_updates: list[dict[str, Any]] = []
    chain_inserts: list[dict[str, Any]] = []
    truncated: list[tuple[int, int]] = []  # (case, depth from which its old rows go)
    events: list[dict[str, Any]] = []
    for i, case in enumerate(plan.cases):
        outcome = plan.outcome[i]
        leader = plan.leader(i)
        # other units, or the same ones renamed: the stored chain shows today's
        if outcome != UNCHANGED or plan.renamed(i):
            updates, inserts, depth = plan.chain_changes(i)
            chain_updates += updates
            chain_inserts += inserts
            if depth < len(case.chain):
                truncated.append((case.id, depth))
        if outcome == UNCHANGED and not plan.leader_changed[i]:
            if case.version_id != plan.version_id:
                version_only.append(case.id)
            continue
        status = Status(case.status)
        new_unit = plan.unit_code(i)
        new_status = status
        if outcome != UNCHANGED:  # no unit: the dispatchers' queue; a unit: out of it
            if new_unit is None:
                new_status = Status.SUBMITTED
            elif status == Status.SUBMITTED:
                new_status = Status.ASSIGNED
        changed.append(
            {
                "report_id": case.id,
                "status": new_status.value,
                "unit_code": new_unit,
                "assignment": plan.assignment[i] if new_unit else UNASSIGNED,
                "distance_m": plan.distance_m[i],
                "leader_unit": leader[0],
                "leader_name": leader[1],
                "leader_phone": leader[2],
                "leader_id": leader[3],
                "boundary_version_id": plan.version_id,
                "updated_at": now,
            }
        )
        if outcome == UNCHANGED:  # the leader alone changed
            kind, to_status = LEADER_CHANGED, status
            text = _leader_note(case.leader, leader, note)
            data: dict[str, Any] = {
                "from": _leader_ref(case.leader),
                "to": _leader_ref(leader),
                "boundary_version_id": plan.version_id,
            }
        else:
            kind, to_status = REROUTED, new_status
            text = _reroute_note(case, new_unit, plan.version_id, note)
            data = {
                "from_unit": case.unit_code,
                "to_unit": new_unit,
                "from_version": case.version_id,
                "to_version": plan.version_id,
                "from_units": list(case.chain),
                "to_units": list(plan.chain_codes(i)),
                "assignment": plan.assignment[i] if new_unit else UNASSIGNED,
                "leader": _leader_ref(leader),
            }
        events.append(_event(case.id, actor, role, status, to_status, kind, text, data, now))
    reports = _table(Report)
    if changed:  # Core executemany: the ORM's bulk paths cost more than the writes
        columns = [k for k in changed[0] if k != "report_id"]
        session.execute(
            update(reports)
            .where(reports.c.id == bindparam("report_id"))
            .values({c: bindparam(f"new_{c}") for c in columns}),
            [
                {"report_id": row["report_id"], **{f"new_{c}": row[c] for c in columns}}
                for row in changed
            ],
        )
    for start in range(0, len(version_only), CHUNK):
        session.execute(
            update(Report)
            .where(Report.id.in_(version_only[start : start + CHUNK]))
            .values(boundary_version_id=plan.version_id)
            .execution_options(synchronize_session=False)
        )
    # a chain changes at a few depths (a micro-grid redrawn, a grid above it): those rows
    # are updated, deeper ones inserted or deleted, the rest left alone
    chains = _table(ReportUnit)
    by_depth: dict[int, list[int]] = {}
    for case_id, depth in truncated:
        by_depth.setdefault(depth, []).append(case_id)
    for depth, ids in by_depth.items():
        for start in range(0, len(ids), CHUNK):
            session.execute(
                delete(chains).where(
                    chains.c.report_id.in_(ids[start : start + CHUNK]), chains.c.depth >= depth
                )
            )
    if chain_updates:
        session.execute(
            update(chains)
            .where(
                chains.c.report_id == bindparam("row_report_id"),
                chains.c.depth == bindparam("row_depth"),
            )
            .values(
                level=bindparam("new_level"), code=bindparam("new_code"), name=bindparam("new_name")
            ),
            [
                {
                    "row_report_id": r["report_id"],
                    "row_depth": r["depth"],
                    "new_level": r["level"],
                    "new_code": r["code"],
                    "new_name": r["name"],
                }
                for r in chain_updates
            ],
        )
    if chain_inserts:
        session.execute(insert(chains), chain_inserts)
    if events:
        session.execute(insert(_table(ReportEvent)), events)
    # report.rerouted for the webhooks, heard by the old units' subscribers too
    moved = {e["report_id"]: e["data"] for e in events if e["kind"] == REROUTED}
    left = {c.id: list(c.chain) for c in plan.cases if c.id in moved}
    record_case_changes(session, "report.rerouted", moved, now, also_units=left)
    return plan.counts()


def _table(model: Any) -> Table:
    table = model.__table__
    assert isinstance(table, Table)
    return table


def _event(
    report_id: int,
    actor: str,
    role: str,
    from_status: Status,
    to_status: Status,
    kind: str,
    note: str,
    data: dict[str, Any],
    at: datetime,
) -> dict[str, Any]:
    row = event_row(None, from_status, to_status, note, data, at, kind=kind)
    return {**row, "report_id": report_id, "actor": actor, "role": role}


def _leader_ref(leader: tuple[str | None, ...]) -> dict[str, str | None] | None:
    unit, name, _, person = leader
    return None if unit is None else {"unit_code": unit, "name": name, "id": person}


def _leader_note(old: tuple[str | None, ...], new: tuple[str | None, ...], note: str) -> str:
    before = f"{old[1] or 'nobody'} ({old[0]})" if old[0] else "nobody"
    after = f"{new[1] or 'nobody'} ({new[0]})" if new[0] else "nobody"
    return " ".join(filter(None, [f"responsible leader {before} -> {after}", note]))


def _reroute_note(case: OpenCase, new_unit: str | None, version_id: int, note: str) -> str:
    if new_unit is None:
        text = (
            f"no unit of boundary version {version_id} covers the place: back in the "
            "dispatchers' queue"
        )
    elif new_unit == case.unit_code:
        text = f"{new_unit} lies under other units in boundary version {version_id}"
    else:
        text = (
            f"re-routed from {case.unit_code or 'no unit'} to {new_unit} under boundary "
            f"version {version_id}"
        )
    return " ".join(filter(None, [text, note]))
