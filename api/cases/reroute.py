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
from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.orm import Session

from api.cases.lifecycle import OPEN, Status
from api.cases.transitions import event_row
from api.cases.views import MOVED
from api.db.models import Report, ReportEvent, ReportUnit
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

    def unit_code(self, i: int) -> str | None:
        pos = self.unit_pos[i]
        return None if pos < 0 else str(self.index.bset.codes[pos])

    def chain_codes(self, i: int) -> tuple[str, ...]:
        codes = self.index.bset.codes
        return tuple(str(codes[p]) for p in self.chains[i])

    def renamed(self, i: int) -> bool:
        """Whether the units on the case's chain have other names now (same codes)."""
        names = self.index.bset.units["name"]
        return tuple(str(names.iat[p]) for p in self.chains[i]) != self.cases[i].chain_names

    def leader(self, i: int) -> tuple[str | None, str | None, str | None, str | None]:
        pos = self.leaders[i]
        if pos < 0:
            return (None, None, None, None)
        units = self.index.bset.units
        return (
            str(units["code"].iat[pos]),
            units["leader_name"].iat[pos],
            units["leader_phone"].iat[pos],
            units["leader_id"].iat[pos],
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
        query = query.where(
            Report.id.in_(select(ReportUnit.report_id).where(ReportUnit.code.in_(list(in_units))))
        )
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
    ids = [c.id for c in cases]
    for start in range(0, len(ids), CHUNK):
        rows = session.execute(
            select(ReportUnit.report_id, ReportUnit.code, ReportUnit.name)
            .where(ReportUnit.report_id.in_(ids[start : start + CHUNK]))
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
    bset = plan.index.bset
    units = bset.units
    levels, names = units["level"].to_numpy(dtype=object), units["name"].to_numpy(dtype=object)
    changed: list[dict[str, Any]] = []
    version_only: list[int] = []
    chain_rows: list[dict[str, Any]] = []
    rechained: list[int] = []
    events: list[dict[str, Any]] = []
    for i, case in enumerate(plan.cases):
        outcome = plan.outcome[i]
        leader = plan.leader(i)
        # other units, or the same ones renamed: the stored chain shows today's
        if outcome != UNCHANGED or plan.renamed(i):
            rechained.append(case.id)
            chain_rows += _chain_rows(case.id, plan.chains[i], levels, bset.codes, names)
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
                "id": case.id,
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
    if changed:
        session.execute(update(Report), changed)
    for start in range(0, len(version_only), CHUNK):
        session.execute(
            update(Report)
            .where(Report.id.in_(version_only[start : start + CHUNK]))
            .values(boundary_version_id=plan.version_id)
            .execution_options(synchronize_session=False)
        )
    for start in range(0, len(rechained), CHUNK):
        session.execute(
            delete(ReportUnit).where(ReportUnit.report_id.in_(rechained[start : start + CHUNK]))
        )
    if chain_rows:
        session.execute(insert(ReportUnit), chain_rows)
    if events:
        session.execute(insert(ReportEvent), events)
    return plan.counts()


def _chain_rows(
    report_id: int, chain: tuple[int, ...], levels: Any, codes: Any, names: Any
) -> list[dict[str, Any]]:
    """The report_units rows of a case's chain of units (top first)."""
    return [
        {"report_id": report_id, "depth": d, "level": levels[p], "code": codes[p], "name": names[p]}
        for d, p in enumerate(chain)
    ]


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
