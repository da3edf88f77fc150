"""Planning data and coverage: care facilities, the population base table, cached coverage.

Facilities
----------
A facility has a type from the catalogue, a name, an optional capacity and a location held in
WGS84 beside the location as given (lon, lat and coordinate system, as for reports). The
catalogue is the built-in :data:`FACILITY_TYPES` plus every type already stored. The API and
imports refuse other types, so a typo (``elderly-care``) never becomes a type of its own; an
import adds new types only when told to (``--new-types``).

Population
----------
The population base table (一张表) has two tables: residents and residents aged 60+ per unit
code (any level; codes must be in the boundary set when imported; units must not contain one
another) or per point (a building or household, WGS84 with the input kept). Coverage uses the
per-unit table when it has rows, else the points (``population=units|points`` chooses).

Imports (``wangge facilities import``, ``wangge population import``) read every row first and
report every bad row with its line number and the reason. By default a file with a bad row
imports nothing; ``--skip-invalid`` imports the good rows and still lists the bad ones.

* Facilities are appended; a row with the same type and name as a stored facility within
  about a metre is refused as already stored. ``--replace`` deletes the stored facilities of
  the types in the file first (reloading an official list).
* Population per unit is upserted by code (a code's row is replaced, other codes are kept);
  per point it is appended. ``--replace`` empties the table(s) the file has rows for first.

Coverage
--------
:class:`Planning` computes :func:`geo.coverage.coverage_by_unit` for the stored facilities
of a type and the stored population, and keeps the answers in memory keyed by the parameters
and by the data versions: a counter per table (``planning_versions``) bumped in the same
transaction as every change, by the API or by the command line of another process. A change
is therefore seen on the next request and the stale answers are dropped.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import re
import threading
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from fastapi import Depends, Request
from numpy.typing import NDArray
from sqlalchemy import CursorResult, Delete, delete, func, insert, select, update
from sqlalchemy.orm import Session

from api.db import Database
from api.db.models import Facility, PlanningVersion, PopulationPoint, PopulationUnit
from geo.coverage import (
    CIRCLE,
    DEFAULT_MINUTES,
    DEFAULT_SPEED_M_PER_MIN,
    NETWORK,
    CoverageResult,
    coverage_by_unit,
    suggest_sites,
)
from geo.crs import NAMED_SYSTEMS, invalid_lonlat, parse_crs, transform_coords
from geo.errors import InvalidCoordinates, InvalidServiceParameters, NetworkFileError, WanggeError
from geo.network import StreetNetwork, read_street_network
from geo.units import BoundarySet

#: The built-in facility types: code -> (Chinese name, English name).
FACILITY_TYPES: dict[str, tuple[str, str]] = {
    "elderly_care": ("居家养老服务中心", "Elderly home-care centre"),
    "clinic": ("社区卫生服务站", "Community health station"),
    "community_centre": ("社区党群服务中心", "Community service centre"),
}
DEFAULT_FACILITY_TYPE = "elderly_care"
TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")

#: Ranges of the coverage parameters (minutes of walking, metres per minute, new sites).
MINUTES_RANGE = (1.0, 120.0)
SPEED_RANGE = (10.0, 200.0)
K_RANGE = (1, 50)
#: Most candidate sites per request; in network mode each needs its own network area.
MAX_CANDIDATES = 20_000
MAX_NETWORK_CANDIDATES = 500
#: The level coverage is reported at unless one is asked for (else the deepest level).
DEFAULT_LEVEL = "community"
POPULATION_SOURCES = ("units", "points")
#: Stored facilities this close (degrees, about a metre) with the same type and name are one.
SAME_PLACE_DEG = 1e-5
#: Imported points further than this (degrees, about 10 km) outside the boundary set's extent
#: are flagged: usually swapped lon/lat or the wrong coordinate system.
FAR_OUTSIDE_DEG = 0.1

FACILITIES = "facilities"
POPULATION = "population"


class UnknownFacilityType(WanggeError):
    """A facility type that is not in the catalogue."""

    code = "unknown_facility_type"


class FacilityNotFound(WanggeError):
    """No facility with that id."""

    code = "facility_not_found"


class InvalidRows(WanggeError):
    """An import file with bad rows, or one that cannot be read at all."""

    code = "invalid_rows"


class NetworkNotConfigured(WanggeError):
    """Network mode was asked for but no street network is configured."""

    code = "network_not_configured"


#: Status code for each planning error (composed with the others in api.main).
PLANNING_STATUS_CODES: dict[type[WanggeError], int] = {
    UnknownFacilityType: 422,
    FacilityNotFound: 404,
    InvalidRows: 422,
    NetworkNotConfigured: 409,
}


def now_utc() -> datetime:
    return datetime.now(UTC)


# -- coordinates -----------------------------------------------------------------------------


def points_to_wgs84(
    x: Sequence[float] | NDArray[np.float64], y: Sequence[float] | NDArray[np.float64], crs: str
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.str_]]:
    """WGS84 lon/lat of points given in ``crs``, and the reason each bad one is refused.

    Raises :class:`~geo.errors.UnknownCRS` for an unknown system; the reasons are "" for good
    points, which are NaN-free.
    """
    system = parse_crs(crs)
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    if system.name in NAMED_SYSTEMS:
        bad, why = invalid_lonlat(xs, ys)
        why = why.astype(object)
    else:
        bad = ~(np.isfinite(xs) & np.isfinite(ys))
        why = np.where(bad, "x or y is not a finite number", "").astype(object)
    lon = np.full(xs.shape, np.nan)
    lat = np.full(ys.shape, np.nan)
    good = np.flatnonzero(~bad)
    if good.size:
        lon[good], lat[good] = transform_coords(xs[good], ys[good], system, "wgs84")
        off, _ = invalid_lonlat(lon[good], lat[good])
        why[good[off]] = f"outside the globe once converted from {system}"
        bad[good[off]] = True
    lon[bad] = np.nan
    lat[bad] = np.nan
    return lon, lat, why.astype(str)


def point_to_wgs84(x: float, y: float, crs: str) -> tuple[float, float]:
    """One point to WGS84; :class:`~geo.errors.InvalidCoordinates` if it is invalid."""
    lon, lat, why = points_to_wgs84([x], [y], crs)
    if why[0]:
        raise InvalidCoordinates(
            f"invalid coordinates ({x}, {y}) in {parse_crs(crs)}: {why[0]}",
            allowed="finite numbers with -180 <= lon <= 180 and -90 <= lat <= 90 "
            "(or x, y of the EPSG system)",
        )
    return float(lon[0]), float(lat[0])


# -- versions --------------------------------------------------------------------------------


def bump_version(session: Session, *names: str) -> None:
    """Mark tables changed (in the caller's transaction)."""
    session.execute(
        update(PlanningVersion)
        .where(PlanningVersion.name.in_(names))
        .values(version=PlanningVersion.version + 1)
    )


def data_versions(session: Session) -> dict[str, int]:
    rows = session.execute(select(PlanningVersion.name, PlanningVersion.version)).all()
    found = {name: int(version) for name, version in rows}
    return {FACILITIES: found.get(FACILITIES, 0), POPULATION: found.get(POPULATION, 0)}


# -- facilities ------------------------------------------------------------------------------


def facility_types(session: Session) -> list[dict[str, Any]]:
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


def known_types(session: Session) -> list[str]:
    return [t["code"] for t in facility_types(session)]


def check_facility_type(session: Session, facility_type: str) -> str:
    known = known_types(session)
    if facility_type not in known:
        raise UnknownFacilityType(
            f"unknown facility type {facility_type!r}", allowed=", ".join(known)
        )
    return facility_type


def facility_out(row: Facility) -> dict[str, Any]:
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


def get_facility(session: Session, facility_id: int) -> Facility:
    row = session.get(Facility, facility_id)
    if row is None:
        raise FacilityNotFound(
            f"no facility {facility_id}", allowed="ids listed by GET /facilities"
        )
    return row


def create_facility(
    session: Session,
    *,
    type: str,
    name: str,
    lon: float,
    lat: float,
    crs: str = "wgs84",
    capacity: int | None = None,
    source: str = "api",
) -> Facility:
    """Store one facility of a catalogue type (the location converted to WGS84) and commit."""
    check_facility_type(session, type)
    system = str(parse_crs(crs))
    wlon, wlat = point_to_wgs84(lon, lat, system)
    now = now_utc()
    row = Facility(
        type=type,
        name=name,
        capacity=capacity,
        lon=wlon,
        lat=wlat,
        input_crs=system,
        input_lon=float(lon),
        input_lat=float(lat),
        source=source,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    bump_version(session, FACILITIES)
    session.commit()
    return row


def update_facility(session: Session, facility_id: int, changes: dict[str, Any]) -> Facility:
    """Change some fields of a facility; a move needs lon and lat (crs defaults to WGS84)."""
    row = get_facility(session, facility_id)
    if "type" in changes:
        row.type = check_facility_type(session, changes["type"])
    if "name" in changes:
        row.name = changes["name"]
    if "capacity" in changes:
        row.capacity = changes["capacity"]
    if {"lon", "lat"} & set(changes):
        system = str(parse_crs(changes.get("crs") or "wgs84"))
        lon, lat = float(changes["lon"]), float(changes["lat"])
        row.lon, row.lat = point_to_wgs84(lon, lat, system)
        row.input_lon, row.input_lat, row.input_crs = lon, lat, system
    row.updated_at = now_utc()
    bump_version(session, FACILITIES)
    session.commit()
    return row


def delete_facility(session: Session, facility_id: int) -> None:
    session.delete(get_facility(session, facility_id))
    bump_version(session, FACILITIES)
    session.commit()


def facilities_frame(session: Session, facility_type: str | None = None) -> gpd.GeoDataFrame:
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


# -- reading import files --------------------------------------------------------------------


@dataclass(frozen=True)
class RowProblem:
    """A row of an import file that is refused (or only flagged, for warnings), and why."""

    line: int
    reason: str
    feature: int | None = None  # GeoJSON: position of the feature in "features"


@dataclass
class ParsedFile:
    """What an import file holds: good rows (with their line), bad rows, warnings."""

    path: Path
    rows: list[dict[str, Any]] = field(default_factory=list)
    problems: list[RowProblem] = field(default_factory=list)
    warnings: list[RowProblem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    total: int = 0
    encoding: str = "utf-8"

    @property
    def ok(self) -> bool:
        return not self.problems


def _read_text(path: Path) -> tuple[str, str]:
    """The file's text and encoding: UTF-8 (with or without BOM), else GB 18030 (Excel's
    Chinese default)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise InvalidRows(
            f"cannot read {path}: {exc.strerror}", allowed="a readable file"
        ) from None
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding), "utf-8" if encoding == "utf-8-sig" else encoding
        except UnicodeDecodeError:
            continue
    raise InvalidRows(f"{path.name} is neither UTF-8 nor GB 18030 text", allowed="UTF-8 text")


@dataclass
class _CsvRow:
    line: int
    values: dict[str, str]


def _csv_rows(
    path: Path, text: str, parsed: ParsedFile, known: Iterable[str]
) -> tuple[list[str], list[_CsvRow]]:
    """Header (lower case, trimmed) and rows with the line each starts on; rows with the wrong
    number of fields become problems; unknown columns a note."""
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip().lower() for h in next(reader)]
    except StopIteration:
        raise InvalidRows(f"{path.name} is empty", allowed="a CSV file with a header") from None
    except csv.Error as exc:
        raise InvalidRows(f"{path.name} line 1: {exc}", allowed="a CSV file") from None
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise InvalidRows(f"{path.name}: column(s) {repeated} repeat", allowed="distinct columns")
    ignored = [h for h in header if h not in set(known)]
    if ignored:
        parsed.notes.append(f"ignored column(s): {', '.join(ignored)}")
    rows: list[_CsvRow] = []
    start = reader.line_num + 1
    while True:
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            parsed.problems.append(RowProblem(start, f"not valid CSV: {exc}"))
            start = reader.line_num + 1
            continue
        line, start = start, reader.line_num + 1
        if not fields or all(not f.strip() for f in fields):
            continue  # blank lines are not rows
        parsed.total += 1
        if len(fields) != len(header):
            parsed.problems.append(
                RowProblem(line, f"has {len(fields)} field(s); the header has {len(header)}")
            )
            continue
        rows.append(_CsvRow(line, {h: f.strip() for h, f in zip(header, fields, strict=True)}))
    return header, rows


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{what} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise ValueError(f"{what} {text!r} is not a finite number")
    return value


def _count(value: Any, what: str, *, optional: bool = False) -> int | None:
    """A whole number >= 0 from text or JSON (None when optional and empty)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        if optional:
            return None
        raise ValueError(f"{what} is missing")
    if isinstance(value, bool):
        raise ValueError(f"{what} {value!r} is not a whole number")
    number = _number(str(value).strip(), what) if isinstance(value, str) else float(value)
    if not math.isfinite(number) or number != int(number):
        raise ValueError(f"{what} {value!r} is not a whole number")
    if number < 0:
        raise ValueError(f"{what} {value!r} is negative")
    if number > 2**31 - 1:
        raise ValueError(f"{what} {value!r} is too large")
    return int(number)


def _line_starts(text: str) -> list[int]:
    return [0] + [m.end() for m in re.finditer("\n", text)]


_WS = re.compile(r"[ \t\n\r]*")


def _skip(text: str, pos: int) -> int:
    """The position after any JSON whitespace at ``pos``."""
    match = _WS.match(text, pos)
    return match.end() if match else pos


def _features_with_offsets(text: str) -> tuple[dict[str, Any], list[tuple[int, Any]]]:
    """The top-level members of a (valid) GeoJSON text and its features, each with the offset
    it starts at, so that bad features can be named by line."""
    decoder = json.JSONDecoder()
    top: dict[str, Any] = {}
    features: list[tuple[int, Any]] = []
    pos = _skip(text, 0)
    if text[pos : pos + 1] != "{":
        return top, features
    pos += 1
    while True:
        pos = _skip(text, pos)
        if text[pos] == "}":
            break
        key, pos = decoder.raw_decode(text, pos)
        pos = _skip(text, pos) + 1  # the colon
        pos = _skip(text, pos)
        if key == "features" and text[pos] == "[":
            pos += 1
            while True:
                pos = _skip(text, pos)
                if text[pos] == "]":
                    pos += 1
                    break
                start = pos
                value, pos = decoder.raw_decode(text, pos)
                features.append((start, value))
                pos = _skip(text, pos)
                if text[pos] == ",":
                    pos += 1
            top[key] = [f for _, f in features]
        else:
            top[key], pos = decoder.raw_decode(text, pos)
        pos = _skip(text, pos)
        if text[pos] == ",":
            pos += 1
    return top, features


def _declared_crs(top: dict[str, Any]) -> str | None:
    """The coordinate system a GeoJSON file names in its (pre-RFC 7946) ``crs`` member."""
    member = top.get("crs")
    if not isinstance(member, dict):
        return None
    name = str((member.get("properties") or {}).get("name", ""))
    if re.search(r"CRS84$", name, re.IGNORECASE):
        return "wgs84"
    match = re.search(r"EPSG:{1,2}(\d+)$", name, re.IGNORECASE)
    return f"EPSG:{match.group(1)}" if match else None


def _geojson_records(
    path: Path, text: str, parsed: ParsedFile
) -> tuple[dict[str, Any], list[tuple[int, int, Any]]]:
    """(top-level members, [(line, feature position, feature)]) of a GeoJSON text."""
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidRows(
            f"{path.name} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            allowed="a GeoJSON FeatureCollection of points",
        ) from None
    top, features = _features_with_offsets(text)
    if top.get("type") != "FeatureCollection" or "features" not in top:
        raise InvalidRows(
            f"{path.name} is not a GeoJSON FeatureCollection",
            allowed='{"type": "FeatureCollection", "features": [...]} of points',
        )
    starts = _line_starts(text)
    return top, [(bisect_right(starts, offset), i, f) for i, (offset, f) in enumerate(features)]


def _point_of(feature: Any) -> tuple[float, float]:
    if not isinstance(feature, dict) or feature.get("type") != "Feature":
        raise ValueError("is not a GeoJSON Feature")
    geometry = feature.get("geometry")
    if not isinstance(geometry, dict):
        raise ValueError("has no geometry")
    if geometry.get("type") != "Point":
        raise ValueError(f"geometry is a {geometry.get('type')}, not a Point")
    coords = geometry.get("coordinates")
    if not isinstance(coords, list) or len(coords) not in (2, 3):
        raise ValueError("Point coordinates are not [lon, lat]")
    if not all(isinstance(c, int | float) and not isinstance(c, bool) for c in coords):
        raise ValueError("Point coordinates are not numbers")
    return float(coords[0]), float(coords[1])


def _resolve_crs(row_crs: str, option_crs: str | None, fallback: str) -> str:
    """The system of one row: --crs if given (a different row value is an error), else the
    row's own, else the file's."""
    if option_crs is not None:
        if row_crs and str(parse_crs(row_crs)) != option_crs:
            raise ValueError(
                f"its crs is {row_crs!r} but --crs {option_crs} was given for the whole file"
            )
        return option_crs
    return str(parse_crs(row_crs)) if row_crs else fallback


def _located(
    parsed: ParsedFile,
    items: list[tuple[RowProblem, dict[str, Any], float, float, str]],
    bset: BoundarySet | None,
) -> None:
    """Convert the rows' points to WGS84 (vectorised per system) and keep the good rows."""
    by_crs: dict[str, list[int]] = {}
    for i, item in enumerate(items):
        by_crs.setdefault(item[4], []).append(i)
    lon = np.full(len(items), np.nan)
    lat = np.full(len(items), np.nan)
    why = np.full(len(items), "", dtype=object)
    for system, members in by_crs.items():
        idx = np.array(members)
        xs = np.array([items[i][2] for i in members])
        ys = np.array([items[i][3] for i in members])
        lon[idx], lat[idx], why[idx] = points_to_wgs84(xs, ys, system)
    if bset is not None:
        minx, miny, maxx, maxy = bset.bounds
        far = (lon < minx - FAR_OUTSIDE_DEG) | (lon > maxx + FAR_OUTSIDE_DEG)
        far |= (lat < miny - FAR_OUTSIDE_DEG) | (lat > maxy + FAR_OUTSIDE_DEG)
    else:
        far = np.zeros(len(items), dtype=bool)
    for i, (where, row, x, y, system) in enumerate(items):
        if why[i]:
            parsed.problems.append(
                RowProblem(
                    where.line, f"coordinates ({x}, {y}) in {system}: {why[i]}", where.feature
                )
            )
            continue
        if far[i]:
            parsed.warnings.append(
                RowProblem(
                    where.line,
                    f"({x}, {y}) in {system} is more than about 10 km outside the boundary set: "
                    "lon and lat swapped, or the wrong coordinate system?",
                    where.feature,
                )
            )
        row.update(lon=float(lon[i]), lat=float(lat[i]), input_lon=x, input_lat=y, input_crs=system)
        parsed.rows.append(row)


@dataclass
class _FacilityRowCheck:
    """Checks the fields of one facility row; remembers rows to find repeats in the file."""

    known: set[str]
    default_type: str | None
    new_types: bool
    seen: dict[tuple[str, str, float, float], int] = field(default_factory=dict)

    def __call__(self, line: int, fields: dict[str, Any], x: float, y: float) -> dict[str, Any]:
        name = str(fields.get("name") or "").strip()
        if not name:
            raise ValueError("name is missing")
        if len(name) > 200:
            raise ValueError("name is longer than 200 characters")
        kind = str(fields.get("type") or "").strip() or self.default_type
        if not kind:
            raise ValueError("type is missing (give a type column or --type)")
        if kind not in self.known and not self.new_types:
            raise ValueError(
                f"unknown facility type {kind!r} (known: {', '.join(sorted(self.known))}; "
                "--new-types adds it)"
            )
        if not TYPE_PATTERN.match(kind):
            raise ValueError(f"type {kind!r} is not a type code (lower-case letters, digits and _)")
        capacity = _count(fields.get("capacity"), "capacity", optional=True)
        same = (kind, name, round(x, 6), round(y, 6))
        if same in self.seen:
            raise ValueError(f"repeats line {self.seen[same]} (same type, name and place)")
        self.seen[same] = line
        return {"type": kind, "name": name, "capacity": capacity, "line": line}


FACILITY_COLUMNS = ("name", "type", "lon", "lat", "capacity", "crs")


def read_facility_file(
    path: str | Path,
    *,
    known: Iterable[str],
    crs: str | None = None,
    default_type: str | None = None,
    new_types: bool = False,
    bset: BoundarySet | None = None,
) -> ParsedFile:
    """Read facilities from CSV (``name,type,lon,lat[,capacity][,crs]``) or GeoJSON (points
    with properties ``name``, ``type``, ``capacity``), checking every row.

    ``crs`` is the coordinate system of every row (a CSV row naming another is refused;
    a GeoJSON file's own ``crs`` member is overridden, with a warning); without it, a CSV
    row's ``crs`` column or the GeoJSON file's ``crs`` member, else WGS84. ``default_type``
    is the type of rows without one. Types outside ``known`` are refused unless
    ``new_types``. Each row comes back as a dict ready for :func:`store_facilities`.
    """
    target = Path(path)
    option = str(parse_crs(crs)) if crs is not None else None
    if default_type is not None and not TYPE_PATTERN.match(default_type):
        raise InvalidRows(
            f"--type {default_type!r} is not a type code", allowed=TYPE_PATTERN.pattern
        )
    text, encoding = _read_text(target)
    parsed = ParsedFile(target, encoding=encoding)
    known_set = set(known)
    items: list[tuple[RowProblem, dict[str, Any], float, float, str]] = []
    check = _FacilityRowCheck(known_set, default_type, new_types)

    if target.suffix.lower() in (".geojson", ".json"):
        top, features = _geojson_records(target, text, parsed)
        declared = _declared_crs(top)
        if option is not None and declared is not None and declared != option:
            parsed.warnings.append(
                RowProblem(1, f"the file says its crs is {declared}; --crs {option} is used")
            )
        system = option or declared or "wgs84"
        for line, position, feature in features:
            parsed.total += 1
            where = RowProblem(line, "", position)
            try:
                x, y = _point_of(feature)
                properties = feature.get("properties") or {}
                if not isinstance(properties, dict):
                    raise ValueError("properties is not an object")
                row = check(where.line, properties, x, y)
            except ValueError as exc:
                parsed.problems.append(RowProblem(line, f"feature {position}: {exc}", position))
                continue
            row["feature"] = position
            items.append((where, row, x, y, system))
    else:
        header, rows = _csv_rows(target, text, parsed, FACILITY_COLUMNS)
        needed = ["name", "lon", "lat"] + ([] if default_type else ["type"])
        missing = [c for c in needed if c not in header]
        if missing:
            raise InvalidRows(
                f"{target.name} lacks column(s) {missing}; it has {header}",
                allowed="columns name,type,lon,lat[,capacity][,crs] (type may come from --type)",
            )
        for record in rows:
            where = RowProblem(record.line, "")
            try:
                x = _number(record.values["lon"], "lon")
                y = _number(record.values["lat"], "lat")
                system = _resolve_crs(record.values.get("crs", ""), option, "wgs84")
                row = check(record.line, record.values, x, y)
            except (ValueError, WanggeError) as exc:
                reason = exc.message if isinstance(exc, WanggeError) else str(exc)
                parsed.problems.append(RowProblem(record.line, reason))
                continue
            items.append((where, row, x, y, system))
    _located(parsed, items, bset)
    unknown = sorted({r["type"] for r in parsed.rows} - known_set)
    if unknown:
        parsed.notes.append(f"new facility type(s): {', '.join(unknown)}")
    parsed.problems.sort(key=lambda p: p.line)
    parsed.rows.sort(key=lambda r: r["line"])
    return parsed


def check_stored_duplicates(session: Session, parsed: ParsedFile, *, replace: bool) -> None:
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
    parsed.problems.sort(key=lambda p: p.line)


def _deleted(session: Session, statement: Delete) -> int:
    """Run a DELETE; the number of rows it removed."""
    result = cast(CursorResult[Any], session.execute(statement))
    return int(result.rowcount or 0)


#: Rows per INSERT statement when storing an import.
INSERT_CHUNK = 5_000


def _insert_chunks(
    session: Session,
    model: type[Facility] | type[PopulationUnit] | type[PopulationPoint],
    rows: list[dict[str, Any]],
    on_progress: Callable[[int], None] | None,
) -> None:
    """Insert rows with one executemany per chunk (Core: no objects for big imports)."""
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[start : start + INSERT_CHUNK]
        session.execute(insert(model), chunk)
        if on_progress is not None:
            on_progress(len(chunk))


def store_facilities(
    session: Session,
    rows: list[dict[str, Any]],
    *,
    replace: bool = False,
    source: str = "",
    on_progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Insert checked facility rows in one transaction (after deleting the stored facilities
    of their types with ``replace``); returns counts."""
    deleted = 0
    types = sorted({r["type"] for r in rows})
    if replace and types:
        deleted = _deleted(session, delete(Facility).where(Facility.type.in_(types)))
    now = now_utc()
    values = [
        {
            "type": r["type"],
            "name": r["name"],
            "capacity": r["capacity"],
            "lon": r["lon"],
            "lat": r["lat"],
            "input_crs": r["input_crs"],
            "input_lon": r["input_lon"],
            "input_lat": r["input_lat"],
            "source": source,
            "created_at": now,
            "updated_at": now,
        }
        for r in rows
    ]
    _insert_chunks(session, Facility, values, on_progress)
    bump_version(session, FACILITIES)
    session.commit()
    return {"imported": len(rows), "deleted": int(deleted)}


# -- population ------------------------------------------------------------------------------


POPULATION_COLUMNS_IN = ("code", "lon", "lat", "crs", "residents", "residents_60")


def read_population_file(
    path: str | Path, *, bset: BoundarySet, crs: str | None = None
) -> ParsedFile:
    """Read a population CSV: per unit (``code,residents,residents_60``) or per point
    (``lon,lat,residents,residents_60[,crs]``); a file may hold both kinds, a row is one or the
    other by which cells are filled. Codes must be units of ``bset``, once each.

    Good rows come back with ``kind`` "unit" (``code``) or "point" (WGS84 ``lon``/``lat`` and
    the input), and ``residents``, ``residents_60``.
    """
    target = Path(path)
    option = str(parse_crs(crs)) if crs is not None else None
    text, encoding = _read_text(target)
    parsed = ParsedFile(target, encoding=encoding)
    header, records = _csv_rows(target, text, parsed, POPULATION_COLUMNS_IN)
    by_code = "code" in header
    by_point = "lon" in header and "lat" in header
    missing = [c for c in ("residents", "residents_60") if c not in header]
    if missing or not (by_code or by_point):
        raise InvalidRows(
            f"{target.name} lacks column(s) {missing or ['code or lon,lat']}; it has {header}",
            allowed="code,residents,residents_60 (per unit) or lon,lat,residents,residents_60"
            "[,crs] (per point)",
        )
    items: list[tuple[RowProblem, dict[str, Any], float, float, str]] = []
    seen_codes: dict[str, int] = {}
    units: list[dict[str, Any]] = []
    for record in records:
        values = record.values
        try:
            residents = _count(values.get("residents"), "residents")
            residents_60 = _count(values.get("residents_60"), "residents_60")
            assert residents is not None and residents_60 is not None
            if residents_60 > residents:
                raise ValueError(f"residents_60 {residents_60} is more than residents {residents}")
            code = values.get("code", "")
            has_point = bool(values.get("lon", "") or values.get("lat", ""))
            if code and has_point:
                raise ValueError("has both a code and lon/lat: give one or the other")
            if code:
                if code in seen_codes:
                    raise ValueError(f"unit {code!r} repeats line {seen_codes[code]}")
                seen_codes[code] = record.line
                units.append(
                    {
                        "kind": "unit",
                        "code": code,
                        "residents": residents,
                        "residents_60": residents_60,
                        "line": record.line,
                    }
                )
                continue
            if not has_point:
                raise ValueError("has neither a code nor lon/lat")
            x = _number(values.get("lon", ""), "lon")
            y = _number(values.get("lat", ""), "lat")
            system = _resolve_crs(values.get("crs", ""), option, option or "wgs84")
        except (ValueError, WanggeError) as exc:
            reason = exc.message if isinstance(exc, WanggeError) else str(exc)
            parsed.problems.append(RowProblem(record.line, reason))
            continue
        point: dict[str, Any] = {
            "kind": "point",
            "residents": residents,
            "residents_60": residents_60,
            "line": record.line,
        }
        items.append((RowProblem(record.line, ""), point, x, y, system))
    if units:
        positions = bset.positions([u["code"] for u in units])
        for unit, pos in zip(units, positions, strict=True):
            if pos < 0:
                parsed.problems.append(
                    RowProblem(unit["line"], f"unit {unit['code']!r} is not in the boundary set")
                )
            else:
                parsed.rows.append(unit)
    _located(parsed, items, bset)
    parsed.problems.sort(key=lambda p: p.line)
    parsed.rows.sort(key=lambda r: r["line"])
    return parsed


def check_population_nesting(
    parsed: ParsedFile, bset: BoundarySet, stored_codes: Iterable[str]
) -> None:
    """Refuse unit rows whose unit contains, or lies in, another unit with a population row
    (in the file or kept in the table): such residents would be counted twice."""
    rows = [r for r in parsed.rows if r["kind"] == "unit"]
    if not rows:
        return
    line_of = {r["code"]: r["line"] for r in rows}
    present = set(stored_codes) | set(line_of)
    codes = sorted(present)
    positions = bset.positions(codes)
    known = positions >= 0
    code_at = dict(
        zip(positions[known].tolist(), np.array(codes, dtype=object)[known], strict=True)
    )
    chains = bset.chains
    bad: dict[str, str] = {}
    for code, pos in zip(codes, positions.tolist(), strict=True):
        if pos < 0:
            continue
        depth = int(bset.units["depth"].iat[pos])
        for ancestor in chains[pos, :depth].tolist():
            outer = code_at.get(ancestor)
            if outer is None:
                continue
            where = "in this file" if outer in line_of else "already in the table"
            inner_where = "in this file" if code in line_of else "already in the table"
            if code in line_of:
                bad.setdefault(code, f"unit {code!r} lies in unit {outer!r}, whose row is {where}")
            if outer in line_of:
                bad.setdefault(
                    outer, f"unit {outer!r} contains unit {code!r}, whose row is {inner_where}"
                )
    if not bad:
        return
    hint = " (--replace empties the table first)"
    for code, reason in bad.items():
        stored_only = "already in the table" in reason
        parsed.problems.append(RowProblem(line_of[code], reason + (hint if stored_only else "")))
    parsed.rows = [r for r in parsed.rows if r.get("code") not in bad]
    parsed.problems.sort(key=lambda p: p.line)


def stored_unit_codes(session: Session) -> list[str]:
    return list(session.scalars(select(PopulationUnit.code)))


def store_population(
    session: Session,
    rows: list[dict[str, Any]],
    *,
    replace: bool = False,
    source: str = "",
    on_progress: Callable[[int], None] | None = None,
) -> dict[str, int]:
    """Store checked population rows in one transaction: unit rows upserted by code, point rows
    appended; with ``replace`` the table(s) the rows belong to are emptied first."""
    units = [r for r in rows if r["kind"] == "unit"]
    points = [r for r in rows if r["kind"] == "point"]
    now = now_utc()
    counts = {"units": len(units), "points": len(points), "units_replaced": 0, "deleted": 0}
    if replace and units:
        counts["deleted"] += _deleted(session, delete(PopulationUnit))
    if replace and points:
        counts["deleted"] += _deleted(session, delete(PopulationPoint))
    if units and not replace:
        codes = [u["code"] for u in units]
        for start in range(0, len(codes), 5_000):
            chunk = codes[start : start + 5_000]
            counts["units_replaced"] += _deleted(
                session, delete(PopulationUnit).where(PopulationUnit.code.in_(chunk))
            )
    _insert_chunks(
        session,
        PopulationUnit,
        [
            {
                "code": u["code"],
                "residents": u["residents"],
                "residents_60": u["residents_60"],
                "source": source,
                "updated_at": now,
            }
            for u in units
        ],
        on_progress,
    )
    _insert_chunks(
        session,
        PopulationPoint,
        [
            {
                "lon": p["lon"],
                "lat": p["lat"],
                "input_crs": p["input_crs"],
                "input_lon": p["input_lon"],
                "input_lat": p["input_lat"],
                "residents": p["residents"],
                "residents_60": p["residents_60"],
                "source": source,
                "created_at": now,
            }
            for p in points
        ],
        on_progress,
    )
    bump_version(session, POPULATION)
    session.commit()
    return counts


def population_totals(session: Session) -> dict[str, int]:
    """Rows and residents in each population table."""
    units = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(PopulationUnit.residents), 0),
            func.coalesce(func.sum(PopulationUnit.residents_60), 0),
        )
    ).one()
    points = session.execute(
        select(
            func.count(),
            func.coalesce(func.sum(PopulationPoint.residents), 0),
            func.coalesce(func.sum(PopulationPoint.residents_60), 0),
        )
    ).one()
    return {
        "unit_rows": int(units[0]),
        "unit_residents": int(units[1]),
        "unit_residents_60": int(units[2]),
        "point_rows": int(points[0]),
        "point_residents": int(points[1]),
        "point_residents_60": int(points[2]),
    }


# -- coverage --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CoverageParams:
    """What a coverage answer depends on, besides the data."""

    facility_type: str = DEFAULT_FACILITY_TYPE
    minutes: float = DEFAULT_MINUTES
    speed: float = DEFAULT_SPEED_M_PER_MIN
    level: str | None = None
    mode: str = CIRCLE
    population: str | None = None  # "units", "points" or None: units if any, else points

    @classmethod
    def of(
        cls,
        facility_type: str,
        minutes: float,
        speed: float | None,
        level: str | None,
        mode: str,
        population: str | None = None,
    ) -> CoverageParams:
        """Parameters as requests and commands give them (no speed: the default speed)."""
        return cls(
            facility_type=facility_type,
            minutes=minutes,
            speed=DEFAULT_SPEED_M_PER_MIN if speed is None else speed,
            level=level,
            mode=mode,
            population=population,
        )


@dataclass(frozen=True, eq=False)
class CoverageEntry:
    """A computed coverage, its facilities and the serialised API answer."""

    params: CoverageParams
    level: str
    result: CoverageResult
    facilities: gpd.GeoDataFrame
    summary: dict[str, Any]
    payload: bytes
    etag: str


def check_parameters(
    minutes: float, speed: float, mode: str, population: str | None, k: int | None = None
) -> None:
    """Refuse parameters outside the service's ranges (the API's query checks say the same)."""
    checks = [
        ("minutes", minutes, MINUTES_RANGE),
        ("speed", speed, SPEED_RANGE),
    ]
    if k is not None:
        checks.append(("k", k, K_RANGE))
    for name, value, (low, high) in checks:
        if not (isinstance(value, int | float) and math.isfinite(value) and low <= value <= high):
            unit = {"minutes": "minutes", "speed": "metres per minute", "k": "sites"}[name]
            raise InvalidServiceParameters(
                f"{name} {value!r} is out of range", allowed=f"{low:g} to {high:g} {unit}"
            )
    if mode not in (CIRCLE, NETWORK):
        raise InvalidServiceParameters(f"unknown mode {mode!r}", allowed="circle, network")
    if population is not None and population not in POPULATION_SOURCES:
        raise InvalidServiceParameters(
            f"unknown population source {population!r}", allowed="units, points"
        )


def _finite(value: Any, digits: int) -> float | None:
    number = float(value)
    return round(number, digits) if math.isfinite(number) else None


class Planning:
    """Facilities, population and coverage over one boundary set and database, with the
    coverage answers cached per parameters and data version (at most ``cache_size``)."""

    def __init__(
        self,
        bset: BoundarySet,
        db: Database,
        *,
        street_network: Path | None = None,
        cache_size: int = 8,
    ) -> None:
        self.bset = bset
        self.db = db
        self.factory = db.sessions
        # an empty WANGGE_STREET_NETWORK reads as Path("."): not configured
        configured = street_network is not None and str(street_network) not in ("", ".")
        self.street_network = street_network if configured else None
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[Any, ...], CoverageEntry] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[tuple[Any, ...], threading.Lock] = {}
        self._network: StreetNetwork | None = None
        self._network_lock = threading.Lock()
        #: Computations done (not served from the cache), for tests and logs.
        self.computed = 0

    # -- parameters -------------------------------------------------------------------------

    def resolve_level(self, level: str | None) -> str:
        """The level asked for (checked), else "community" if the set has it, else the deepest."""
        if level is None:
            return DEFAULT_LEVEL if DEFAULT_LEVEL in self.bset.levels else self.bset.levels[-1]
        self.bset.depth_of(level)
        return level

    def network(self) -> StreetNetwork:
        """The configured street network, read on first use."""
        if self.street_network is None:
            raise NetworkNotConfigured(
                "network mode needs a street network, and none is configured",
                allowed="mode=circle; or set WANGGE_STREET_NETWORK to a file of street centre "
                "lines (GeoJSON, Shapefile, GeoPackage) or an OSMnx GraphML file and restart",
            )
        with self._network_lock:
            if self._network is None:
                if not self.street_network.exists():
                    raise NetworkFileError(
                        f"the street network {self.street_network} (WANGGE_STREET_NETWORK) "
                        "does not exist",
                        allowed="a readable .graphml, GeoJSON, Shapefile or GeoPackage file",
                    )
                self._network = read_street_network(self.street_network)
            return self._network

    def invalidate(self) -> None:
        """Drop every cached answer (after a change made through this process)."""
        with self._lock:
            self._cache.clear()

    # -- coverage ---------------------------------------------------------------------------

    def coverage(self, params: CoverageParams) -> CoverageEntry:
        """The coverage for these parameters and the current data, from the cache if fresh."""
        check_parameters(params.minutes, params.speed, params.mode, params.population)
        level = self.resolve_level(params.level)
        network = self.network() if params.mode == NETWORK else None
        with self.factory() as session:
            check_facility_type(session, params.facility_type)
            versions = data_versions(session)
        key = (
            params.facility_type,
            float(params.minutes),
            float(params.speed),
            level,
            params.mode,
            params.population,
            versions[FACILITIES],
            versions[POPULATION],
        )
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
            computing = self._computing.setdefault(key, threading.Lock())
        with computing:  # one computation per key at a time; the others wait for it
            try:
                with self._lock:
                    hit = self._cache.get(key)
                if hit is not None:
                    return hit
                entry = self._compute(params, level, network, key, versions)
                self._keep(key, entry)
            finally:
                with self._lock:
                    self._computing.pop(key, None)
        return entry

    def _keep(self, key: tuple[Any, ...], entry: CoverageEntry) -> None:
        """Cache an answer and drop the answers on older data (never served again); an answer
        on data older than one already cached is not kept."""
        facilities_v, population_v = key[-2:]
        with self._lock:
            if any(k[-2] > facilities_v or k[-1] > population_v for k in self._cache):
                return
            for old in [k for k in self._cache if k[-2] < facilities_v or k[-1] < population_v]:
                del self._cache[old]
            self._cache[key] = entry
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def _load_population(
        self, session: Session, source: str | None
    ) -> tuple[str, pd.DataFrame | gpd.GeoDataFrame | None, int]:
        """(source used, population for geo.coverage, unit rows left out: unknown codes)."""
        if source is None:
            has_units = session.scalar(select(func.count()).select_from(PopulationUnit)) or 0
            has_points = session.scalar(select(func.count()).select_from(PopulationPoint)) or 0
            source = "units" if has_units or not has_points else "points"
            if not has_units and not has_points:
                return "none", None, 0
        if source == "units":
            rows = session.execute(
                select(PopulationUnit.code, PopulationUnit.residents, PopulationUnit.residents_60)
            ).all()
            frame = pd.DataFrame(rows, columns=["code", "residents", "residents_60"])
            known = self.bset.positions(frame["code"].to_numpy(dtype=object)) >= 0
            return "units", frame[known].reset_index(drop=True), int((~known).sum())
        located = session.execute(
            select(
                PopulationPoint.lon,
                PopulationPoint.lat,
                PopulationPoint.residents,
                PopulationPoint.residents_60,
            )
        ).all()
        frame = pd.DataFrame(located, columns=["lon", "lat", "residents", "residents_60"])
        points = gpd.GeoDataFrame(
            frame[["residents", "residents_60"]],
            geometry=gpd.points_from_xy(frame["lon"].astype(float), frame["lat"].astype(float)),
            crs=4326,
        )
        return "points", points, 0

    def _compute(
        self,
        params: CoverageParams,
        level: str,
        network: StreetNetwork | None,
        key: tuple[Any, ...],
        versions: dict[str, int],
    ) -> CoverageEntry:
        with self.factory() as session:
            facilities = facilities_frame(session, params.facility_type)
            source, population, ignored = self._load_population(session, params.population)
        if source in ("units", "points") and population is not None and len(population) == 0:
            population = None
        result = coverage_by_unit(
            self.bset,
            level,
            facilities,
            population,
            minutes=params.minutes,
            speed_m_per_min=params.speed,
            mode=params.mode,
            network=network,
        )
        self.computed += 1
        # parameters first, then the totals
        first = ("level", "mode", "minutes", "speed_m_per_min", "distance_m")
        summary: dict[str, Any] = {"facility_type": params.facility_type}
        summary.update({key: result.summary[key] for key in first})
        summary.update(result.summary)
        summary.update(
            {
                "population_source": source,
                "population_rows_ignored": ignored,
                "boundary_set": self.bset.name,
                "data_version": versions,
                "computed_at": now_utc().isoformat(),
            }
        )
        payload = coverage_payload(result, summary)
        etag = '"' + hashlib.sha256(repr((self.bset.name, key)).encode()).hexdigest()[:32] + '"'
        return CoverageEntry(params, level, result, facilities, summary, payload, etag)

    def suggest(
        self,
        params: CoverageParams,
        k: int,
        candidates: Sequence[tuple[float, float]] | None = None,
        crs: str = "wgs84",
    ) -> dict[str, Any]:
        """Up to ``k`` new sites covering the most uncovered 60+ residents (greedy MCLP)."""
        check_parameters(params.minutes, params.speed, params.mode, params.population, k)
        frame: gpd.GeoDataFrame | None = None
        if candidates is not None:
            limit = MAX_NETWORK_CANDIDATES if params.mode == NETWORK else MAX_CANDIDATES
            if not 1 <= len(candidates) <= limit:
                raise InvalidServiceParameters(
                    f"{len(candidates)} candidate(s) given", allowed=f"1 to {limit} candidates"
                )
            x = np.array([c[0] for c in candidates], dtype=float)
            y = np.array([c[1] for c in candidates], dtype=float)
            lon, lat, why = points_to_wgs84(x, y, crs)
            bad = np.flatnonzero(why != "")
            if bad.size:
                sample = [{"index": int(i), "reason": str(why[i])} for i in bad[:10]]
                raise InvalidCoordinates(
                    f"{bad.size} candidate(s) have invalid coordinates; first at index "
                    f"{bad[0]}: {why[bad[0]]}",
                    allowed="finite numbers with -180 <= lon <= 180 and -90 <= lat <= 90 "
                    "(or x, y of the EPSG system)",
                    invalid=sample,
                    invalid_count=int(bad.size),
                )
            frame = gpd.GeoDataFrame(
                {"code": [f"candidates[{i}]" for i in range(len(candidates))]},
                geometry=gpd.points_from_xy(lon, lat),
                crs=4326,
            )
        entry = self.coverage(params)
        if frame is None and params.mode == NETWORK:
            # a network area per micro-grid would take minutes: the level's units stand in
            positions = self.bset.level_positions(entry.level)
            frame = gpd.GeoDataFrame(
                {"code": self.bset.codes[positions]},
                geometry=shapely.point_on_surface(self.bset.units.geometry.to_numpy()[positions]),
                crs=4326,
            )
        sites = suggest_sites(entry.result, k, candidates=frame)
        names = self.bset.units["name"].to_numpy(dtype=object)
        unit_pos = self.bset.positions(
            [u if u is not None else "" for u in sites["unit"].to_numpy(dtype=object)]
        )
        before = float(entry.summary["uncovered_60"])
        gained = float(sites["gain_60"].sum()) if len(sites) else 0.0
        out_sites = [
            {
                "rank": int(row.rank),
                "lon": round(float(row.lon), 7),
                "lat": round(float(row.lat), 7),
                "site": None if row.site is None else str(row.site),
                "unit": None if row.unit is None else str(row.unit),
                "unit_name": None if pos < 0 else str(names[pos]),
                "gain": round(float(row.gain_60), 3),
                "gain_all_ages": round(float(row.gain), 3),
                "cumulative": round(float(row.cumulative_60), 3),
                "share_of_uncovered_60": _finite(row.share_of_uncovered_60, 6),
            }
            for row, pos in zip(sites.itertuples(index=False), unit_pos.tolist(), strict=True)
        ]
        summary = {
            key: entry.summary[key]
            for key in (
                "facility_type",
                "level",
                "mode",
                "minutes",
                "speed_m_per_min",
                "distance_m",
                "facilities",
                "population_source",
                "boundary_set",
                "data_version",
            )
        }
        if candidates is not None:
            described = "given"
        else:
            described = f"{entry.level if params.mode == NETWORK else self.bset.levels[-1]} units"
        summary.update(
            k=k,
            candidates=described,
            uncovered_60_before=round(before, 3),
            uncovered_60_after=round(before - gained, 3),
            sites=len(out_sites),
        )
        return {"summary": summary, "sites": out_sites}


UNIT_COLUMNS = (
    "code",
    "name",
    "area_m2",
    "covered_area_m2",
    "served",
    "population",
    "population_60",
    "covered",
    "covered_60",
    "uncovered",
    "uncovered_60",
    "share_covered_60",
)


def coverage_payload(result: CoverageResult, summary: dict[str, Any]) -> bytes:
    """The JSON answer of GET /coverage: summary, one row per unit, gaps as GeoJSON."""
    clean_summary = {k: (_finite(v, 6) if isinstance(v, float) else v) for k, v in summary.items()}
    units = result.units
    unit_rows = [
        {
            "code": str(code),
            "name": str(name),
            "area_m2": round(float(area), 1),
            "covered_area_m2": round(float(covered_area), 1),
            "served": bool(served),
            "population": round(float(pop), 3),
            "population_60": round(float(pop60), 3),
            "covered": round(float(cov), 3),
            "covered_60": round(float(cov60), 3),
            "uncovered": round(float(unc), 3),
            "uncovered_60": round(float(unc60), 3),
            "share_covered_60": _finite(share, 6),
        }
        for code, name, area, covered_area, served, pop, pop60, cov, cov60, unc, unc60, share in (
            units[list(UNIT_COLUMNS)].itertuples(index=False, name=None)
        )
    ]
    gaps = result.gaps
    names = dict(zip(units["code"], units["name"], strict=True))
    # 1e-7 degree is about a centimetre: plenty for a map, and a third of the bytes
    geoms = shapely.transform(gaps.geometry.to_numpy(), lambda xy: np.round(xy, 7))
    texts = shapely.to_geojson(geoms) if len(geoms) else []
    features = [
        '{"type":"Feature","geometry":'
        + text
        + ',"properties":'
        + json.dumps(
            {
                "unit": str(unit),
                "unit_name": str(names.get(unit, "")),
                "residents": round(float(res), 3),
                "residents_60": round(float(res60), 3),
                "area_m2": round(float(area), 1),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
        + "}"
        for text, unit, res, res60, area in zip(
            texts, gaps["unit"], gaps["residents"], gaps["residents_60"], gaps["area_m2"],
            strict=True,
        )
    ]  # fmt: skip

    def dumps(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)

    text = (
        '{"summary":'
        + dumps(clean_summary)
        + ',"units":'
        + dumps(unit_rows)
        + ',"gaps":{"type":"FeatureCollection","features":['
        + ",".join(features)
        + "]}}"
    )
    return text.encode()


# -- the service in the application ----------------------------------------------------------


def get_planning(request: Request) -> Planning:
    """The application's planning service (built with the others when the app starts)."""
    planning: Planning = request.app.state.planning
    return planning


PlanningDep = Annotated[Planning, Depends(get_planning)]
