"""The version store: boundary sets kept in the database as versions, read back whole.

A version is stored once, as a draft, with geo.validate's report; its units keep their row
order, so the set read back is the set imported (same positions, same tie rule). Geometry is
WKB in WGS84 on every database; PostGIS also has it as a geometry column with a GiST index.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from api.db.models import BoundaryActivation, BoundaryUnit, BoundaryVersion, ChangeCounter
from api.versions.errors import NoVersionAt, VersionNotFound
from geo.crs import parse_crs
from geo.units import LEADER_COLUMNS, UNIT_COLUMNS, BoundarySet
from geo.validate import ValidationReport

DRAFT, ACTIVE, RETIRED = "draft", "active", "retired"
STATES = (DRAFT, ACTIVE, RETIRED)
#: The shared states whose counters servers watch (api.db.models.ChangeCounter).
BOUNDARIES, ROSTER = "boundaries", "roster"
#: Units per INSERT statement.
INSERT_CHUNK = 2_000
#: Issues kept with a version (the counts are always complete).
MAX_STORED_ISSUES = 5_000


def utc_now() -> datetime:
    return datetime.now(UTC)


def store_version(
    session: Session,
    bset: BoundarySet,
    report: ValidationReport,
    *,
    name: str,
    source_name: str,
    source_sha256: str,
    imported_by: str,
    now: datetime | None = None,
    on_progress: Callable[[int], None] | None = None,
) -> BoundaryVersion:
    """Store a boundary set as a new draft version with its validation report (in the
    caller's transaction: the first version is stored and activated in one)."""
    report_dict = report.to_dict()
    issues = report_dict["issues"]
    report_dict["issues_total"] = len(issues)
    report_dict["issues"] = issues[:MAX_STORED_ISSUES]
    version = BoundaryVersion(
        name=name,
        source_name=source_name,
        source_sha256=source_sha256,
        source_crs=str(bset.source_crs),
        levels=list(bset.levels),
        unit_counts={lv: int(bset.level_positions(d).size) for d, lv in enumerate(bset.levels)},
        bounds=[float(v) for v in bset.bounds],
        imported_by=imported_by,
        imported_at=now or utc_now(),
        state=DRAFT,
        validation=report_dict,
        error_count=len(report.errors),
        warning_count=len(report.warnings),
    )
    session.add(version)
    session.flush()
    units = bset.units
    wkb = shapely.to_wkb(units.geometry.to_numpy())
    text = {c: units[c].tolist() for c in ("code", "name", "level", "parent", *LEADER_COLUMNS)}
    depth = units["depth"].astype(int).tolist()
    properties = units["properties"].tolist()
    for start in range(0, len(units), INSERT_CHUNK):
        stop = min(start + INSERT_CHUNK, len(units))
        rows = [
            {
                "version_id": version.id,
                "position": i,
                **{c: values[i] for c, values in text.items()},
                "depth": depth[i],
                "properties": properties[i] or {},
                "wkb": wkb[i],
            }
            for i in range(start, stop)
        ]
        session.execute(insert(BoundaryUnit), rows)
        if on_progress is not None:
            on_progress(stop - start)
    session.flush()
    return version


def get_version(session: Session, version_id: int) -> BoundaryVersion:
    version = session.get(BoundaryVersion, version_id)
    if version is None:
        raise VersionNotFound(
            f"no boundary version {version_id}", allowed="ids from GET /boundaries/versions"
        )
    return version


def list_versions(session: Session) -> list[BoundaryVersion]:
    """Every version, newest first."""
    return list(session.scalars(select(BoundaryVersion).order_by(BoundaryVersion.id.desc())))


def active_version(session: Session) -> BoundaryVersion | None:
    return session.scalar(select(BoundaryVersion).where(BoundaryVersion.state == ACTIVE))


def has_versions(session: Session) -> bool:
    return session.scalar(select(func.count()).select_from(BoundaryVersion)) != 0


def load_set(session: Session, version_id: int) -> BoundarySet:
    """A stored version as the boundary set it was imported as (leaders as in its file)."""
    version = get_version(session, version_id)
    columns = [getattr(BoundaryUnit, c) for c in UNIT_COLUMNS]
    rows = session.execute(
        select(*columns, BoundaryUnit.wkb)
        .where(BoundaryUnit.version_id == version_id)
        .order_by(BoundaryUnit.position)
    ).all()
    frame = pd.DataFrame(rows, columns=[*UNIT_COLUMNS, "wkb"])
    geometry = shapely.from_wkb(frame.pop("wkb").to_numpy(dtype=object))
    for column in LEADER_COLUMNS:
        values = frame[column].to_numpy(dtype=object).copy()
        values[pd.isna(values)] = None
        frame[column] = pd.Series(values, dtype=object)
    frame["depth"] = frame["depth"].astype(np.int64)
    frame["properties"] = pd.Series([p or {} for p in frame["properties"]], dtype=object)
    units = gpd.GeoDataFrame(frame, geometry=geometry, crs=4326)
    return BoundarySet(
        levels=tuple(version.levels),
        units=units,
        source_crs=parse_crs(version.source_crs),
        name=f"version {version.id}: {version.name}",
    )


def record_activation(
    session: Session,
    version_id: int,
    previous_id: int | None,
    *,
    actor: str,
    now: datetime,
    counts: dict[str, int],
) -> None:
    """Make a version the active one and retire the previous (in the caller's transaction)."""
    if previous_id is not None:
        session.execute(
            update(BoundaryVersion)
            .where(BoundaryVersion.id == previous_id)
            .values(state=RETIRED, retired_at=now)
        )
    session.execute(
        update(BoundaryVersion)
        .where(BoundaryVersion.id == version_id)
        .values(state=ACTIVE, activated_at=now, retired_at=None)
    )
    session.add(
        BoundaryActivation(
            version_id=version_id,
            previous_version_id=previous_id,
            activated_at=now,
            activated_by=actor,
            counts=counts,
        )
    )


def version_at(session: Session, at: datetime) -> int:
    """The version that was active at a time (the last activation at or before it)."""
    when = at if at.tzinfo else at.replace(tzinfo=UTC)
    found = session.scalar(
        select(BoundaryActivation.version_id)
        .where(BoundaryActivation.activated_at <= when)
        .order_by(BoundaryActivation.activated_at.desc(), BoundaryActivation.id.desc())
        .limit(1)
    )
    if found is None:
        first = session.scalar(select(func.min(BoundaryActivation.activated_at)))
        raise NoVersionAt(
            f"no boundary version was active at {when.isoformat()}",
            allowed=f"times from {first.isoformat()} on" if first else "no version is active yet",
        )
    return int(found)


def activations(session: Session, version_id: int) -> list[BoundaryActivation]:
    return list(
        session.scalars(
            select(BoundaryActivation)
            .where(BoundaryActivation.version_id == version_id)
            .order_by(BoundaryActivation.id)
        )
    )


def bump(session: Session, name: str) -> None:
    """Mark a shared state changed, in the caller's transaction. Run it first: it takes the
    lock that keeps concurrent changes of the same state from interleaving."""
    session.execute(
        update(ChangeCounter)
        .where(ChangeCounter.name == name)
        .values(value=ChangeCounter.value + 1)
    )


def counters(session: Session) -> dict[str, int]:
    """The value of every change counter."""
    return {
        name: int(value)
        for name, value in session.execute(select(ChangeCounter.name, ChangeCounter.value))
    }


def version_summary(version: BoundaryVersion, *, issues: int | None = None) -> dict[str, Any]:
    """A version as plain values (the shape of VersionOut); ``issues`` caps the listed issues."""
    report = dict(version.validation)
    if issues is not None:
        report["issues"] = report.get("issues", [])[:issues]
    return {
        "id": version.id,
        "name": version.name,
        "state": version.state,
        "source_name": version.source_name,
        "source_sha256": version.source_sha256,
        "source_crs": version.source_crs,
        "levels": list(version.levels),
        "unit_counts": dict(version.unit_counts),
        "bounds": list(version.bounds),
        "imported_by": version.imported_by,
        "imported_at": version.imported_at,
        "activated_at": version.activated_at,
        "retired_at": version.retired_at,
        "errors": version.error_count,
        "warnings": version.warning_count,
        "validation": report,
    }
