"""Boundary sets: an ordered list of levels and the units (polygons with leaders) of each."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely
from numpy.typing import NDArray

from geo.crs import (
    CoordSystem,
    check_densify,
    densify_length,
    is_geographic,
    local_metric_crs,
    parse_crs,
    transform_geometries,
)
from geo.errors import BoundaryFileError, InvalidGeometry, UnitNotFound, UnknownCRS, UnknownLevel

#: Columns every level must have.
REQUIRED_COLUMNS = ("code", "name", "parent")
#: Optional columns with a meaning; any other column is kept as a free property.
LEADER_COLUMNS = ("leader_name", "leader_phone", "leader_id")
#: The columns of :attr:`BoundarySet.units`, in order.
UNIT_COLUMNS = ("code", "name", "level", "depth", "parent", *LEADER_COLUMNS, "properties")
#: The fix, as the message of an error about a wrong coordinate system ends.
FIX_CRS = (
    "declare the file's real system: WANGGE_BOUNDARIES_CRS=EPSG:<code> for the service, "
    "--crs EPSG:<code> (wangge validate) or --boundaries-crs EPSG:<code> (lookup, assign)"
)
#: What a file's real coordinate system may be, as errors about a wrong one say it.
DECLARE_CRS = (
    "the file's real coordinate system: wgs84, gcj02, bd09 or EPSG:<code>, e.g. EPSG:2249 "
    "(Massachusetts State Plane feet), EPSG:3435 (Illinois East feet), EPSG:32650 (UTM zone 50N)"
)


def _text(values: pd.Series) -> pd.Series:
    """Column as str, with missing values as ''."""
    out = values.astype(object).where(values.notna(), "")
    return out.map(lambda v: str(int(v)) if isinstance(v, float) and v.is_integer() else str(v))


def _optional_text(frame: pd.DataFrame, column: str) -> pd.Series:
    if column not in frame.columns:
        return pd.Series([None] * len(frame), index=frame.index, dtype=object)
    text = _text(frame[column])
    return text.where(text != "", None)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def _polygonal(geom: shapely.Geometry) -> shapely.Geometry:
    """The polygonal part of a repaired geometry (make_valid may add stray lines or points)."""
    if isinstance(geom, shapely.Polygon | shapely.MultiPolygon):
        return geom
    parts = [
        g for g in shapely.get_parts(geom) if isinstance(g, shapely.Polygon | shapely.MultiPolygon)
    ]
    return shapely.union_all(parts) if parts else shapely.Polygon()


def _file_crs(level: str, frame: gpd.GeoDataFrame) -> CoordSystem:
    """The coordinate system a layer's file declares, refused if it has no EPSG code."""
    try:
        return parse_crs(frame.crs)
    except UnknownCRS:
        raise _wrong_crs(
            level, f"declares the coordinate system {frame.crs.name!r}, which has no EPSG code"
        ) from None


def _span(values: NDArray[np.float64]) -> str:
    return f"from {np.nanmin(values):,.2f} to {np.nanmax(values):,.2f}"


def _lonlat_range(bounds: NDArray[np.float64]) -> NDArray[np.bool_]:
    """Rows of (minx, miny, maxx, maxy) that are finite and could be longitude/latitude."""
    with np.errstate(invalid="ignore"):
        x_ok = (np.abs(bounds[:, [0, 2]]) <= 180).all(axis=1)
        y_ok = (np.abs(bounds[:, [1, 3]]) <= 90).all(axis=1)
    return np.asarray(x_ok & y_ok, dtype=bool)


def _wrong_crs(level: str, message: str, **details: int) -> BoundaryFileError:
    """The error of a level whose coordinates cannot be in its system, ending with the fix."""
    return BoundaryFileError(
        f"level {level!r} {message}; {FIX_CRS}",
        allowed=DECLARE_CRS,
        code="wrong_crs",
        level=level,
        **details,
    )


def _to_wgs84(
    level: str, frame: gpd.GeoDataFrame, system: CoordSystem, *, given: bool
) -> NDArray[np.object_]:
    """A layer's geometries in WGS84, refused when its coordinates cannot be in ``system``.

    Feet or metres read as degrees give lookups that answer 500 and a validation that
    densifies each edge into millions of vertices; degrees read as metres shrink the layer to
    a speck. Both show in the coordinates' range, checked here once per layer, vectorised.
    """
    geoms = np.asarray(frame.geometry.values, dtype=object)
    bounds = shapely.bounds(geoms)
    drawn = np.flatnonzero(~np.isnan(bounds).any(axis=1))
    codes = _text(frame["code"]).to_numpy()
    because = (
        "because that crs was given"
        if given
        else "because the file declares it or none (a GeoJSON file without a crs member counts "
        "as WGS84)"
    )
    if drawn.size:
        b = bounds[drawn]
        xs, ys = b[:, [0, 2]].ravel(), b[:, [1, 3]].ravel()
        where = f"x {_span(xs)}, y {_span(ys)}"
        lonlat = _lonlat_range(b)
        if is_geographic(system) and not lonlat.all():
            bad = drawn[~lonlat]
            raise _wrong_crs(
                level,
                f"has coordinates no longitude/latitude can have ({where}; {bad.size:,} of its "
                f"{len(frame):,} units, first {codes[bad[0]]!r}), yet it is read as {system} "
                f"{because}: these are metres or feet of a projected system (UTM, State "
                "Plane...)",
                units=int(bad.size),
            )
        if not is_geographic(system) and lonlat.all():
            extent = max(np.ptp(xs), np.ptp(ys))
            unit = pyproj.CRS.from_epsg(system.epsg or 4326).axis_info[0].unit_name
            raise _wrong_crs(
                level,
                f"is read in {system} {because}, but all its coordinates lie within "
                f"longitude/latitude range ({where}): the whole level would be {extent:,.3g} "
                f"{unit} across. These are longitude/latitude: the coordinate system named is "
                "wrong",
            )
    try:
        out = transform_geometries(geoms, system, "wgs84")
    except InvalidGeometry as exc:  # too many vertices to densify: not drawn in this system
        raise _wrong_crs(level, f"cannot be in {system}: {exc.message}") from None
    if system.name != "wgs84" and drawn.size:
        fine = _lonlat_range(shapely.bounds(out[drawn]))
        if not fine.all():
            bad = drawn[~fine]
            raise _wrong_crs(
                level,
                f"has {bad.size:,} of its {len(frame):,} units off the globe once converted "
                f"from {system}, {'the crs given' if given else 'the crs of the file'} (first "
                f"unit {codes[bad[0]]!r}): the coordinates are not in that system",
                units=int(bad.size),
            )
    return out


#: Cached properties of a set that depend on its geometry and hierarchy only, not on leaders.
_GEOMETRY_CACHES = (
    "_level_slices",
    "codes",
    "_code_index",
    "_code_positions",
    "parent_positions",
    "chains",
    "children_count",
    "metric_crs",
    "metric_geometries",
    "bounds",
)


@dataclass(frozen=True, eq=False)
class BoundarySet:
    """Units of an ordered list of levels, held in WGS84 (EPSG:4326).

    A unit has a ``code`` unique in the set, a ``name``, a ``level``, the ``parent`` code of the
    unit containing it ('' at the top level), optional leader fields, free ``properties`` and a
    polygon or multipolygon. The levels are data, top first; any number of levels works.

    Parameters
    ----------
    levels : tuple of str
        Level names, top first.
    units : geopandas.GeoDataFrame
        One row per unit with the columns in :data:`UNIT_COLUMNS` and a geometry, EPSG:4326,
        rows ordered by level then as read, with a RangeIndex (positions are row numbers).
    source_crs : CoordSystem
        The coordinate system the set was declared in before conversion to WGS84.
    name : str
        A label for the set, e.g. the file it came from.

    Example
    -------
    >>> import geopandas as gpd, shapely
    >>> top = gpd.GeoDataFrame({"code": ["A"], "name": ["Area"], "parent": [""]},
    ...                        geometry=[shapely.box(0, 0, 1, 1)], crs=4326)
    >>> bs = BoundarySet.from_levels([("area", top)])
    >>> bs.levels, len(bs)
    (('area',), 1)
    """

    levels: tuple[str, ...]
    units: gpd.GeoDataFrame
    source_crs: CoordSystem = field(default_factory=lambda: parse_crs("wgs84"))
    name: str = ""
    #: Codes of units whose invalid geometry was repaired with make_valid when loading.
    repaired: tuple[str, ...] = ()

    @classmethod
    def from_levels(
        cls,
        layers: Sequence[tuple[str, gpd.GeoDataFrame]],
        *,
        crs: str | CoordSystem | None = None,
        name: str = "",
        repair: bool = False,
    ) -> BoundarySet:
        """Build a set from one frame per level, top first.

        Parameters
        ----------
        layers : sequence of (level name, GeoDataFrame)
            Each frame has ``code``, ``name``, ``parent`` columns, optionally the leader columns,
            any other columns (kept as properties) and a geometry.
        crs : str or CoordSystem, optional
            The coordinate system of the frames, overriding their own CRS. Needed for GCJ-02
            and BD-09, which have no EPSG code.
        name : str
            A label for the set.
        repair : bool, default False
            Repair invalid polygons with ``shapely.make_valid`` (keeping the polygonal parts)
            and list their codes in :attr:`repaired`; otherwise keep them as they are, for the
            validator to report.

        Returns
        -------
        BoundarySet

        Raises
        ------
        BoundaryFileError
            No levels, a missing required column, a repeated level name, no CRS at all, or
            coordinates that cannot be in the CRS (code ``wrong_crs``: feet or metres in a
            layer said to be longitude/latitude, longitude/latitude in one said to be
            projected, a CRS without an EPSG code, points off the globe once converted).

        Example
        -------
        >>> import geopandas as gpd, shapely
        >>> f = gpd.GeoDataFrame({"code": ["1"], "name": ["x"], "parent": [None]},
        ...                      geometry=[shapely.box(117.2, 39.1, 117.21, 39.11)])
        >>> BoundarySet.from_levels([("district", f)], crs="gcj02").source_crs.name
        'gcj02'
        """
        if not layers:
            raise BoundaryFileError(
                "a boundary set needs at least one level", allowed="1 or more levels"
            )
        names = [level for level, _ in layers]
        if len(set(names)) != len(names):
            raise BoundaryFileError(
                f"level names repeat: {names}", allowed="distinct level names, top first"
            )
        declared = parse_crs(crs) if crs is not None else None
        frames = []
        source: CoordSystem | None = declared
        for depth, (level, frame) in enumerate(layers):
            missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
            if missing:
                raise BoundaryFileError(
                    f"level {level!r} lacks column(s) {missing}; it has {list(frame.columns)}",
                    allowed="columns code, name, parent; optional leader_name, leader_phone, "
                    "leader_id; any others are kept as properties",
                )
            layer_crs = declared
            if layer_crs is None:
                if frame.crs is None:
                    raise BoundaryFileError(
                        f"level {level!r} has no coordinate system and none was given",
                        allowed="a file with a CRS, or an explicit crs such as wgs84, gcj02, "
                        "bd09 or EPSG:<code>",
                    )
                layer_crs = _file_crs(level, frame)
            source = source or layer_crs
            geoms = _to_wgs84(level, frame, layer_crs, given=declared is not None)
            extra = [
                c
                for c in frame.columns
                if c not in (*REQUIRED_COLUMNS, *LEADER_COLUMNS) and c != frame.geometry.name
            ]
            props = (
                [
                    {k: _jsonable(v) for k, v in row.items() if not pd.isna(v)}
                    for row in frame[extra].to_dict("records")
                ]
                if extra
                else [{} for _ in range(len(frame))]
            )
            part = pd.DataFrame(
                {
                    "code": _text(frame["code"]).to_numpy(),
                    "name": _text(frame["name"]).to_numpy(),
                    "level": level,
                    "depth": depth,
                    "parent": _text(frame["parent"]).to_numpy(),
                    **{c: _optional_text(frame, c).to_numpy() for c in LEADER_COLUMNS},
                    "properties": props,
                }
            )
            frames.append(gpd.GeoDataFrame(part, geometry=np.asarray(geoms), crs=4326))
        units = pd.concat(frames, ignore_index=True) if frames else gpd.GeoDataFrame()
        units = gpd.GeoDataFrame(units, geometry="geometry", crs=4326)
        for column in LEADER_COLUMNS:  # concat may turn None into NaN; keep None for "absent"
            values = units[column].to_numpy(dtype=object).copy()
            values[pd.isna(values)] = None
            units[column] = pd.Series(values, index=units.index, dtype=object)
        assert source is not None
        try:  # the metric view (snapping, validation) densifies the whole set: refuse it now
            check_densify(units.geometry.to_numpy(), densify_length("wgs84"))
        except InvalidGeometry as exc:
            raise BoundaryFileError(
                f"{name or 'the boundary set'} is too large for its coordinate systems: "
                f"{exc.message}; {FIX_CRS}",
                allowed=DECLARE_CRS,
                code="wrong_crs",
            ) from None
        repaired: tuple[str, ...] = ()
        if repair:
            geoms = units.geometry.to_numpy()
            bad = ~shapely.is_valid(geoms) & ~shapely.is_missing(geoms)
            if bad.any():
                geoms = geoms.copy()
                geoms[bad] = [_polygonal(g) for g in shapely.make_valid(geoms[bad])]
                units = units.set_geometry(gpd.GeoSeries(geoms, crs=4326, index=units.index))
                repaired = tuple(units["code"].to_numpy()[bad])
        return cls(
            levels=tuple(names), units=units, source_crs=source, name=name, repaired=repaired
        )

    def __len__(self) -> int:
        return len(self.units)

    def with_leaders(self, leaders: pd.DataFrame) -> BoundarySet:
        """The same units led by the people of a roster instead of the leaders they came with.

        Geometry, codes and hierarchy are shared with this set (their cached arrays are carried
        over, so nothing is projected or indexed again); only the leader columns differ.

        Parameters
        ----------
        leaders : DataFrame
            Columns ``code`` and :data:`LEADER_COLUMNS`, one row per unit that has a leader;
            units not listed have none. Codes not in the set are ignored.

        Returns
        -------
        BoundarySet

        Example
        -------
        >>> import geopandas as gpd, pandas as pd, shapely
        >>> top = gpd.GeoDataFrame({"code": ["A"], "name": ["Area"], "parent": [""],
        ...                         "leader_name": ["Li Lei"]},
        ...                        geometry=[shapely.box(0, 0, 1, 1)], crs=4326)
        >>> bs = BoundarySet.from_levels([("area", top)])
        >>> roster = pd.DataFrame({"code": ["A"], "leader_name": ["Han Mei"],
        ...                        "leader_phone": ["13900000000"], "leader_id": [None]})
        >>> bs.with_leaders(roster).units["leader_name"].tolist(), bs.units["leader_name"].tolist()
        (['Han Mei'], ['Li Lei'])
        """
        table = leaders.drop_duplicates("code", keep="last")
        found = pd.Index(table["code"].astype(str)).get_indexer(self.units["code"])
        has = found >= 0
        columns = {}
        for column in LEADER_COLUMNS:
            values = np.full(len(self.units), None, dtype=object)
            source = table[column].to_numpy(dtype=object)[found[has]]
            source[pd.isna(source)] = None
            values[has] = source
            columns[column] = pd.Series(values, index=self.units.index, dtype=object)
        other = replace(self, units=self.units.assign(**columns))
        for name in _GEOMETRY_CACHES:  # what does not depend on who leads
            if name in self.__dict__:
                other.__dict__[name] = self.__dict__[name]
        return other

    # -- levels -----------------------------------------------------------------------------

    def depth_of(self, level: str) -> int:
        """Position of a level, 0 at the top; raises :class:`UnknownLevel`."""
        try:
            return self.levels.index(level)
        except ValueError:
            raise UnknownLevel(f"unknown level {level!r}", allowed=", ".join(self.levels)) from None

    def level_positions(self, level: str | int) -> NDArray[np.intp]:
        """Row positions of the units of a level (by name or depth)."""
        depth = self.depth_of(level) if isinstance(level, str) else level
        return self._level_slices[depth]

    @cached_property
    def _level_slices(self) -> list[NDArray[np.intp]]:
        depth = self.units["depth"].to_numpy()
        return [np.flatnonzero(depth == d) for d in range(len(self.levels))]

    # -- codes and hierarchy ----------------------------------------------------------------

    @cached_property
    def codes(self) -> NDArray[np.object_]:
        return self.units["code"].to_numpy(dtype=object)

    @cached_property
    def _code_index(self) -> pd.Index:
        # First occurrence wins when codes repeat; the validator reports repeats as errors.
        codes = pd.Index(self.units["code"])
        return codes[~codes.duplicated()]

    @cached_property
    def _code_positions(self) -> NDArray[np.intp]:
        codes = pd.Index(self.units["code"])
        return np.flatnonzero(~codes.duplicated())

    def positions(self, codes: Sequence[str] | NDArray[Any]) -> NDArray[np.intp]:
        """Row positions of codes, -1 where a code is not in the set."""
        found = self._code_index.get_indexer(pd.Index(list(codes), dtype=object))
        return np.where(found >= 0, self._code_positions[np.maximum(found, 0)], -1)

    def position(self, code: str) -> int:
        """Row position of one code; raises :class:`UnitNotFound`."""
        pos = int(self.positions([code])[0])
        if pos < 0:
            raise UnitNotFound(f"no unit with code {code!r}", allowed="a code listed by GET /units")
        return pos

    @cached_property
    def parent_positions(self) -> NDArray[np.intp]:
        """Position of each unit's parent, -1 at the top level or when the parent is missing."""
        parents = self.units["parent"].to_numpy(dtype=object)
        pos = self.positions(parents)
        pos[parents == ""] = -1
        return pos

    @cached_property
    def chains(self) -> NDArray[np.intp]:
        """Ancestors of every unit: shape (units, levels), column d the unit at depth d, else -1.

        A unit's own position is in its own depth's column; below it the row holds -1. The chain
        follows parent codes, so a unit whose parent is missing has -1 above that point.
        """
        n, depths = len(self.units), len(self.levels)
        chains = np.full((n, depths), -1, dtype=np.intp)
        depth = self.units["depth"].to_numpy()
        rows = np.arange(n)
        chains[rows, depth] = rows
        current = rows.copy()
        parent = self.parent_positions
        # walk up one level at a time, vectorised over all units
        for _ in range(depths - 1):
            current = np.where(current >= 0, parent[np.maximum(current, 0)], -1)
            ok = current >= 0
            chains[rows[ok], depth[current[ok]]] = current[ok]
        return chains

    @cached_property
    def responsible(self) -> NDArray[np.intp]:
        """For each unit, the position of the deepest unit on its chain that has a leader, or -1."""
        has_leader = self.units[["leader_name", "leader_phone", "leader_id"]].notna().any(axis=1)
        has_leader_arr = has_leader.to_numpy()
        out = np.full(len(self.units), -1, dtype=np.intp)
        for d in range(len(self.levels)):
            col = self.chains[:, d]
            ok = col >= 0
            ok[ok] = has_leader_arr[col[ok]]
            out[ok] = col[ok]
        return out

    @cached_property
    def children_count(self) -> NDArray[np.intp]:
        """Number of units whose parent is each unit."""
        parent = self.parent_positions
        return np.bincount(parent[parent >= 0], minlength=len(self.units)).astype(np.intp)

    def children(self, code: str) -> NDArray[np.intp]:
        """Positions of the direct children of a unit."""
        return np.flatnonzero(self.parent_positions == self.position(code))

    # -- metric view ------------------------------------------------------------------------

    @cached_property
    def metric_crs(self) -> pyproj.CRS:
        """The projected CRS (metres) chosen for the set's area."""
        return local_metric_crs(tuple(self.units.total_bounds))

    @cached_property
    def metric_geometries(self) -> NDArray[np.object_]:
        """All unit geometries in :attr:`metric_crs`, densified first.

        Edges are straight in the coordinates the set is stored in; projected vertex by vertex,
        a long edge would bow away from the short edges of its neighbours that meet it at a
        T-junction (about 40 m² of false gap along a 1.7 km edge in Tianjin). Densifying to
        about 50 m before projecting keeps that far below a square metre; invalid polygons are
        left as drawn so that their reported problem is the drawn one.
        """
        crs = parse_crs(self.metric_crs)
        return transform_geometries(self.units.geometry.to_numpy(), "wgs84", crs)

    @cached_property
    def bounds(self) -> tuple[float, float, float, float]:
        minx, miny, maxx, maxy = shapely.total_bounds(self.units.geometry.values)
        return float(minx), float(miny), float(maxx), float(maxy)
