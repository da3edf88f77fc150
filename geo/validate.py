"""Validate a boundary set: geometry, codes, hierarchy, containment, overlaps and gaps.

Every measure is taken in the set's local metric CRS (:attr:`BoundarySet.metric_crs`), so areas
are in square metres and the tolerance in metres. Locations of problems are reported back in
WGS84 (lon, lat) so a map can show them.

The checks and the kind of issue each reports; the first ones (down to ``wrong_parent_level``)
need no measuring and are also run whenever a set is loaded to answer lookups
(:func:`check_for_use`), which refuses the set on the kinds of error that make answers wrong
(:data:`REFUSED_AT_LOAD`):

========================  ========  ==========================================================
kind                      severity  meaning
========================  ========  ==========================================================
``empty_level``           error     a level has no units
``duplicate_code``        error     a code is used by more than one unit (refused at load: a
                                    point in one would get the other's code and name)
``missing_geometry``      error     a unit has no geometry, or an empty one
``not_polygonal``         error     a unit's geometry is not a polygon or multipolygon (refused
                                    at load)
``invalid_geometry``      error     ``shapely.is_valid`` fails (reason from GEOS)
``repaired``              info      the geometry was repaired with make_valid when loading
``top_level_parent``      error     a unit of the top level names a parent
``orphan``                error     a unit below the top has no parent code, or a code no unit has
``wrong_parent_level``    error     the parent exists but not on the level directly above
``degenerate``            error     a polygon whose area is ``min_area_m2`` or less: no point
                                    will ever fall in it
``outside_parent``        error     part of a unit lies beyond ``tolerance_m`` of its parent
``overlap``               error     two units of one level share more than ``min_area_m2``
``gap``                   warning   part of a parent, over ``min_area_m2``, none of its children
                                    cover
``childless``             warning   a unit has no children although the level below has units
========================  ========  ==========================================================

Geometric checks skip units whose geometry is missing, empty, not polygonal or degenerate;
invalid geometries take part through their ``make_valid`` repair (so one bad polygon does not
hide the rest of the set), and are reported as invalid once.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray

from geo.units import BoundarySet

Severity = Literal["error", "warning", "info"]

#: Order in which severities are listed.
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")
#: Kinds of error that make lookups answer wrongly; :func:`check_for_use` refuses a set with any.
REFUSED_AT_LOAD: tuple[str, ...] = ("duplicate_code", "not_polygonal")

_POLYGONAL = np.array(
    [shapely.GeometryType.POLYGON, shapely.GeometryType.MULTIPOLYGON], dtype=np.int64
)
# GEOS validity reasons end with the location of the problem, e.g. "Self-intersection[1 2]".
_REASON_POINT = re.compile(r"\[\s*([-+0-9.eE]+)\s+([-+0-9.eE]+)\s*\]")


@dataclass(frozen=True)
class Issue:
    """One problem found in a boundary set.

    Attributes
    ----------
    severity : {"error", "warning", "info"}
        Errors make the set unfit to activate; warnings deserve a look; info is for the record.
    kind : str
        What kind of problem, e.g. ``"overlap"`` (see the module docstring for the list).
    level : str or None
        The level of the units involved (for ``gap`` and ``childless``: the parent's level).
    codes : tuple of str
        Codes of the units involved, e.g. both units of an overlap.
    message : str
        One sentence for a person.
    area_m2 : float or None
        Area of the problem in square metres, where it has one.
    where : tuple of float or None
        A (lon, lat) point in WGS84 on the problem area, or on the unit concerned.
    """

    severity: Severity
    kind: str
    level: str | None
    codes: tuple[str, ...]
    message: str
    area_m2: float | None = None
    where: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        """The issue as JSON-able plain values."""
        return {
            "severity": self.severity,
            "kind": self.kind,
            "level": self.level,
            "codes": list(self.codes),
            "message": self.message,
            "area_m2": self.area_m2,
            "where": list(self.where) if self.where is not None else None,
        }


@dataclass
class ValidationReport:
    """The result of :func:`validate_boundary_set`: issues plus a summary of the set.

    Attributes
    ----------
    issues : list of Issue
        Sorted by severity (errors first), then level from the top, then kind.
    units_per_level : dict of str to int
        Number of units of each level, top first.
    name : str
        The boundary set's name.
    tolerance_m, min_area_m2 : float
        The thresholds the checks ran with.
    checks : {"all", "load"}
        Every check, or only those run at load (:func:`check_for_use`).
    """

    issues: list[Issue] = field(default_factory=list)
    units_per_level: dict[str, int] = field(default_factory=dict)
    name: str = ""
    tolerance_m: float = 1.0
    min_area_m2: float = 1.0
    checks: Literal["all", "load"] = "all"

    @property
    def ok(self) -> bool:
        """True when there are no errors (warnings and info are allowed)."""
        return not self.errors

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "warning"]

    @property
    def infos(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "info"]

    @property
    def refusing(self) -> list[Issue]:
        """The errors that make answers wrong (kinds in :data:`REFUSED_AT_LOAD`)."""
        return [i for i in self.errors if i.kind in REFUSED_AT_LOAD]

    def summary(self, issues: list[Issue] | None = None, *, limit: int = 5) -> list[str]:
        """One line per issue (of ``issues``, default all), at most ``limit``, then how many
        more there are."""
        chosen = self.issues if issues is None else issues
        lines = [f"{i.severity} {i.kind}: {i.message}" for i in chosen[:limit]]
        if len(chosen) > limit:
            lines.append(f"... and {len(chosen) - limit:,} more")
        return lines

    def counts(self) -> dict[str, dict[str, int]]:
        """Number of issues per severity and kind, e.g. ``{"error": {"overlap": 2}}``."""
        out: dict[str, dict[str, int]] = {s: {} for s in SEVERITIES}
        for (severity, kind), n in sorted(
            Counter((i.severity, i.kind) for i in self.issues).items()
        ):
            out[severity][kind] = n
        return out

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-able plain values."""
        return {
            "name": self.name,
            "ok": self.ok,
            "tolerance_m": self.tolerance_m,
            "min_area_m2": self.min_area_m2,
            "checks": self.checks,
            "units_per_level": dict(self.units_per_level),
            "counts": self.counts(),
            "issues": [i.to_dict() for i in self.issues],
        }

    def to_text(self, *, max_codes_width: int = 40) -> str:
        """A plain-text summary and an aligned table of the issues."""
        head = (
            f"{self.name or 'boundary set'}: {'OK' if self.ok else 'NOT OK'}, "
            f"{len(self.errors)} error(s), {len(self.warnings)} warning(s), "
            f"{len(self.infos)} info"
        )
        levels = "units per level: " + ", ".join(
            f"{level} {n}" for level, n in self.units_per_level.items()
        )
        lines = [head, levels]
        if not self.issues:
            return "\n".join([*lines, "no issues"])
        header = ("severity", "kind", "level", "codes", "area m²", "where")
        rows = [
            (
                i.severity,
                i.kind,
                i.level or "",
                _truncate(", ".join(i.codes), max_codes_width),
                "" if i.area_m2 is None else _m2(i.area_m2),
                "" if i.where is None else f"{i.where[0]:.6f}, {i.where[1]:.6f}",
            )
            for i in self.issues
        ]
        widths = [max(len(r[k]) for r in [header, *rows]) for k in range(len(header))]
        right = {4}  # areas align right

        def fmt(row: tuple[str, ...]) -> str:
            cells = [
                cell.rjust(w) if k in right else cell.ljust(w)
                for k, (cell, w) in enumerate(zip(row, widths, strict=True))
            ]
            return "  ".join(cells).rstrip()

        lines += ["", fmt(header), fmt(tuple("-" * w for w in widths))]
        lines += [fmt(r) for r in rows]
        return "\n".join(lines)


def _truncate(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def validate_boundary_set(
    bset: BoundarySet, *, tolerance_m: float = 1.0, min_area_m2: float = 1.0
) -> ValidationReport:
    """Check a boundary set's geometry, codes and hierarchy and list every problem found.

    Parameters
    ----------
    bset : BoundarySet
        The set to check.
    tolerance_m : float, default 1.0
        How far (metres) a unit may stick out of its parent before it is an ``outside_parent``
        error; absorbs digitising noise along shared edges.
    min_area_m2 : float, default 1.0
        Overlaps between units of a level and gaps inside a parent are reported only when their
        area is larger than this (square metres); smaller ones are floating-point noise.

    Returns
    -------
    ValidationReport
        ``report.ok`` is True when no error was found.

    Raises
    ------
    ValueError
        A negative or non-finite threshold.

    Example
    -------
    >>> import geopandas as gpd, shapely
    >>> top = gpd.GeoDataFrame({"code": ["S"], "name": ["Street"], "parent": [""]},
    ...                        geometry=[shapely.box(117.20, 39.10, 117.21, 39.11)], crs=4326)
    >>> grids = gpd.GeoDataFrame(
    ...     {"code": ["G1", "G2"], "name": ["West", "East"], "parent": ["S", "S"]},
    ...     geometry=[shapely.box(117.20, 39.10, 117.205, 39.11),
    ...               shapely.box(117.204, 39.10, 117.21, 39.11)], crs=4326)
    >>> report = validate_boundary_set(BoundarySet.from_levels([("street", top), ("grid", grids)]))
    >>> report.ok, [(i.kind, i.codes, round(i.area_m2, -3)) for i in report.errors]
    (False, [('overlap', ('G1', 'G2'), 96000.0)])
    """
    for label, value in (("tolerance_m", tolerance_m), ("min_area_m2", min_area_m2)):
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"{label} must be a finite number >= 0, got {value!r}")
    checker = _Checker(bset, float(tolerance_m), float(min_area_m2))
    return _report(bset, checker.run(full=True), tolerance_m, min_area_m2, "all")


def check_for_use(bset: BoundarySet) -> ValidationReport:
    """The quick checks run whenever a set is loaded to answer lookups: no measuring.

    Codes, geometry types and validity, the hierarchy and the levels are checked (everything
    :func:`validate_boundary_set` does before it projects and measures), in about a second for
    150,000 units. :attr:`ValidationReport.refusing` lists the errors that make answers wrong:
    a unit whose code another unit has, or that is no polygon.

    Parameters
    ----------
    bset : BoundarySet

    Returns
    -------
    ValidationReport
        With ``checks="load"``.

    Example
    -------
    >>> import geopandas as gpd, shapely
    >>> grids = gpd.GeoDataFrame(
    ...     {"code": ["G1", "G1"], "name": ["West", "East"], "parent": ["", ""]},
    ...     geometry=[shapely.box(117.20, 39.10, 117.205, 39.11),
    ...               shapely.box(117.205, 39.10, 117.21, 39.11)], crs=4326)
    >>> report = check_for_use(BoundarySet.from_levels([("grid", grids)]))
    >>> [issue.message for issue in report.refusing]
    ["code 'G1' is used by 2 units (level grid)"]
    """
    checker = _Checker(bset, 1.0, 1.0)
    return _report(bset, checker.run(full=False), 1.0, 1.0, "load")


def _report(
    bset: BoundarySet,
    issues: list[Issue],
    tolerance_m: float,
    min_area_m2: float,
    checks: Literal["all", "load"],
) -> ValidationReport:
    """The issues sorted (severity, level from the top, kind, codes, largest area first)."""
    depth = {level: d for d, level in enumerate(bset.levels)}
    rank = {s: k for k, s in enumerate(SEVERITIES)}
    issues.sort(
        key=lambda i: (
            rank[i.severity],
            depth.get(i.level or "", -1),
            i.kind,
            i.codes,
            -(i.area_m2 or 0.0),  # the largest piece of a parent's gaps first
        )
    )
    units_per_level = {
        level: int(len(bset.level_positions(d))) for d, level in enumerate(bset.levels)
    }
    return ValidationReport(
        issues=issues,
        units_per_level=units_per_level,
        name=bset.name,
        tolerance_m=float(tolerance_m),
        min_area_m2=float(min_area_m2),
        checks=checks,
    )


class _Checker:
    """The state shared by the checks of one validation run."""

    def __init__(self, bset: BoundarySet, tolerance_m: float, min_area_m2: float) -> None:
        self.bset = bset
        self.tolerance_m = tolerance_m
        self.min_area_m2 = min_area_m2
        units = bset.units
        self.codes = units["code"].to_numpy(dtype=object)
        self.parents = units["parent"].to_numpy(dtype=object)
        self.depth = units["depth"].to_numpy()
        self.level_names = np.asarray(bset.levels, dtype=object)
        self.stored = np.asarray(units.geometry.values, dtype=object)  # WGS84, as held

        missing = shapely.is_missing(self.stored) | shapely.is_empty(self.stored)
        kind = shapely.get_type_id(self.stored)
        self.missing = missing
        self.not_polygonal = ~missing & ~np.isin(kind, _POLYGONAL)
        self.present = ~missing & ~self.not_polygonal
        self.invalid = self.present & ~shapely.is_valid(self.stored)
        self.degenerate = np.zeros(len(self.codes), dtype=bool)
        self.metric = np.full(len(self.codes), None, dtype=object)
        self.parent_of = self._link_parents()

    def measure(self) -> None:
        """Project the units to metres for the geometric checks, and measure their areas.

        Anything invalid there (also after projecting) is replaced by its make_valid repair so
        the overlay operations cannot fail on it; units with no area left out of them.
        """
        self.to_wgs84 = pyproj.Transformer.from_crs(self.bset.metric_crs, 4326, always_xy=True)
        metric = np.array(self.bset.metric_geometries, dtype=object)
        metric[~self.present] = None
        broken = self.present & ~shapely.is_valid(metric)
        if broken.any():
            metric[broken] = _polygonal_parts(shapely.make_valid(metric[broken]))
        self.metric = metric
        self.present &= ~shapely.is_empty(metric)
        area = np.zeros(len(metric))
        area[self.present] = shapely.area(metric[self.present])
        self.area = area
        self.degenerate = self.present & (area <= self.min_area_m2)
        self.present &= ~self.degenerate

    # -- helpers ----------------------------------------------------------------------------

    def _link_parents(self) -> NDArray[np.intp]:
        """Position of each unit's parent on the level directly above, -1 if there is none.

        Looked up per level rather than through :attr:`BoundarySet.parent_positions`, so a code
        repeated on another level cannot stand in for the real parent.
        """
        out = np.full(len(self.codes), -1, dtype=np.intp)
        for d in range(1, len(self.level_names)):
            above = self.bset.level_positions(d - 1)
            here = self.bset.level_positions(d)
            index = pd.Index(self.codes[above])
            index_first = ~index.duplicated()
            lookup = pd.Index(index[index_first])
            found = lookup.get_indexer(pd.Index(self.parents[here], dtype=object))
            out[here] = np.where(found >= 0, above[index_first][np.maximum(found, 0)], -1)
        return out

    def lonlat(self, points: NDArray[np.object_]) -> list[tuple[float, float] | None]:
        """WGS84 (lon, lat) of metric points, None where a point is missing or empty."""
        points = np.asarray(points, dtype=object)
        out: list[tuple[float, float] | None] = [None] * len(points)
        ok = ~(shapely.is_missing(points) | shapely.is_empty(points))
        if ok.any():
            xy = shapely.get_coordinates(points[ok])
            lon, lat = self.to_wgs84.transform(xy[:, 0], xy[:, 1])
            for k, x, y in zip(np.flatnonzero(ok), lon, lat, strict=True):
                out[k] = (round(float(x), 7), round(float(y), 7))
        return out

    def unit_points(self, positions: NDArray[np.intp]) -> list[tuple[float, float] | None]:
        """A WGS84 point on each unit (None without geometry), from the geometry as held."""
        geoms = self.stored[positions].copy()
        out: list[tuple[float, float] | None] = [None] * len(positions)
        ok = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        broken = ok & ~shapely.is_valid(geoms)
        if broken.any():
            geoms[broken] = shapely.make_valid(geoms[broken])
        ok &= ~shapely.is_empty(geoms)
        if ok.any():
            xy = shapely.get_coordinates(shapely.point_on_surface(geoms[ok]))
            for k, (x, y) in zip(np.flatnonzero(ok), xy, strict=True):
                out[k] = (round(float(x), 7), round(float(y), 7))
        return out

    def level(self, position: int | np.integer) -> str:
        return str(self.level_names[self.depth[position]])

    # -- checks -----------------------------------------------------------------------------

    def run(self, *, full: bool) -> list[Issue]:
        """The checks that need no measuring, and with ``full`` the geometric ones as well."""
        issues = [
            *self.check_levels(),
            *self.check_codes(),
            *self.check_geometries(),
            *self.check_parents(),
        ]
        if full:
            self.measure()
            issues += [
                *self.check_degenerate(),
                *self.check_containment(),
                *self.check_overlaps(),
                *self.check_gaps(),
            ]
        return issues

    def check_levels(self) -> list[Issue]:
        return [
            Issue("error", "empty_level", level, (), f"level {level!r} has no units")
            for d, level in enumerate(self.bset.levels)
            if len(self.bset.level_positions(d)) == 0
        ]

    def check_codes(self) -> list[Issue]:
        codes = pd.Series(self.codes)
        repeated = np.flatnonzero(codes.duplicated(keep=False).to_numpy())
        if repeated.size == 0:
            return []
        groups = pd.DataFrame({"code": self.codes[repeated], "pos": repeated}).groupby(
            "code", sort=False
        )["pos"]
        firsts = groups.min()
        points = self.unit_points(firsts.to_numpy())
        issues = []
        for (code, positions), where in zip(groups, points, strict=True):
            depths = sorted(set(self.depth[positions.to_numpy()]))
            levels = ", ".join(str(self.level_names[d]) for d in depths)
            issues.append(
                Issue(
                    "error",
                    "duplicate_code",
                    self.level(firsts[code]),
                    (str(code),),
                    f"code {code!r} is used by {len(positions)} units (level {levels})",
                    where=where,
                )
            )
        return issues

    def check_geometries(self) -> list[Issue]:
        issues = []
        for pos in np.flatnonzero(self.missing):
            geom = self.stored[pos]
            what = "no geometry" if geom is None else "an empty geometry"
            issues.append(
                Issue(
                    "error",
                    "missing_geometry",
                    self.level(pos),
                    (str(self.codes[pos]),),
                    f"unit {self.codes[pos]!r} has {what}",
                )
            )
        drawn = ~self.missing
        whole = {
            d
            for d in range(len(self.level_names))
            if (positions := self.bset.level_positions(d)).size
            and self.not_polygonal[positions][drawn[positions]].all()
        }
        flat = np.flatnonzero(self.not_polygonal)
        for pos, where in zip(flat, self.unit_points(flat), strict=True):
            what = (
                f"unit {self.codes[pos]!r} is a {self.stored[pos].geom_type}, not a polygon: it "
                "has no area for points to fall in"
            )
            if self.depth[pos] in whole:
                what += (
                    f"; no unit of level {self.level(pos)!r} has one: a layer of points or "
                    "lines (addresses, facilities, streets) rather than of boundaries?"
                )
            issues.append(
                Issue(
                    "error",
                    "not_polygonal",
                    self.level(pos),
                    (str(self.codes[pos]),),
                    what,
                    where=where,
                )
            )
        bad = np.flatnonzero(self.invalid)
        if bad.size:
            reasons = shapely.is_valid_reason(self.stored[bad])
            fallback = self.unit_points(bad)
            for pos, reason, point in zip(bad, reasons, fallback, strict=True):
                match = _REASON_POINT.search(reason)
                where = point
                if match:  # the stored geometry is in WGS84, so the reason's point is lon/lat
                    where = (round(float(match[1]), 7), round(float(match[2]), 7))
                issues.append(
                    Issue(
                        "error",
                        "invalid_geometry",
                        self.level(pos),
                        (str(self.codes[pos]),),
                        f"unit {self.codes[pos]!r} is invalid: {reason}",
                        where=where,
                    )
                )
        repaired = np.flatnonzero(np.isin(self.codes, np.asarray(self.bset.repaired, dtype=object)))
        for pos, where in zip(repaired, self.unit_points(repaired), strict=True):
            issues.append(
                Issue(
                    "info",
                    "repaired",
                    self.level(pos),
                    (str(self.codes[pos]),),
                    f"unit {self.codes[pos]!r} had an invalid geometry, repaired on load",
                    where=where,
                )
            )
        return issues

    def check_parents(self) -> list[Issue]:
        issues = []
        top = np.flatnonzero((self.depth == 0) & (self.parents != ""))
        for pos, where in zip(top, self.unit_points(top), strict=True):
            issues.append(
                Issue(
                    "error",
                    "top_level_parent",
                    self.level(pos),
                    (str(self.codes[pos]),),
                    f"unit {self.codes[pos]!r} is on the top level {self.level(pos)!r} but "
                    f"names parent {self.parents[pos]!r}",
                    where=where,
                )
            )
        lost = np.flatnonzero((self.depth > 0) & (self.parent_of < 0))
        any_level = self.bset.positions(self.parents[lost]) if lost.size else np.array([], int)
        for pos, elsewhere, where in zip(lost, any_level, self.unit_points(lost), strict=True):
            code, parent = self.codes[pos], self.parents[pos]
            above = str(self.level_names[self.depth[pos] - 1])
            if parent == "":
                kind, message = "orphan", f"unit {code!r} has no parent code"
            elif elsewhere < 0:
                kind = "orphan"
                message = f"unit {code!r} names parent {parent!r}, which is no unit of the set"
            else:
                kind = "wrong_parent_level"
                message = (
                    f"unit {code!r} names parent {parent!r}, which is on level "
                    f"{self.level(elsewhere)!r}, not on {above!r} directly above"
                )
            codes = (str(code),) if parent == "" else (str(code), str(parent))
            issues.append(Issue("error", kind, self.level(pos), codes, message, where=where))
        return issues

    def check_degenerate(self) -> list[Issue]:
        tiny = np.flatnonzero(self.degenerate)
        issues = []
        for pos, where in zip(tiny, self.unit_points(tiny), strict=True):
            minx, miny, maxx, maxy = shapely.bounds(self.metric[pos])
            issues.append(
                Issue(
                    "error",
                    "degenerate",
                    self.level(pos),
                    (str(self.codes[pos]),),
                    f"unit {self.codes[pos]!r} covers only {_m2(self.area[pos])} m² "
                    f"({_m2(maxx - minx)} by {_m2(maxy - miny)} m): no point will fall in it "
                    "(drawn by mistake, or in another coordinate system than declared)",
                    area_m2=float(self.area[pos]),
                    where=where,
                )
            )
        return issues

    def check_containment(self) -> list[Issue]:
        child = np.flatnonzero((self.parent_of >= 0) & self.present)
        child = child[self.present[self.parent_of[child]]]
        if child.size == 0:
            return []
        parent = self.parent_of[child]
        # Buffer each parent once and prepare it: most children are covered, and a prepared
        # covers test is far cheaper than the overlay needed for the few that are not.
        unique, inverse = np.unique(parent, return_inverse=True)
        grown = self.metric[unique]
        if self.tolerance_m > 0:
            grown = shapely.buffer(grown, self.tolerance_m)
        shapely.prepare(grown)
        grown_per_child = grown[inverse]
        sticking = ~shapely.covers(grown_per_child, self.metric[child])
        if not sticking.any():
            return []
        child, parent, grown_per_child = (
            child[sticking],
            parent[sticking],
            grown_per_child[sticking],
        )
        beyond = shapely.difference(self.metric[child], grown_per_child)
        real = ~shapely.is_empty(beyond) & (shapely.area(beyond) > 0)
        child, parent, beyond = child[real], parent[real], beyond[real]
        outside = shapely.area(shapely.difference(self.metric[child], self.metric[parent]))
        far = shapely.area(beyond)
        points = self.lonlat(shapely.point_on_surface(beyond))
        return [
            Issue(
                "error",
                "outside_parent",
                self.level(c),
                (str(self.codes[c]), str(self.codes[p])),
                f"unit {self.codes[c]!r} has {_m2(a)} m² outside its parent {self.codes[p]!r}, "
                f"{_m2(f)} m² of it more than {self.tolerance_m:g} m away",
                area_m2=float(a),
                where=where,
            )
            for c, p, a, f, where in zip(child, parent, outside, far, points, strict=True)
        ]

    def check_overlaps(self) -> list[Issue]:
        issues = []
        for d, level in enumerate(self.bset.levels):
            here = self.bset.level_positions(d)
            here = here[self.present[here]]
            if here.size < 2:
                continue
            geoms = self.metric[here]
            shapely.prepare(geoms)
            tree = shapely.STRtree(geoms)
            left, right = tree.query(geoms, predicate="intersects")
            keep = left < right
            left, right = left[keep], right[keep]
            # neighbours sharing only an edge or a vertex are the normal case: drop them first
            inner = ~shapely.touches(geoms[left], geoms[right])
            left, right = left[inner], right[inner]
            common = shapely.intersection(geoms[left], geoms[right])
            area = shapely.area(common)
            big = area > self.min_area_m2
            left, right, common, area = left[big], right[big], common[big], area[big]
            points = self.lonlat(shapely.point_on_surface(common))
            for a, b, area_ab, where in zip(here[left], here[right], area, points, strict=True):
                issues.append(
                    Issue(
                        "error",
                        "overlap",
                        level,
                        (str(self.codes[a]), str(self.codes[b])),
                        f"units {self.codes[a]!r} and {self.codes[b]!r} of level {level!r} "
                        f"overlap by {_m2(area_ab)} m²",
                        area_m2=float(area_ab),
                        where=where,
                    )
                )
        return issues

    def check_gaps(self) -> list[Issue]:
        issues: list[Issue] = []
        for d in range(len(self.level_names) - 1):
            parents = self.bset.level_positions(d)
            below = self.bset.level_positions(d + 1)
            if parents.size == 0 or below.size == 0:
                continue  # an empty level is reported on its own
            level = str(self.level_names[d])
            linked = below[self.parent_of[below] >= 0]
            has_children = np.isin(parents, self.parent_of[linked])
            lonely = parents[~has_children]
            for pos, where in zip(lonely, self.unit_points(lonely), strict=True):
                issues.append(
                    Issue(
                        "warning",
                        "childless",
                        level,
                        (str(self.codes[pos]),),
                        f"unit {self.codes[pos]!r} has no units of level "
                        f"{self.level_names[d + 1]!r} in it",
                        where=where,
                    )
                )
            issues += self._gaps_of(
                parents[has_children & self.present[parents]],
                linked,
                level,
                str(self.level_names[d + 1]),
            )
        return issues

    def _gaps_of(
        self, parents: NDArray[np.intp], linked: NDArray[np.intp], level: str, below: str
    ) -> list[Issue]:
        """Pieces of each parent that none of its children covers."""
        # every child counts, with or without an area, so a message can say which is which
        counted = (
            pd.Series(self.parent_of[linked]).value_counts().reindex(parents, fill_value=0)
        ).to_numpy()
        children = linked[self.present[linked]]
        order = np.argsort(self.parent_of[children], kind="stable")
        children = children[order]
        owners = self.parent_of[children]
        starts = np.searchsorted(owners, parents, side="left")
        ends = np.searchsorted(owners, parents, side="right")
        # one union per parent: shapely has no grouped union, and the groups are small
        unions = np.array(
            [
                shapely.union_all(self.metric[children[s:e]]) if e > s else shapely.Polygon()
                for s, e in zip(starts, ends, strict=True)
            ],
            dtype=object,
        )
        # a parent its children's union covers has no gap: a prepared covers test settles most
        # parents (a community drawn as one grid) far quicker than the overlay; the rest are
        # cut (children that share the parent's edges up to rounding are not "covering")
        shapely.prepare(unions)
        open_ = np.flatnonzero(~shapely.covers(unions, self.metric[parents]))
        missing = shapely.difference(self.metric[parents[open_]], unions[open_])
        pieces, owner = shapely.get_parts(missing, return_index=True)
        owner = open_[owner]
        area = shapely.area(pieces)
        big = area > self.min_area_m2
        pieces, owner, area = pieces[big], owner[big], area[big]
        points = self.lonlat(shapely.point_on_surface(pieces))
        return [
            Issue(
                "warning",
                "gap",
                level,
                (str(self.codes[parents[k]]),),
                _gap_message(self.codes[parents[k]], a, counted[k], e - s, below),
                area_m2=float(a),
                where=where,
            )
            for k, a, where, s, e in zip(
                owner, area, points, starts[owner], ends[owner], strict=True
            )
        ]


def _gap_message(parent: str, area: float, children: int, drawn: int, below: str) -> str:
    """What a gap is, counting the children that have an area and those that have none."""
    where = f"{_m2(area)} m² of {parent!r}"
    if drawn == 0:
        return (
            f"{where} is covered by nothing: none of its {children} unit(s) of level "
            f"{below!r} has an area (see their own errors)"
        )
    text = f"{where} is covered by none of its {children} unit(s) of level {below!r}"
    if drawn < children:
        text += f" ({children - drawn} of them without an area: see their own errors)"
    return text


def _m2(value: float) -> str:
    """An area (m²) or a length (m) for a message: one decimal, two significant digits below
    0.05, so that a speck never reads as 0.0."""
    return f"{value:,.1f}" if value >= 0.05 or value == 0 else f"{value:.2g}"


def _polygonal_parts(geoms: NDArray[np.object_]) -> NDArray[np.object_]:
    """Keep only the polygonal parts of each geometry (make_valid may add lines or points)."""
    parts, owner = shapely.get_parts(geoms, return_index=True)
    polygonal = np.isin(shapely.get_type_id(parts), _POLYGONAL)
    out = np.array([shapely.Polygon() for _ in range(len(geoms))], dtype=object)
    if polygonal.any():
        grouped = pd.Series(parts[polygonal]).groupby(owner[polygonal])
        for k, group in grouped:
            out[int(k)] = shapely.union_all(group.to_numpy())
    return out
