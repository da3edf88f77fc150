"""Reading import files: facilities (CSV or GeoJSON points) and population (CSV per unit or
per point), every row checked and every bad one named by its line.

A file is read as UTF-8 (with or without BOM), else as GB 18030 (what Excel writes for
Chinese), by the reader of :mod:`geo.tables` that ``wangge assign`` uses too. Nothing here
touches the database: :mod:`api.planning.facilities` and :mod:`api.planning.population` check
the rows against what is stored, and store them.
"""

from __future__ import annotations

import io
import json
import math
import re
from bisect import bisect_right
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from api.planning.errors import InvalidRows
from geo.crs import parse_crs, points_to_wgs84
from geo.errors import TableFileError, WanggeError
from geo.tables import csv_records, read_text
from geo.units import BoundarySet

#: What a facility type code may be (a new type in an import, ``--type``).
TYPE_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
#: Imported points further than this (degrees, about 10 km) outside the boundary set's extent
#: are flagged: usually swapped lon/lat or the wrong coordinate system.
FAR_OUTSIDE_DEG = 0.1
FACILITY_COLUMNS = ("name", "type", "lon", "lat", "capacity", "crs")
POPULATION_COLUMNS = ("code", "lon", "lat", "crs", "residents", "residents_60")


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

    def sort(self) -> None:
        """Bad rows and good rows in file order."""
        self.problems.sort(key=lambda p: p.line)
        self.rows.sort(key=lambda r: r["line"])


def _read_text(path: Path) -> tuple[str, str]:
    """The file's text and encoding: UTF-8 (with or without BOM), else GB 18030 (Excel's
    Chinese default)."""
    try:
        text, encoding = read_text(path)
    except TableFileError as exc:
        allowed = "UTF-8 (with or without BOM) or GB 18030/GBK text"
        raise InvalidRows(
            exc.message, allowed=allowed if exc.code == "undecodable_text" else exc.allowed
        ) from None
    return text, "utf-8" if encoding == "utf-8-sig" else encoding


@dataclass
class _CsvRow:
    line: int
    values: dict[str, str]


def _csv_rows(
    path: Path, text: str, parsed: ParsedFile, known: Iterable[str]
) -> tuple[list[str], list[_CsvRow]]:
    """Header (lower case, trimmed) and rows with the line each starts on; rows with the wrong
    number of fields become problems; unknown columns a note."""
    records = csv_records(io.StringIO(text, newline=""))
    first = next(records, None)
    if first is None:
        raise InvalidRows(f"{path.name} is empty", allowed="a CSV file with a header")
    if not first.fields:
        raise InvalidRows(f"{path.name} line {first.line}: {first.problem}", allowed="a CSV file")
    header = [h.strip().lower() for h in first.fields]
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise InvalidRows(f"{path.name}: column(s) {repeated} repeat", allowed="distinct columns")
    ignored = [h for h in header if h not in set(known)]
    if ignored:
        parsed.notes.append(f"ignored column(s): {', '.join(ignored)}")
    rows: list[_CsvRow] = []
    for record in records:
        if record.fields:  # a row that is not valid CSV is no row of the total
            parsed.total += 1
        if record.problem:
            parsed.problems.append(RowProblem(record.line, record.problem))
            continue
        rows.append(
            _CsvRow(record.line, {h: f.strip() for h, f in zip(header, record.fields, strict=True)})
        )
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


def _reason(exc: ValueError | WanggeError) -> str:
    return exc.message if isinstance(exc, WanggeError) else str(exc)


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


class _Point(NamedTuple):
    """A row whose fields are good, with its point as given (converted by :func:`_located`)."""

    line: int
    feature: int | None
    row: dict[str, Any]
    x: float
    y: float
    crs: str


def _located(parsed: ParsedFile, points: list[_Point], bset: BoundarySet | None) -> None:
    """Convert the rows' points to WGS84 (vectorised per system) and keep the good rows."""
    by_crs: dict[str, list[int]] = {}
    for i, point in enumerate(points):
        by_crs.setdefault(point.crs, []).append(i)
    lon = np.full(len(points), np.nan)
    lat = np.full(len(points), np.nan)
    why = np.full(len(points), "", dtype=object)
    for system, members in by_crs.items():
        idx = np.array(members)
        xs = np.array([points[i].x for i in members])
        ys = np.array([points[i].y for i in members])
        lon[idx], lat[idx], why[idx] = points_to_wgs84(xs, ys, system, errors="flag")
    if bset is not None:
        minx, miny, maxx, maxy = bset.bounds
        far = (lon < minx - FAR_OUTSIDE_DEG) | (lon > maxx + FAR_OUTSIDE_DEG)
        far |= (lat < miny - FAR_OUTSIDE_DEG) | (lat > maxy + FAR_OUTSIDE_DEG)
    else:
        far = np.zeros(len(points), dtype=bool)
    for i, (line, feature, row, x, y, system) in enumerate(points):
        if why[i]:
            reason = f"coordinates ({x}, {y}) in {system}: {why[i]}"
            parsed.problems.append(RowProblem(line, reason, feature))
            continue
        if far[i]:
            parsed.warnings.append(
                RowProblem(
                    line,
                    f"({x}, {y}) in {system} is more than about 10 km outside the boundary set: "
                    "lon and lat swapped, or the wrong coordinate system?",
                    feature,
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
    ``new_types``. Each row comes back as a dict ready for
    :func:`api.planning.facilities.store_facilities`.
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
    points: list[_Point] = []
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
            try:
                x, y = _point_of(feature)
                properties = feature.get("properties") or {}
                if not isinstance(properties, dict):
                    raise ValueError("properties is not an object")
                row = check(line, properties, x, y)
            except ValueError as exc:
                parsed.problems.append(RowProblem(line, f"feature {position}: {exc}", position))
                continue
            row["feature"] = position
            points.append(_Point(line, position, row, x, y, system))
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
            try:
                x = _number(record.values["lon"], "lon")
                y = _number(record.values["lat"], "lat")
                system = _resolve_crs(record.values.get("crs", ""), option, "wgs84")
                row = check(record.line, record.values, x, y)
            except (ValueError, WanggeError) as exc:
                parsed.problems.append(RowProblem(record.line, _reason(exc)))
                continue
            points.append(_Point(record.line, None, row, x, y, system))
    _located(parsed, points, bset)
    unknown = sorted({r["type"] for r in parsed.rows} - known_set)
    if unknown:
        parsed.notes.append(f"new facility type(s): {', '.join(unknown)}")
    parsed.sort()
    return parsed


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
    header, records = _csv_rows(target, text, parsed, POPULATION_COLUMNS)
    by_code = "code" in header
    by_point = "lon" in header and "lat" in header
    missing = [c for c in ("residents", "residents_60") if c not in header]
    if missing or not (by_code or by_point):
        raise InvalidRows(
            f"{target.name} lacks column(s) {missing or ['code or lon,lat']}; it has {header}",
            allowed="code,residents,residents_60 (per unit) or lon,lat,residents,residents_60"
            "[,crs] (per point)",
        )
    points: list[_Point] = []
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
            parsed.problems.append(RowProblem(record.line, _reason(exc)))
            continue
        row = {"kind": "point", "residents": residents, "residents_60": residents_60}
        points.append(_Point(record.line, None, {**row, "line": record.line}, x, y, system))
    if units:
        positions = bset.positions([u["code"] for u in units])
        for unit, pos in zip(units, positions, strict=True):
            if pos < 0:
                parsed.problems.append(
                    RowProblem(unit["line"], f"unit {unit['code']!r} is not in the boundary set")
                )
            else:
                parsed.rows.append(unit)
    _located(parsed, points, bset)
    parsed.sort()
    return parsed
