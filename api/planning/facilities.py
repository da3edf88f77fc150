"""Care facilities: the type catalogue, create, read, update and delete, and imports.

A facility has a type from the catalogue, a name, an optional capacity and a location held in
WGS84 beside the location as given (lon, lat and coordinate system, as for reports). The
catalogue is the built-in :data:`FACILITY_TYPES` plus every type already stored. The API and
imports refuse other types, so a typo (``elderly-care``) never becomes a type of its own; an
import adds new types only when told to (``--new-types``).

Imports are appended; a row with the same type and name as a stored facility within about a
metre is refused as already stored. ``replace`` deletes the stored facilities of the types in
the file first (reloading an official list).

Every function takes the caller's ``session``; those that change data bump the facilities'
version and commit.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
from sqlalchemy import Delete, delete, func, select
from sqlalchemy.orm import Session

from api.db.models import Facility
from api.planning.errors import (
    FacilityNotFound,
    IncompleteLocation,
    InvalidFacilityChange,
    UnknownFacilityType,
)
from api.planning.imports import ParsedFile, RowProblem, read_facility_file
from api.planning.store import FACILITIES, bump_version, delete_rows, insert_rows, now_utc
from geo.crs import ALLOWED_LONLAT, parse_crs, points_to_wgs84
from geo.errors import InvalidCoordinates
from geo.units import BoundarySet

#: The built-in facility types: code -> (Chinese name, English name).
FACILITY_TYPES: dict[str, tuple[str, str]] = {
    "elderly_care": ("居家养老服务中心", "Elderly home-care centre"),
    "clinic": ("社区卫生服务站", "Community health station"),
    "community_centre": ("社区党群服务中心", "Community service centre"),
}
DEFAULT_FACILITY_TYPE = "elderly_care"
#: Stored facilities this close (degrees, about a metre) with the same type and name are one.
SAME_PLACE_DEG = 1e-5


# -- the catalogue ---------------------------------------------------------------------------


def facility_types(*, session: Session) -> list[dict[str, Any]]:
    """The catalogue: built-in types, then any other stored type, with facility counts."""
    counts: dict[str, int] = {
        str(kind): int(n)
        for kind, n in session.execute(select(Facility.type, func.count()).group_by(Facility.type))
    }
    out: list[dict[str, Any]] = [
        {"code": code, "name_zh": zh, "name_en": en, "builtin": True, "facilities": 0}
        for code, (zh, en) in FACILITY_TYPES.items()
    ]
    out += [
        {"code": code, "name_zh": code, "name_en": code, "builtin": False, "facilities": 0}
        for code in sorted(set(counts) - set(FACILITY_TYPES))
    ]
    for row in out:
        row["facilities"] = int(counts.get(row["code"], 0))
    return out


def known_types(*, session: Session) -> list[str]:
    """The codes of the catalogue."""
    return [t["code"] for t in facility_types(session=session)]


def check_facility_type(*, session: Session, facility_type: str) -> str:
    """The type, if it is in the catalogue; :class:`UnknownFacilityType` if not."""
    known = known_types(session=session)
    if facility_type not in known:
        raise UnknownFacilityType(
            f"unknown facility type {facility_type!r}", allowed=", ".join(known)
        )
    return facility_type


# -- one facility at a time ------------------------------------------------------------------


def facility_out(row: Facility) -> dict[str, Any]:
    """A facility as plain values (the fields of the API's ``FacilityOut``)."""
    return {
        "id": row.id,
        "type": row.type,
        "name": row.name,
        "capacity": row.capacity,
        "lon": row.lon,
        "lat": row.lat,
        "input": {"lon": row.input_lon, "lat": row.input_lat, "crs": row.input_crs},
        "source": row.source,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
    }


def get_facility(*, session: Session, facility_id: int) -> Facility:
    """One facility; :class:`FacilityNotFound` if there is none with that id."""
    row = session.get(Facility, facility_id)
    if row is None:
        raise FacilityNotFound(
            f"no facility {facility_id}", allowed="ids listed by GET /facilities"
        )
    return row


def list_facilities(
    *, session: Session, facility_type: str | None = None, limit: int = 100, offset: int = 0
) -> tuple[int, list[Facility]]:
    """(How many facilities there are (of a type), one page of them by id)."""
    query = select(Facility)
    counted = select(func.count()).select_from(Facility)
    if facility_type is not None:
        check_facility_type(session=session, facility_type=facility_type)
        query = query.where(Facility.type == facility_type)
        counted = counted.where(Facility.type == facility_type)
    total = int(session.scalar(counted) or 0)
    rows = session.scalars(query.order_by(Facility.id).limit(limit).offset(offset)).all()
    return total, list(rows)


def create_facility(
    *,
    session: Session,
    type: str,
    name: str,
    lon: float,
    lat: float,
    crs: str = "wgs84",
    capacity: int | None = None,
    source: str = "api",
) -> Facility:
    """Store one facility of a catalogue type (the location converted to WGS84) and commit."""
    check_facility_type(session=session, facility_type=type)
    row = Facility(
        **_stored(
            {"type": type, "name": name, "capacity": capacity, **_location(lon, lat, crs)},
            source=source,
            now=now_utc(),
        )
    )
    session.add(row)
    bump_version(FACILITIES, session=session)
    session.commit()
    return row


def update_facility(*, session: Session, facility_id: int, changes: dict[str, Any]) -> Facility:
    """Change some fields of a facility and commit: type, name, capacity (None clears it), or
    a move with lon and lat (crs defaults to WGS84)."""
    for required in ("type", "name"):
        if required in changes and changes[required] is None:
            raise InvalidFacilityChange(f"{required} cannot be null", allowed="a string")
    moving = {"lon", "lat", "crs"} & set(changes)
    if moving and (changes.get("lon") is None or changes.get("lat") is None):
        raise IncompleteLocation(
            "a move needs both lon and lat",
            allowed="lon and lat together, with crs unless they are WGS84",
        )
    row = get_facility(session=session, facility_id=facility_id)
    if "type" in changes:
        row.type = check_facility_type(session=session, facility_type=changes["type"])
    if "name" in changes:
        row.name = changes["name"]
    if "capacity" in changes:
        row.capacity = changes["capacity"]
    if moving:
        place = _location(changes["lon"], changes["lat"], changes.get("crs") or "wgs84")
        for key, value in place.items():
            setattr(row, key, value)
    row.updated_at = now_utc()
    bump_version(FACILITIES, session=session)
    session.commit()
    return row


def delete_facility(*, session: Session, facility_id: int) -> None:
    """Delete one facility and commit."""
    session.delete(get_facility(session=session, facility_id=facility_id))
    bump_version(FACILITIES, session=session)
    session.commit()


def _location(lon: float, lat: float, crs: str) -> dict[str, Any]:
    """The stored location fields of a point given in ``crs``; InvalidCoordinates if bad."""
    system = parse_crs(crs)
    wlon, wlat, why = points_to_wgs84([lon], [lat], system, errors="flag")
    if why[0]:
        raise InvalidCoordinates(
            f"invalid coordinates ({lon}, {lat}) in {system}: {why[0]}",
            allowed=ALLOWED_LONLAT + " (or x, y of the EPSG system)",
        )
    return {
        "lon": float(wlon[0]),
        "lat": float(wlat[0]),
        "input_crs": str(system),
        "input_lon": float(lon),
        "input_lat": float(lat),
    }


def _stored(row: dict[str, Any], *, source: str, now: datetime) -> dict[str, Any]:
    """The columns of a facility row (a checked row of an import, or one from the API)."""
    columns = ("type", "name", "capacity", "lon", "lat", "input_crs", "input_lon", "input_lat")
    return {
        **{column: row[column] for column in columns},
        "source": source,
        "created_at": now,
        "updated_at": now,
    }


# -- many facilities -------------------------------------------------------------------------


def facilities_frame(*, session: Session, facility_type: str | None = None) -> gpd.GeoDataFrame:
    """Stored facilities (of a type) as points in EPSG:4326: id, type, name, capacity."""
    query = select(
        Facility.id, Facility.type, Facility.name, Facility.capacity, Facility.lon, Facility.lat
    ).order_by(Facility.id)
    if facility_type is not None:
        query = query.where(Facility.type == facility_type)
    rows = session.execute(query).all()
    frame = pd.DataFrame(rows, columns=["id", "type", "name", "capacity", "lon", "lat"])
    geometry = gpd.points_from_xy(frame["lon"].astype(float), frame["lat"].astype(float))
    return gpd.GeoDataFrame(frame.drop(columns=["lon", "lat"]), geometry=geometry, crs=4326).astype(
        {"capacity": object}
    )


def read_facility_import(
    path: str | Path,
    *,
    session: Session,
    crs: str | None = None,
    default_type: str | None = None,
    new_types: bool = False,
    replace: bool = False,
    bset: BoundarySet | None = None,
) -> ParsedFile:
    """Read a facility file (:func:`~api.planning.imports.read_facility_file`) against the
    catalogue, and refuse its rows that are already stored: what an import would store."""
    parsed = read_facility_file(
        path,
        known=known_types(session=session),
        crs=crs,
        default_type=default_type,
        new_types=new_types,
        bset=bset,
    )
    check_stored_duplicates(parsed, session=session, replace=replace)
    return parsed


def check_stored_duplicates(parsed: ParsedFile, *, session: Session, replace: bool) -> None:
    """Refuse rows that are already stored (same type and name within about a metre), unless
    the stored facilities of their types are about to be replaced."""
    if replace or not parsed.rows:
        return
    types = sorted({r["type"] for r in parsed.rows})
    stored = session.execute(
        select(Facility.id, Facility.type, Facility.name, Facility.lon, Facility.lat).where(
            Facility.type.in_(types)
        )
    ).all()
    by_key: dict[tuple[str, str], list[tuple[int, float, float]]] = {}
    for fid, kind, name, lon, lat in stored:
        by_key.setdefault((kind, name), []).append((fid, lon, lat))
    keep = []
    for row in parsed.rows:
        match = next(
            (
                fid
                for fid, lon, lat in by_key.get((row["type"], row["name"]), [])
                if abs(lon - row["lon"]) < SAME_PLACE_DEG and abs(lat - row["lat"]) < SAME_PLACE_DEG
            ),
            None,
        )
        if match is None:
            keep.append(row)
        else:
            parsed.problems.append(
                RowProblem(
                    row["line"],
                    f"already stored as facility {match} (--replace reloads the list)",
                    row.get("feature"),
                )
            )
    parsed.rows = keep
    parsed.sort()


def store_facilities(
    rows: list[dict[str, Any]],
    *,
    session: Session,
    replace: bool = False,
    source: str = "",
    on_progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Insert checked facility rows in one transaction (after deleting the stored facilities
    of their types with ``replace``) and commit; returns counts."""
    types = sorted({r["type"] for r in rows})
    replaced = delete(Facility).where(Facility.type.in_(types)) if replace and types else None
    return _insert(rows, replaced, session=session, source=source, on_progress=on_progress)


def reload_facilities(
    rows: list[dict[str, Any]], *, session: Session, source: str
) -> dict[str, int]:
    """Replace the facilities stored from ``source`` (e.g. the demo's) by ``rows``, in one
    transaction, and commit; returns counts."""
    replaced = delete(Facility).where(Facility.source == source)
    return _insert(rows, replaced, session=session, source=source, on_progress=None)


def _insert(
    rows: list[dict[str, Any]],
    replaced: Delete | None,
    *,
    session: Session,
    source: str,
    on_progress: Callable[[int], None] | None,
) -> dict[str, int]:
    """Run the DELETE of the rows replaced (if any), insert the rows and commit."""
    deleted = delete_rows(replaced, session=session) if replaced is not None else 0
    now = now_utc()
    values = [_stored(r, source=source, now=now) for r in rows]
    insert_rows(Facility, values, session=session, on_progress=on_progress)
    bump_version(FACILITIES, session=session)
    session.commit()
    return {"imported": len(rows), "deleted": int(deleted)}


def count_by_type(rows: Iterable[dict[str, Any]]) -> dict[str, int]:
    """How many rows of each facility type, types in order."""
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["type"]] = counts.get(row["type"], 0) + 1
    return dict(sorted(counts.items()))
