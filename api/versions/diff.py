"""What activating a version would change, against the active one: a dry run.

Units (geo.diff: added, removed, renamed, under another parent, reshaped with the area
changed), leaders (who would lead each unit after the activation: the roster, plus the file's
leaders for units the roster has none for), and the open cases that would move, counted per
(old unit -> new unit), and those that would be left without a unit. Nothing is written.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sqlalchemy.orm import Session

from api.cases.reroute import plan_reroute, read_open_cases
from api.versions import store
from api.versions.active import ActiveBoundaries
from geo.diff import compare_boundary_sets
from geo.units import LEADER_COLUMNS, BoundarySet

#: Items listed per kind of change by default (the counts are always complete).
DEFAULT_LIMIT = 500


#: Per kind of unit change listed: geo.diff's flag, and the columns shown (as named here).
UNIT_LISTINGS: dict[str, tuple[str, dict[str, str]]] = {
    "added": ("added", {"name": "new_name", "parent": "new_parent"}),
    "removed": ("removed", {"name": "old_name", "parent": "old_parent"}),
    "renamed": ("renamed", {"old_name": "old_name", "new_name": "new_name"}),
    "parent_changed": ("reparented", {"old_parent": "old_parent", "new_parent": "new_parent"}),
    "geometry_changed": (
        "reshaped",
        {c: c for c in ("area_before_m2", "area_after_m2", "area_change_m2", "changed_area_m2")},
    ),
}


def _unit_listing(
    changes: pd.DataFrame, flag: str, columns: dict[str, str], limit: int
) -> dict[str, Any]:
    """How many units have a kind of change, and the first ``limit`` of them."""
    rows = changes[changes[flag]]
    items = []
    for record in rows.head(limit).to_dict("records"):
        item = {"code": record["code"], "level": record["level"]}
        for name, column in columns.items():
            value = record[column]
            item[name] = _area(value) if column.endswith("_m2") else value
        items.append(item)
    return {"count": len(rows), "items": items}


def _leader_listing(
    codes: pd.Index, levels: pd.DataFrame, old: pd.DataFrame, new: pd.DataFrame, limit: int
) -> dict[str, Any]:
    """Units whose leader would differ: the leader in ``old`` and in ``new``."""
    return {
        "count": len(codes),
        "items": [
            {
                "code": code,
                "level": levels.at[code, "level"],
                "old": _leader(old.loc[code]),
                "new": _leader(new.loc[code]),
            }
            for code in codes[:limit]
        ],
    }


def _area(value: Any) -> float | None:
    number = float(value)
    return None if np.isnan(number) else round(number, 1)


def _leaders(bset: BoundarySet) -> pd.DataFrame:
    return bset.units[["code", "level", *LEADER_COLUMNS]].set_index("code")


def _leader(row: pd.Series) -> dict[str, Any] | None:
    if all(row[c] is None for c in LEADER_COLUMNS):
        return None
    return {"name": row["leader_name"], "phone": row["leader_phone"], "id": row["leader_id"]}


def diff_version(
    session: Session, boundaries: ActiveBoundaries, version_id: int, *, limit: int = DEFAULT_LIMIT
) -> dict[str, Any]:
    """The changes activating ``version_id`` would make (see the module docstring)."""
    store.get_version(session, version_id)
    active = boundaries.current
    raw = boundaries.geometry(version_id)
    old, new_file = active.index.bset, raw.bset
    changes = compare_boundary_sets(old, new_file)

    # leaders after activation: the roster's, and the file's where the roster has nobody
    roster = boundaries.roster.table()
    seeds = new_file.units[
        new_file.units[list(LEADER_COLUMNS)].notna().any(axis=1)
        & ~new_file.units["code"].isin(roster["code"])
    ][["code", *LEADER_COLUMNS]]
    new_index = raw.with_leaders(pd.concat([roster, seeds], ignore_index=True))
    before, after, filed = _leaders(old), _leaders(new_index.bset), _leaders(new_file)
    both = after.index.intersection(before.index)
    differs = (
        before.loc[both, list(LEADER_COLUMNS)].fillna("\0")
        != after.loc[both, list(LEADER_COLUMNS)].fillna("\0")
    ).any(axis=1)
    leader_changed = both[differs.to_numpy()]
    ignored = filed.index[
        filed[list(LEADER_COLUMNS)].notna().any(axis=1).to_numpy()
        & filed.index.isin(roster["code"])
    ]
    ignored = ignored[
        (
            filed.loc[ignored, list(LEADER_COLUMNS)].fillna("\0")
            != after.loc[ignored, list(LEADER_COLUMNS)].fillna("\0")
        )
        .any(axis=1)
        .to_numpy()
    ]

    plan = plan_reroute(read_open_cases(session), new_index, version_id)
    moves = plan.moves()
    units = {
        kind: _unit_listing(changes, flag, columns, limit)
        for kind, (flag, columns) in UNIT_LISTINGS.items()
    }
    units["leader_changed"] = _leader_listing(leader_changed, after, before, after, limit)
    units["file_leaders_ignored"] = _leader_listing(ignored, after, after, filed, limit)
    moved = sorted(
        ((old_code, new_code, n) for (old_code, new_code), n in moves.items() if new_code),
        key=lambda m: (-m[2], m[0] or "", m[1] or ""),
    )
    lost = sorted(
        ((old_code, n) for (old_code, new_code), n in moves.items() if new_code is None),
        key=lambda m: (-m[1], m[0] or ""),
    )
    return {
        "version_id": version_id,
        "against_version_id": active.version_id,
        "limit": limit,
        "units": units,
        "cases": {
            **plan.counts(),
            "moves": [{"from_unit": a, "to_unit": b, "cases": n} for a, b, n in moved[:limit]],
            "unassigned_from": [{"from_unit": a, "cases": n} for a, n in lost[:limit]],
        },
    }
