"""The planners' coverage map: a Folium page built from a coverage answer, working offline.

One page, five layers in a layer control:

(a) **units** of one level shaded by their residents aged 60+ outside every service area
    (classed like the density map: mapclassify, "0" its own class);
(b) **service areas** of the facilities (15-minute circles or network isochrones), drawn only;
(c) **gaps**: the pieces of the units outside every service area, highlighted, each with the
    uncovered 60+ in it;
(d) **facilities** as markers (name, type, capacity);
(e) **suggested sites** (when given) as numbered markers with their gain.

The title and legend say what is shown: facility type, minutes, metres and mode, level, the
60+ covered out of the total and the share, and when the data was read.

Polygons of (a), (b) and (c) are sent in the compact encoding of the density map
(:func:`maps.encoding.encode_geometries`, one origin), decoded by ``density.js``; a gap piece
that is a whole unit refers to the unit instead of repeating it. Everything from the data
reaches the page as JSON written straight into the script (never through folium's templates,
which would evaluate ``{{ ... }}`` in a facility's name) and is put in with ``textContent``
(``maps/static/wangge/coverage.js``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.map import Layer
from numpy.typing import NDArray

from geo.coverage import CoverageResult
from maps.basemap import check_tiles_crs, shifted_frame
from maps.classes import check_class_count, classify_counts
from maps.density import DENSITY_RESOURCES
from maps.encoding import GEOMETRY_STEP_DEG, encode_geometries
from maps.i18n import DEFAULT_LANG, Lang, label, level_name, scheme_name
from maps.inputs import (
    MapInputError,
    checked_points,
    drawn_bounds,
    in_wgs84,
    missing_columns,
    optional_text,
    require_columns,
)
from maps.page import DEFAULT_ASSET_BASE, Page, PageMap, Resources, ScriptCall
from maps.times import format_instant

#: Columns ``units`` must have (plus polygons); ``level``, when present, must be the map's.
UNIT_COLUMNS = ("code", "name")
#: Columns read from ``coverage.units``.
COVERAGE_UNIT_COLUMNS = (
    "code",
    "covered_area_m2",
    "population_60",
    "covered_60",
    "uncovered_60",
    "share_covered_60",
)
#: Columns read from ``coverage.gaps`` (plus polygons).
GAP_COLUMNS = ("unit", "residents", "residents_60", "area_m2")
#: Columns ``facilities`` must have (plus points); ``type`` and ``capacity`` are shown if there.
FACILITY_COLUMNS = ("name",)
#: Columns ``sites`` must have (plus points); the others of ``geo.coverage.suggest_sites`` are
#: shown if there.
SITE_COLUMNS = ("rank", "gain_60")
SITE_OPTIONAL = ("gain", "unit", "cumulative_60", "share_of_uncovered_60")

#: The layers, by key; their names in the page's language are ``layer.coverage.<key>`` of
#: maps.i18n.
LAYER_NAMES = {
    "units": "Uncovered 60+ per unit",
    "areas": "Service areas",
    "gaps": "Coverage gaps",
    "facilities": "Facilities",
    "sites": "Suggested sites",
}
#: What the coverage page links: density.js/css (the decoder, the title and legend styles),
#: then coverage.js/css.
COVERAGE_RESOURCES = DENSITY_RESOURCES + Resources(
    js=(("wangge_coverage_js", "wangge/coverage.js"),),
    css=(("wangge_coverage_css", "wangge/coverage.css"),),
)

# shapely type ids that can never be a service area: points and lines
_NOT_AREAS = (0, 1, 2, 4, 5)


# -- public ---------------------------------------------------------------------------------


def build_coverage_map(
    units: gpd.GeoDataFrame,
    coverage: CoverageResult,
    facilities: gpd.GeoDataFrame,
    service_areas: gpd.GeoSeries | gpd.GeoDataFrame | None = None,
    *,
    title: str,
    built_at: datetime,
    level: str | None = None,
    facility_type: str | None = None,
    type_names: Mapping[str, str] | None = None,
    sites: gpd.GeoDataFrame | None = None,
    tiles: str | None = None,
    tiles_attribution: str | None = None,
    asset_base: str = DEFAULT_ASSET_BASE,
    display_tz: str | None = None,
    lang: Lang = DEFAULT_LANG,
    tiles_crs: str = "wgs84",
    parameters_text: str = "",
    scheme: str = "quantiles",
    k: int = 5,
) -> PageMap:
    """Build the coverage map of the units of one level.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        The units of the coverage's level (rows of ``BoundarySet.units``), polygons in
        EPSG:4326 (another CRS is converted; none is taken as EPSG:4326), with columns
        ``code`` and ``name``; a ``level`` column, if there, must equal the level. Exactly
        the units of ``coverage.units``, in any order. Other columns are never read.
    coverage : geo.coverage.CoverageResult
        From :func:`geo.coverage.coverage_by_unit`. Read: ``level``; ``units`` (``code``,
        ``covered_area_m2``, ``population_60``, ``covered_60``, ``uncovered_60``,
        ``share_covered_60``); ``gaps``
        (EPSG:4326 polygons with ``unit``, ``residents``, ``residents_60``, ``area_m2``);
        ``summary`` (``minutes``, ``speed_m_per_min``, ``distance_m``, ``mode``,
        ``buffer_m`` in network mode, ``residents``, ``residents_60``, ``covered``,
        ``covered_60``, ``uncovered_60``, ``share_covered_60``,
        ``residents_60_outside_level``); ``service_areas`` when none are given.
    facilities : geopandas.GeoDataFrame
        Points (any CRS; none is taken as EPSG:4326) with ``name`` and, shown when present,
        ``type`` and ``capacity`` (None or NaN when unknown). Other columns are never read.
        Facilities without a point are counted but not drawn.
    service_areas : geopandas.GeoSeries or GeoDataFrame, optional
        The facilities' service areas, polygons in any CRS with one set (e.g. the metric
        ones of :func:`geo.coverage.service_areas`, circles or network isochrones); by
        default ``coverage.service_areas``. Drawn only, not clickable.
    title : str
        Title of the page and of the map.
    built_at : datetime
        When the data was read (shown with its UTC offset if it has one).
    level : str, optional
        The level shown; by default ``coverage.level``, which it must equal.
    facility_type : str, optional
        What the facilities are, for the title and legend (e.g. "居家养老服务中心 elderly
        care"); by default the distinct values of ``facilities["type"]``.
    type_names : mapping, optional
        The facility types' names in the page's language (code -> name), shown in the
        facilities' popups instead of the codes of ``facilities["type"]``.
    sites : geopandas.GeoDataFrame, optional
        Suggested new sites (:func:`geo.coverage.suggest_sites`): points with ``rank`` and
        ``gain_60`` and, shown when present, ``gain``, ``unit`` (a unit code),
        ``cumulative_60`` and ``share_of_uncovered_60``. None leaves the layer out.
    tiles : str, optional
        URL template of a tile server (``https://tiles.example/{z}/{x}/{y}.png``). None draws
        the units on a plain background with no tile layer.
    tiles_attribution : str, optional
        Attribution of the tiles (HTML allowed, as in Leaflet); "Base map" if not given.
    asset_base : str
        URL prefix under which the application serves :func:`maps.assets.asset_files`.
    display_tz : str, optional
        IANA time zone to show an aware ``built_at`` in; None shows it as given.
    lang : {"zh", "en"}, default "zh"
        The language of the page's labels (:mod:`maps.i18n`).
    tiles_crs : {"wgs84", "gcj02"}, default "wgs84"
        The system of the base tiles; "gcj02" draws everything shifted to GCJ-02.
    parameters_text : str
        Human-readable parameters for the legend, e.g. "population: census 2020 by
        micro-grid".
    scheme : str, default "quantiles"
        mapclassify scheme for the uncovered 60+ per unit, counted in whole residents (see
        :func:`maps.classes.classify_counts`).
    k : int, default 5
        Number of classes of positive counts (at most 9).

    Returns
    -------
    maps.page.PageMap
        The coverage page (a folium map); :func:`maps.render_html` writes its HTML.

    Raises
    ------
    MapInputError
        A missing column, units that are not the coverage's, a level that is not the
        coverage's, non-point facilities or sites, or point or line service areas.

    Example
    -------
    >>> import geopandas as gpd, pandas as pd, shapely
    >>> from datetime import datetime
    >>> from geo.coverage import coverage_by_unit
    >>> from geo.units import BoundarySet
    >>> top = gpd.GeoDataFrame({"code": ["A"], "name": ["社区A"], "parent": [""]},
    ...                        geometry=[shapely.box(117.20, 39.10, 117.23, 39.12)], crs=4326)
    >>> bset = BoundarySet.from_levels([("community", top)])
    >>> facilities = gpd.GeoDataFrame({"name": ["养老驿站"], "type": ["elderly_care"]},
    ...                               geometry=[shapely.Point(117.205, 39.11)], crs=4326)
    >>> pop = pd.DataFrame({"code": ["A"], "residents": [900], "residents_60": [200]})
    >>> result = coverage_by_unit(bset, "community", facilities, pop)
    >>> m = build_coverage_map(bset.units, result, facilities, title="Coverage",
    ...                        built_at=datetime(2024, 5, 2, 8))
    >>> from maps import render_html
    >>> "覆盖缺口" in render_html(m)
    True
    """
    shifted = check_tiles_crs(tiles_crs)
    level = _checked_level(level, coverage)
    units = _units_of_coverage(units, level)
    check_class_count(k)
    codes = units["code"].astype(str).to_numpy(dtype=object)
    table = _coverage_table(coverage, codes)
    gaps = _checked_gaps(coverage.gaps, codes)
    areas = _checked_areas(coverage.service_areas if service_areas is None else service_areas)
    facilities = checked_points(facilities, FACILITY_COLUMNS, "facilities")
    facilities = facilities.reset_index(drop=True)
    if sites is not None:
        sites = checked_points(sites, SITE_COLUMNS, "sites").reset_index(drop=True)
    if shifted:
        units, gaps, areas, facilities = (
            shifted_frame(f) for f in (units, gaps, areas, facilities)
        )
        sites = shifted_frame(sites) if sites is not None else None

    uncovered = _whole(table["uncovered_60"])
    classes = classify_counts(np.asarray(uncovered, dtype=np.int64), scheme=scheme, k=k)
    page = Page(
        drawn_bounds(units),
        title=title,
        resources=COVERAGE_RESOURCES,
        asset_base=asset_base,
        tiles=tiles,
        tiles_attribution=tiles_attribution,
        lang=lang,
    )
    layer_names = {key: label(lang, f"layer.coverage.{key}") for key in LAYER_NAMES}

    shapes = _Shapes(units, table, gaps, areas)
    names = optional_text(units["name"])
    data = page.call(
        "wangge.coverage.data",
        {
            "step": GEOMETRY_STEP_DEG,
            "origin": shapes.origin,
            "units": {
                "geometry": shapes.units,
                "code": codes.tolist(),
                "name": names,
                "pop60": _whole(table["population_60"]),
                "cov60": _whole(table["covered_60"]),
                "unc60": uncovered,
                "share": _shares(table["share_covered_60"]),
                "cls": classes.unit_class.tolist(),
            },
            "gaps": {
                "geometry": shapes.gaps,
                "unit": shapes.gap_unit.tolist(),
                "whole": shapes.gap_whole.astype(int).tolist(),
                "res": _whole(gaps["residents"]),
                "res60": _whole(gaps["residents_60"]),
                "area": _whole(gaps["area_m2"]),
            },
            "areas": {"geometry": shapes.areas, "count": len(areas)},
        },
        kind="CoverageData",
    )
    facility_rows = _facility_rows(facilities, type_names or {})
    site_rows = None
    if sites is not None:
        site_rows = _site_rows(sites, dict(zip(codes.tolist(), names, strict=True)))
    layers: dict[str, Layer] = {
        "units": _layer(page, "units", data, {"colors": classes.colors}),
        "areas": _layer(page, "areas", data, {}),
        "gaps": _layer(page, "gaps", data, {}),
        "facilities": _layer(page, "facilities", None, {"rows": facility_rows}),
    }
    if site_rows is not None:
        layers["sites"] = _layer(page, "sites", None, {"rows": site_rows})

    summary = coverage.summary
    mode = str(summary.get("mode", coverage.mode))
    config = {
        "title": title,
        "level": level,
        "builtAt": format_instant(built_at, display_tz),
        "timeZone": display_tz,
        "parameters": parameters_text,
        "plain": tiles is None,
        "layerNames": layer_names,
        "levelName": level_name(lang, level),
        "facilityType": facility_type if facility_type is not None else _types(facilities),
        "service": {
            "minutes": _number(summary.get("minutes")),
            "speed": _number(summary.get("speed_m_per_min")),
            "distanceM": _number(summary.get("distance_m", coverage.distance_m)),
            "mode": label(lang, f"cov.mode.{mode}") if mode in ("circle", "network") else mode,
            "bufferM": _number(summary.get("buffer_m")) if mode == "network" else None,
        },
        "totals": {
            "residents60": _number(summary.get("residents_60"), 0),
            "covered60": _number(summary.get("covered_60"), 0),
            "uncovered60": _number(summary.get("uncovered_60"), 0),
            "share60": _number(summary.get("share_covered_60"), 4),
            "residents": _number(summary.get("residents"), 0),
            "covered": _number(summary.get("covered"), 0),
            "outside60": _number(summary.get("residents_60_outside_level"), 0),
        },
        "units": {"total": len(units), "drawn": shapes.units_drawn},
        "classes": classes.legend(),
        "scheme": scheme_name(lang, classes.scheme),
        "facilities": {"total": len(facilities), "drawn": len(facility_rows)},
        "areas": {"total": len(areas), "drawn": shapes.areas_drawn},
        "gaps": {
            "total": len(gaps),
            "drawn": shapes.gaps_drawn,
            "residents60": _number(gaps["residents_60"].sum(), 0),
        },
        "sites": _sites_summary(sites, site_rows, summary),
    }
    return page.finish("wangge.coverage.decorate", config, layers)


def _layer(page: Page, kind: str, data: ScriptCall | None, options: dict[str, Any]) -> Layer:
    """One layer: ``units``, ``areas`` or ``gaps`` from the shared data; ``facilities`` or
    ``sites`` from their own rows."""
    function = f"wangge.coverage.{kind}Layer"
    name = label(page.lang, f"layer.coverage.{kind}")
    return page.layer(function, data, options, kind="CoverageLayer", name=name)


# -- inputs ---------------------------------------------------------------------------------


def _checked_level(level: str | None, coverage: CoverageResult) -> str:
    if level is not None and level != coverage.level:
        raise MapInputError(
            f"level {level!r} given for a coverage of level {coverage.level!r}; "
            "allowed: the coverage's level (or none)"
        )
    return coverage.level


def _units_of_coverage(units: gpd.GeoDataFrame, level: str) -> gpd.GeoDataFrame:
    """The units of the level (a whole boundary set may be given), each once, in EPSG:4326."""
    require_columns(units, UNIT_COLUMNS, "units")
    if "level" in units.columns:
        # a whole BoundarySet.units may be given: keep the level's units
        units = units[units["level"].astype(str) == level]
    repeated = units["code"].astype(str).duplicated()
    if repeated.any():
        code = units["code"].astype(str)[repeated].iloc[0]
        raise MapInputError(f"unit code {code!r} appears twice; allowed: one row per unit")
    return in_wgs84(units.reset_index(drop=True))


def _coverage_table(coverage: CoverageResult, codes: NDArray[np.object_]) -> pd.DataFrame:
    """The coverage's rows in the order of ``codes``; the two must hold the same units."""
    missing = missing_columns(coverage.units, COVERAGE_UNIT_COLUMNS)
    if missing:
        raise MapInputError(
            f"coverage.units lack column(s) {missing}; allowed: a CoverageResult's units"
        )
    table = coverage.units.set_index(coverage.units["code"].astype(str))
    absent = pd.Index(codes).difference(list(table.index))
    extra = table.index.difference(list(codes))
    if absent.size or extra.size:
        raise MapInputError(
            f"the units and the coverage differ: {absent.size} unit(s) not in the coverage "
            f"(e.g. {list(absent[:3])}), {extra.size} covered unit(s) not in the units "
            f"(e.g. {list(extra[:3])}); allowed: the units of the coverage's level"
        )
    return table.loc[list(codes)]


def _checked_gaps(gaps: gpd.GeoDataFrame, codes: NDArray[np.object_]) -> gpd.GeoDataFrame:
    missing = missing_columns(gaps, GAP_COLUMNS)
    if missing or not isinstance(gaps, gpd.GeoDataFrame):
        raise MapInputError(
            f"coverage.gaps lack column(s) {missing}; allowed: a CoverageResult's gaps"
        )
    gaps = in_wgs84(gaps).reset_index(drop=True)
    unknown = ~gaps["unit"].astype(str).isin(set(codes.tolist()))
    if unknown.any():
        raise MapInputError(
            f"gap piece in unit {gaps['unit'].astype(str)[unknown].iloc[0]!r}, which is not "
            "among the units; allowed: gaps of the given units"
        )
    return gaps


def _checked_areas(areas: gpd.GeoSeries | gpd.GeoDataFrame) -> NDArray[np.object_]:
    """Service-area polygons in EPSG:4326 (missing or empty ones kept, drawn as nothing)."""
    if not isinstance(areas, gpd.GeoSeries | gpd.GeoDataFrame):
        raise MapInputError(
            f"service areas are a {type(areas).__name__}; allowed: a GeoSeries or "
            "GeoDataFrame of polygons with a CRS"
        )
    series = areas.geometry if isinstance(areas, gpd.GeoDataFrame) else areas
    if series.crs is not None and series.crs.to_epsg() != 4326:
        series = series.to_crs(4326)
    geoms = series.to_numpy()
    kinds = shapely.get_type_id(geoms)
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    if np.isin(kinds[~empty], _NOT_AREAS).any():
        raise MapInputError(
            "service areas must be polygons; allowed: Polygon or MultiPolygon geometries"
        )
    return np.asarray(geoms, dtype=object)


# -- geometries -----------------------------------------------------------------------------


class _Shapes:
    """Units, gap pieces and service areas encoded together (one origin).

    A gap piece that is a whole unit (a one-polygon unit with no covered area and this one
    piece) is sent empty and drawn with its unit's geometry: at the micro-grid level most
    pieces are whole micro-grids. Other pieces are simplified to half the quantisation step
    first: they come back from the metric CRS with a vertex every few tens of metres along
    straight edges, which the page does not need.
    """

    def __init__(
        self,
        units: gpd.GeoDataFrame,
        table: pd.DataFrame,
        gaps: gpd.GeoDataFrame,
        areas: NDArray[np.object_],
    ) -> None:
        unit_geoms = units.geometry.to_numpy()
        position = {code: i for i, code in enumerate(units["code"].astype(str).tolist())}
        self.gap_unit = np.array(
            [position[code] for code in gaps["unit"].astype(str).tolist()], dtype=np.intp
        )
        pieces_per_unit = np.bincount(self.gap_unit, minlength=len(unit_geoms))
        uncovered_whole = table["covered_area_m2"].to_numpy(dtype=float) <= 1e-6
        single = shapely.get_type_id(unit_geoms) == shapely.GeometryType.POLYGON
        whole_unit = uncovered_whole & single & (pieces_per_unit == 1)
        self.gap_whole = whole_unit[self.gap_unit]
        gap_geoms = np.asarray(gaps.geometry.to_numpy(), dtype=object).copy()
        gap_geoms[self.gap_whole] = None
        gap_geoms = shapely.simplify(gap_geoms, GEOMETRY_STEP_DEG / 2, preserve_topology=True)

        everything = np.concatenate([unit_geoms, gap_geoms, areas]).astype(object)
        self.origin, text = encode_geometries(everything)
        parts = text.split("!")
        n_units, n_gaps = len(unit_geoms), len(gap_geoms)
        unit_parts = parts[:n_units]
        gap_parts = parts[n_units : n_units + n_gaps]
        area_parts = parts[n_units + n_gaps :]
        self.units = "!".join(unit_parts)
        self.gaps = "!".join(gap_parts)
        self.areas = "!".join(area_parts)
        self.units_drawn = sum(1 for p in unit_parts if p)
        self.gaps_drawn = sum(
            1
            for p, u, w in zip(gap_parts, self.gap_unit, self.gap_whole, strict=True)
            if (unit_parts[u] if w else p)
        )
        self.areas_drawn = sum(1 for p in area_parts if p)


# -- rows for the page ----------------------------------------------------------------------


def _whole(values: pd.Series) -> list[int]:
    """Counts of residents as whole numbers (population spread by area is fractional)."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    return np.rint(np.nan_to_num(numbers, nan=0.0)).astype(np.int64).tolist()


def _shares(values: pd.Series) -> list[float | None]:
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
    return [round(float(x), 4) if math.isfinite(x) else None for x in numbers]


def _number(value: Any, digits: int = 3) -> float | int | None:
    """A number for the page: rounded, None when missing or not finite."""
    if value is None:
        return None
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    if not math.isfinite(number):
        return None
    return int(round(number)) if digits == 0 else round(number, digits)


def _cell_value(value: Any) -> Any:
    """A capacity or other cell as a JSON value: numbers stay numbers, missing is None."""
    if value is None or (isinstance(value, float | np.floating) and not math.isfinite(value)):
        return None
    if value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, bool | np.bool_):
        return str(bool(value))
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return int(value) if float(value).is_integer() else round(float(value), 3)
    return str(value)


def _column(frame: pd.DataFrame, name: str) -> list[Any]:
    if name not in frame.columns:
        return [None] * len(frame)
    return [_cell_value(v) for v in frame[name].tolist()]


def _located(frame: gpd.GeoDataFrame) -> tuple[NDArray[np.intp], list[float], list[float]]:
    """Rows with a point, and their latitude and longitude (6 decimals, about 0.1 m)."""
    geoms = frame.geometry.to_numpy()
    lon = np.asarray(shapely.get_x(geoms), dtype=float)
    lat = np.asarray(shapely.get_y(geoms), dtype=float)
    rows = np.flatnonzero(np.isfinite(lon) & np.isfinite(lat))
    return rows, np.round(lat[rows], 6).tolist(), np.round(lon[rows], 6).tolist()


def _facility_rows(facilities: gpd.GeoDataFrame, type_names: Mapping[str, str]) -> list[list[Any]]:
    """``[lat, lon, name, type, capacity]`` per located facility (a type by its name when
    ``type_names`` has it)."""
    rows, lat, lon = _located(facilities)
    name = optional_text(facilities["name"])
    kind, capacity = _column(facilities, "type"), _column(facilities, "capacity")
    return [
        [la, lo, name[i], type_names.get(kind[i], kind[i]), capacity[i]]
        for la, lo, i in zip(lat, lon, rows.tolist(), strict=True)
    ]


def _site_rows(sites: gpd.GeoDataFrame, unit_names: dict[str, str]) -> list[list[Any]]:
    """``[lat, lon, rank, gain 60+, gain, unit code, unit name, cumulative 60+, share]``."""
    rows, lat, lon = _located(sites)
    columns = {c: _column(sites, c) for c in (*SITE_COLUMNS, *SITE_OPTIONAL)}
    out = []
    for la, lo, i in zip(lat, lon, rows.tolist(), strict=True):
        unit = columns["unit"][i]
        out.append(
            [
                la,
                lo,
                columns["rank"][i],
                _number(columns["gain_60"][i], 0),
                _number(columns["gain"][i], 0),
                unit,
                unit_names.get(str(unit), "") if unit is not None else "",
                _number(columns["cumulative_60"][i], 0),
                _number(columns["share_of_uncovered_60"][i], 4),
            ]
        )
    return out


def _types(facilities: gpd.GeoDataFrame) -> str:
    if "type" not in facilities.columns:
        return ""
    return ", ".join(sorted({str(t) for t in facilities["type"].dropna().tolist()}))


def _sites_summary(
    sites: gpd.GeoDataFrame | None, rows: list[list[Any]] | None, summary: dict[str, Any]
) -> dict[str, Any] | None:
    if sites is None or rows is None:
        return None
    gain = float(pd.to_numeric(sites["gain_60"], errors="coerce").fillna(0).sum())
    uncovered = _number(summary.get("uncovered_60"), 6)
    return {
        "total": len(sites),
        "drawn": len(rows),
        "gain60": _number(gain, 0),
        "shareOfUncovered": (
            _number(gain / uncovered, 4) if isinstance(uncovered, float) and uncovered > 0 else None
        ),
    }
