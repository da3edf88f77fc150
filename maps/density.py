"""The dispatcher's case-density map: a Folium page built from plain data, working offline.

One page, four layers in a layer control:

(a) **choropleth** of case counts per unit of one level, classed with mapclassify;
(b) **heat** of case locations, binned on a metric grid first so that a million cases become
    a few thousand weighted cell centres;
(c) **open cases** as clustered markers coloured by status, overdue ones ringed in red, at most
    ``max_markers`` of them (overdue first, then the newest);
(d) **unit boundaries** with name, code, case count, leader, and the leader's phone only when
    asked for.

Unit geometries are sent once, quantised to about a metre and delta-encoded in a compact
string (:mod:`maps.encoding`) that ``maps/static/wangge/density.js`` decodes; layers (a) and
(d) share it. Which statuses are open, and how statuses and categories are labelled, the
caller says (:class:`maps.statuses.CaseStatus`, a mapping of category codes to labels). All
scripts and stylesheets are local (:mod:`maps.assets`). Every text from the data reaches the
page as JSON and is put in with ``textContent``, never as HTML.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import folium
import folium.plugins
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from folium.map import Layer
from numpy.typing import NDArray

from geo.crs import local_metric_crs, wgs84_to_gcj02
from maps.basemap import check_tiles_crs, shifted_frame
from maps.classes import check_class_count, classify_counts
from maps.encoding import GEOMETRY_STEP_DEG, encode_geometries
from maps.heat import HeatCells, heat_cells
from maps.i18n import DEFAULT_LANG, Lang, label, level_name, scheme_name
from maps.inputs import (
    MapInputError,
    checked_points,
    drawn_bounds,
    in_wgs84,
    optional_text,
    require_columns,
)
from maps.page import DEFAULT_ASSET_BASE, Page, PageMap, Resources, ScriptCall
from maps.statuses import CaseStatus, StatusVocabulary
from maps.tiles import TileLevel, tile_unit_layer
from maps.times import format_instant, format_times, instants_ns

#: Columns ``units`` must have.
UNIT_COLUMNS = ("code", "name", "level", "leader_name", "leader_phone")
#: Columns ``cases`` must have (plus a point geometry).
CASE_COLUMNS = (
    "id",
    "category",
    "status",
    "created_at",
    "due_at",
    "overdue",
    "unit_code",
    "leader_name",
    "case_unit",
)
#: The layers, by key; their names in the page's language are ``layer.<key>`` of maps.i18n.
LAYER_NAMES = {
    "choropleth": "Cases per unit",
    "heat": "Case density (heat)",
    "cases": "Open cases",
    "units": "Unit boundaries",
}

#: density.js and density.css: the decoder, the layers, the title and the legend.
DENSITY_RESOURCES = Resources(
    js=(
        ("wangge_density_js", "wangge/density.js"),
        ("wangge_analytics_js", "wangge/analytics.js"),
    ),
    css=(
        ("wangge_density_css", "wangge/density.css"),
        ("wangge_analytics_css", "wangge/analytics.css"),
    ),
)
#: What the open-case layer needs besides: Leaflet.markercluster, by the plugin's own
#: resource names, so that localize() treats them like folium's.
_CLUSTER_RESOURCES = Resources(
    js=tuple(folium.plugins.MarkerCluster.default_js),
    css=tuple(folium.plugins.MarkerCluster.default_css),
)


# -- public ---------------------------------------------------------------------------------


def build_density_map(
    units: gpd.GeoDataFrame,
    cases: gpd.GeoDataFrame,
    *,
    level: str,
    title: str,
    built_at: datetime,
    statuses: Sequence[CaseStatus],
    categories: Mapping[str, str],
    filters: str = "",
    tiles: str | None = None,
    tiles_attribution: str | None = None,
    show_phones: bool = False,
    case_url: str = "/reports/{id}",
    asset_base: str = DEFAULT_ASSET_BASE,
    scheme: str = "quantiles",
    k: int = 5,
    heat_cell_m: float = 75.0,
    max_markers: int = 5000,
    display_tz: str | None = None,
    lang: Lang = DEFAULT_LANG,
    tiles_crs: str = "wgs84",
) -> PageMap:
    """Build the case-density map of the units of one level.

    Parameters
    ----------
    units : geopandas.GeoDataFrame
        The units of the level (rows of ``BoundarySet.units``), polygons in EPSG:4326 (another
        CRS is converted; none is taken as EPSG:4326), with columns ``code``, ``name``,
        ``level`` (all equal to ``level``), ``leader_name`` and ``leader_phone`` (None or NaN
        when unknown). Other columns are ignored.
    cases : geopandas.GeoDataFrame
        The cases to show (already filtered), points in EPSG:4326, with columns:

        - ``id``: the case id (any type; shown, and put in ``case_url``);
        - ``category``: a category code, e.g. "parking" (shown by its label in
          ``categories``);
        - ``status``: a status code of ``statuses``, compared ignoring case and surrounding
          spaces; open unless ``statuses`` says it is not (a status not in ``statuses`` is
          open);
        - ``created_at``, ``due_at``: datetimes (NaT allowed for ``due_at``);
        - ``overdue``: bool;
        - ``unit_code``: code of the micro-grid the case was assigned to;
        - ``leader_name``: the responsible leader (None when unknown);
        - ``case_unit``: code of the unit **of this map's level** the case belongs to (None
          when outside every unit); the counts per unit come from this column alone.

        Other columns are never read, so reporters' names or phones in the frame cannot reach
        the page. Cases with an empty or missing point are counted but not drawn.
    level : str
        The level shown, e.g. "microgrid" (in the title and legend).
    title : str
        Title of the page and of the map.
    built_at : datetime
        When the data was read, shown as is (with its UTC offset if it has one).
    statuses : sequence of CaseStatus
        Every status of the caller's lifecycle: which are open (drawn as markers and
        counted as open), and the label of each. Open statuses are coloured in the order
        given, statuses not in it from spare colours.
    categories : mapping of str to str
        Label of each category code, shown in the case popups; a category not in it is
        shown as it is written.
    filters : str
        Human-readable filters applied to the cases, e.g. "category: noise; last 30 days".
    tiles : str, optional
        URL template of a tile server (``https://tiles.example/{z}/{x}/{y}.png``). None draws
        the units on a plain background with no tile layer.
    tiles_attribution : str, optional
        Attribution of the tiles (HTML allowed, as in Leaflet); "Base map" if not given.
    show_phones : bool, default False
        Put leaders' phone numbers in the unit popups. Only for users allowed to see them.
    case_url : str
        Link of a case in its popup; ``{id}`` is replaced by the URL-encoded case id.
    asset_base : str
        URL prefix under which the application serves :func:`maps.assets.asset_files`.
    scheme : str, default "quantiles"
        mapclassify scheme for the positive counts (e.g. "quantiles", "natural_breaks",
        "fisher_jenks_sampled"). Units with no case form their own class "0". With at most
        ``k`` distinct positive counts each count is its own class, so few distinct values
        or all zeros still give a sound legend.
    k : int, default 5
        Number of classes of positive counts (at most 9).
    heat_cell_m : float, default 75
        Side of the square cells, in metres of the units' UTM zone, that cases are binned in
        for the heat layer; each non-empty cell becomes one point at the mean position of its
        cases, weighted by their number.
    max_markers : int, default 5000
        Most open cases drawn as markers: the overdue ones first, then the others, each
        newest first by ``created_at``; the legend says when more are open. 0 leaves the
        open-case layer out (the legend still counts open and overdue cases).
    display_tz : str, optional
        IANA time zone (e.g. "Asia/Shanghai") to show time-zone-aware times in: ``built_at``,
        ``created_at`` and ``due_at``. None shows each as given; naive times are always
        shown as given.
    lang : {"zh", "en"}, default "zh"
        The language of the page's labels (:mod:`maps.i18n`).
    tiles_crs : {"wgs84", "gcj02"}, default "wgs84"
        The coordinate system of the base tiles. With "gcj02" (Amap, Tencent) everything is
        drawn shifted from WGS84 to GCJ-02, so that it lines up with those tiles.

    Returns
    -------
    maps.page.PageMap
        A folium map; render it with :func:`maps.render_html`.

    Raises
    ------
    MapInputError
        A missing column, units of another level, a non-point case geometry, or statuses
        given twice.

    Example
    -------
    >>> from maps import render_html
    >>> units = gpd.GeoDataFrame(
    ...     {"code": ["M1"], "name": ["微网格1"], "level": ["microgrid"],
    ...      "leader_name": ["王芳"], "leader_phone": ["100-0000-0001"]},
    ...     geometry=[shapely.box(117.20, 39.10, 117.21, 39.11)], crs=4326)
    >>> cases = gpd.GeoDataFrame(
    ...     {"id": [1], "category": ["noise"], "status": ["submitted"],
    ...      "created_at": [datetime(2024, 5, 1, 9)], "due_at": [datetime(2024, 5, 2, 9)],
    ...      "overdue": [False], "unit_code": ["M1"], "leader_name": ["王芳"],
    ...      "case_unit": ["M1"]},
    ...     geometry=[shapely.Point(117.205, 39.105)], crs=4326)
    >>> statuses = [CaseStatus("submitted", True), CaseStatus("closed", False)]
    >>> m = build_density_map(units, cases, level="microgrid", title="Hexi",
    ...                       built_at=datetime(2024, 5, 2, 8), statuses=statuses,
    ...                       categories={"noise": "噪音扰民 Noise"})
    >>> "各单元案件数" in render_html(m)
    True
    """
    cases = checked_points(cases, CASE_COLUMNS, "cases")
    units = _units_of_level(units, level)
    codes = units["code"].astype(str).to_numpy(dtype=object)
    lon, lat = _case_xy(cases)
    summary = CaseSummary(
        counts=_counts_per_unit(codes, cases["case_unit"]),
        total=len(cases),
        heat=heat_cells(
            lon, lat, cell_m=heat_cell_m, metric_crs=local_metric_crs(drawn_bounds(units))
        ),
        markers=cases,
    )
    return build_summary_map(
        units,
        summary,
        level=level,
        title=title,
        built_at=built_at,
        statuses=statuses,
        categories=categories,
        filters=filters,
        tiles=tiles,
        tiles_attribution=tiles_attribution,
        show_phones=show_phones,
        case_url=case_url,
        asset_base=asset_base,
        scheme=scheme,
        k=k,
        heat_cell_m=heat_cell_m,
        max_markers=max_markers,
        display_tz=display_tz,
        lang=lang,
        tiles_crs=tiles_crs,
    )


@dataclass(frozen=True)
class CaseSummary:
    """The cases of a density map, already aggregated (e.g. by the database).

    Attributes
    ----------
    counts : ndarray of int
        Cases per unit, in the order of the map's units.
    total : int
        Every case the filters kept (in a unit or not).
    heat : HeatCells
        The binned case locations.
    markers : geopandas.GeoDataFrame
        The cases that may become markers, with the columns of ``CASE_COLUMNS`` (a bounded
        number: e.g. the newest overdue and open ones); only open ones are drawn.
    open_by_status : mapping of str to int, optional
        Open cases of each status, drawn or not; None counts them in ``markers``.
    overdue_open : int, optional
        Open overdue cases, drawn or not; None counts them in ``markers``.
    """

    counts: NDArray[np.int64]
    total: int
    heat: HeatCells
    markers: gpd.GeoDataFrame
    open_by_status: Mapping[str, int] | None = None
    overdue_open: int | None = None


def build_summary_map(
    units: gpd.GeoDataFrame,
    summary: CaseSummary,
    *,
    level: str,
    title: str,
    built_at: datetime,
    statuses: Sequence[CaseStatus],
    categories: Mapping[str, str],
    filters: str = "",
    tiles: str | None = None,
    tiles_attribution: str | None = None,
    show_phones: bool = False,
    case_url: str = "/reports/{id}",
    asset_base: str = DEFAULT_ASSET_BASE,
    scheme: str = "quantiles",
    k: int = 5,
    heat_cell_m: float = 75.0,
    max_markers: int = 5000,
    display_tz: str | None = None,
    lang: Lang = DEFAULT_LANG,
    tiles_crs: str = "wgs84",
    unit_tiles: Sequence[TileLevel] | None = None,
) -> PageMap:
    """The density map from aggregated cases (:class:`CaseSummary`); the parameters are those
    of :func:`build_density_map`. This is what keeps the page quick with a million cases: only
    the counts, the heat cells and a bounded set of markers reach it. With ``unit_tiles`` the
    units are drawn from vector tiles, level by zoom (:mod:`maps.tiles`), and the page holds
    no unit geometry; ``units`` then only set the view and the legend."""
    shifted = check_tiles_crs(tiles_crs)
    units = _units_of_level(units, level)
    if shifted:
        units = shifted_frame(units)
    cases = checked_points(summary.markers, CASE_COLUMNS, "cases")
    check_class_count(k)
    vocabulary = StatusVocabulary(statuses)
    codes = units["code"].astype(str).to_numpy(dtype=object)

    counts = np.asarray(summary.counts, dtype=np.int64)
    if counts.shape != (len(units),):
        raise MapInputError(f"{counts.size} counts for {len(units)} units; allowed one per unit")
    classes = classify_counts(counts, scheme=scheme, k=k)
    bounds = drawn_bounds(units)
    page = Page(
        bounds,
        title=title,
        resources=DENSITY_RESOURCES,
        asset_base=asset_base,
        tiles=tiles,
        tiles_attribution=tiles_attribution,
        lang=lang,
    )
    layer_names = {key: label(lang, f"layer.{key}") for key in LAYER_NAMES}
    unit_data = None
    if unit_tiles is not None:
        choropleth: Layer = tile_unit_layer(
            page, layer_names["choropleth"], unit_tiles, lang, scheme=scheme, k=k
        )
    else:
        unit_data = page.call(
            "wangge.decodeUnits",
            _unit_payload(units, codes, counts, classes.unit_class, show_phones),
            kind="UnitData",
        )
        choropleth = _unit_layer(page, layer_names, "choropleth", unit_data, classes.colors)

    lon, lat = _case_xy(cases)
    heat = summary.heat
    drawn_heat = heat
    if shifted:
        lon, lat = wgs84_to_gcj02(lon, lat)
        heat_lon, heat_lat = wgs84_to_gcj02(heat.lon, heat.lat)
        drawn_heat = HeatCells(heat_lat, heat_lon, heat.weight)
    heat_layer = folium.plugins.HeatMap(
        drawn_heat.rows(),
        name=layer_names["heat"],
        radius=12,
        blur=12,
        min_opacity=0.3,
        show=False,
    )
    heat_layer.add_to(page.map)

    totals = None
    if summary.open_by_status is not None:
        totals = (dict(summary.open_by_status), int(summary.overdue_open or 0))
    open_cases = open_case_markers(
        cases,
        lon,
        lat,
        max_markers=max_markers,
        statuses=vocabulary,
        categories=categories,
        tz=display_tz,
        totals=totals,
    )
    layers: dict[str, Layer] = {"choropleth": choropleth, "heat": heat_layer}
    if max_markers > 0:
        layers["cases"] = page.layer(
            "wangge.caseLayer",
            {
                "rows": open_cases.rows,
                "categories": open_cases.categories,
                "statuses": open_cases.statuses,
                "colors": open_cases.status_colors,
                "url": case_url,
            },
            kind="CaseLayer",
            name=layer_names["cases"],
            needs=_CLUSTER_RESOURCES,
        )
    if unit_data is not None:
        layers["units"] = _unit_layer(page, layer_names, "units", unit_data, None)

    legend = {
        "title": title,
        "level": level,
        "levelName": level_name(lang, level),
        "tilesCrs": tiles_crs,
        "filters": filters,
        "builtAt": format_instant(built_at, display_tz),
        "timeZone": display_tz,
        "cases": summary.total,
        "casesInUnits": int(counts.sum()),
        "units": len(units),
        "classes": classes.legend(),
        "scheme": scheme_name(lang, classes.scheme),
        "heat": {"cellM": heat_cell_m, "cells": heat.size, "drawn": int(heat.weight.sum())},
        "open": open_cases.summary(),
        "plain": tiles is None,
        "unitTiles": unit_tiles is not None,
        "layerNames": layer_names,
    }
    return page.finish("wangge.decorate", legend, layers)


def _unit_layer(
    page: Page, names: Mapping[str, str], key: str, data: ScriptCall, colors: list[str] | None
) -> Layer:
    """The choropleth or the boundaries, drawn from the shared unit data."""
    function = "wangge.choroplethLayer" if key == "choropleth" else "wangge.boundariesLayer"
    options = {"colors": colors} if colors is not None else {}
    return page.layer(function, data, options, kind="UnitLayer", name=names[key])


def _unit_payload(
    units: gpd.GeoDataFrame,
    codes: NDArray[np.object_],
    counts: NDArray[np.int64],
    unit_class: NDArray[np.intp],
    show_phones: bool,
) -> dict[str, Any]:
    """The units once, decoded in the page and shared by the choropleth and boundary layers."""
    origin, geometry = encode_geometries(units.geometry.to_numpy())
    return {
        "step": GEOMETRY_STEP_DEG,
        "origin": origin,
        "geometry": geometry,
        "code": codes.tolist(),
        "name": optional_text(units["name"]),
        "leader": optional_text(units["leader_name"]),
        "phone": optional_text(units["leader_phone"]) if show_phones else None,
        "count": counts.tolist(),
        "cls": unit_class.tolist(),
    }


def _counts_per_unit(codes: NDArray[np.object_], case_unit: pd.Series) -> NDArray[np.int64]:
    tally = case_unit.dropna().astype(str).value_counts()
    return np.asarray(tally.reindex(pd.Index(codes), fill_value=0).to_numpy(), dtype=np.int64)


# -- open cases -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenCases:
    """The open cases drawn as markers (see :func:`open_case_markers`), with lookup tables.

    Attributes
    ----------
    rows : list of list
        One row per marker: ``[lat, lon, id, category index, created, status index,
        overdue 0/1, leader, due]``, overdue ones first, then the others, newest first.
    categories, statuses : list of str
        What the page shows for each category and status index (labels).
    status_colors, status_counts : list
        Colour and number of open cases of each status.
    open_total, overdue_total : int
        Open cases, and open overdue ones, drawn or not.
    cap : int
        Most markers asked for.
    """

    rows: list[list[Any]]
    categories: list[str]
    statuses: list[str]
    status_colors: list[str]
    status_counts: list[int]
    open_total: int
    overdue_total: int
    cap: int

    def summary(self) -> dict[str, Any]:
        """The legend's counts: ``total``, ``overdue``, ``shown``, ``cap`` and, per status,
        its ``name`` (label), ``color`` and ``count``."""
        return {
            "total": self.open_total,
            "overdue": self.overdue_total,
            "shown": len(self.rows),
            "cap": self.cap,
            "statuses": [
                {"name": s, "color": c, "count": n}
                for s, c, n in zip(
                    self.statuses, self.status_colors, self.status_counts, strict=True
                )
            ],
        }


def open_case_markers(
    cases: gpd.GeoDataFrame,
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    *,
    max_markers: int,
    statuses: StatusVocabulary,
    categories: Mapping[str, str],
    tz: str | None = None,
    totals: tuple[dict[str, int], int] | None = None,
) -> OpenCases:
    """Up to ``max_markers`` open cases with a location, as compact rows for the page.

    Overdue cases come first, then the others, each newest first: when there are more open
    cases than markers, the late ones are the ones a dispatcher must not miss.

    A row is ``[lat, lon, id, category index, created, status index, overdue 0/1, leader,
    due]``; times are "YYYY-MM-DD HH:MM" in ``tz`` if given and the times are aware, else as
    given; "" when missing. The indexes point into :attr:`OpenCases.categories` and
    :attr:`OpenCases.statuses`, which hold what the page shows: the labels.

    Parameters
    ----------
    cases : geopandas.GeoDataFrame
        Checked cases (see :func:`build_density_map`).
    lon, lat : ndarray of float
        Their coordinates, NaN where they have no point.
    max_markers : int
        Most rows; 0 gives none (the counts are still made).
    statuses : maps.statuses.StatusVocabulary
        Which statuses are open, their labels and colours.
    categories : mapping of str to str
        Label of each category code (a category not in it is shown as written).
    tz : str, optional
        IANA time zone to show aware times in.
    totals : (mapping of str to int, int), optional
        Open cases per status and open overdue cases when ``cases`` holds only some of them
        (counted elsewhere, e.g. in the database); None counts them in ``cases``.

    Returns
    -------
    OpenCases

    Example
    -------
    >>> cases = gpd.GeoDataFrame(
    ...     {"id": [1, 2], "category": ["noise", "noise"], "status": ["submitted", "closed"],
    ...      "created_at": [datetime(2024, 5, 1, 9)] * 2, "due_at": [None, None],
    ...      "overdue": [True, False], "leader_name": ["王芳", None]},
    ...     geometry=[shapely.Point(117.2, 39.1)] * 2, crs=4326)
    >>> words = StatusVocabulary([CaseStatus("submitted", True, "点单"),
    ...                           CaseStatus("closed", False)])
    >>> found = open_case_markers(cases, *_case_xy(cases), max_markers=10, statuses=words,
    ...                           categories={"noise": "噪音扰民"})
    >>> found.rows
    [[39.1, 117.2, 1, 0, '2024-05-01 09:00', 0, 1, '王芳', '']]
    >>> found.categories, found.statuses, found.summary()["overdue"]
    (['噪音扰民'], ['点单'], 1)
    """
    status_codes, status_values = pd.factorize(cases["status"], use_na_sentinel=True)
    status_text = [str(s) for s in status_values]
    open_value = np.array([statuses.is_open(s) for s in status_text])
    is_open = np.zeros(len(cases), dtype=bool)
    known = status_codes >= 0
    is_open[known] = open_value[status_codes[known]] if open_value.size else False
    overdue = cases["overdue"].fillna(False).to_numpy(dtype=bool)
    open_total = int(is_open.sum())
    overdue_total = int((is_open & overdue).sum())

    located = is_open & np.isfinite(lon) & np.isfinite(lat)
    created = instants_ns(cases["created_at"])
    late = _newest(np.flatnonzero(located & overdue), created, max_markers)
    rest = _newest(np.flatnonzero(located & ~overdue), created, max_markers - late.size)
    chosen = np.concatenate([late, rest])

    # the statuses of open cases, sorted, each with its colour and count
    open_statuses = sorted({status_text[c] for c in np.unique(status_codes[is_open & known])})
    per_status = np.bincount(status_codes[is_open & known], minlength=len(status_text))
    counted = {s: int(per_status[status_text.index(s)]) for s in open_statuses}
    if totals is not None:
        counted = {s: int(n) for s, n in totals[0].items() if statuses.is_open(s) and n > 0}
        open_statuses = sorted(set(open_statuses) | set(counted))
        open_total, overdue_total = sum(counted.values()), int(totals[1])
    status_index = {s: i for i, s in enumerate(open_statuses)}
    colors = statuses.colors(open_statuses)
    status_counts = [counted.get(s, 0) for s in open_statuses]

    sub = cases.iloc[chosen]
    category = sub["category"].astype(object).where(sub["category"].notna(), "").astype(str)
    shown_categories = sorted(set(category))
    category_index = {c: i for i, c in enumerate(shown_categories)}
    leader = sub["leader_name"].astype(object).where(sub["leader_name"].notna(), "").astype(str)
    rows = [
        [
            round(float(la), 6),
            round(float(lo), 6),
            _id_value(i),
            category_index[c],
            t,
            status_index[s],
            int(o),
            ld,
            d,
        ]
        for la, lo, i, c, t, s, o, ld, d in zip(
            lat[chosen],
            lon[chosen],
            sub["id"].tolist(),
            category.tolist(),
            format_times(sub["created_at"], tz),
            [status_text[c] for c in status_codes[chosen]],
            overdue[chosen].tolist(),
            leader.tolist(),
            format_times(sub["due_at"], tz),
            strict=True,
        )
    ]
    return OpenCases(
        rows=rows,
        categories=[categories.get(c, c) for c in shown_categories],
        statuses=[statuses.shown(s) for s in open_statuses],
        status_colors=colors,
        status_counts=status_counts,
        open_total=open_total,
        overdue_total=overdue_total,
        cap=max_markers,
    )


def _newest(candidates: NDArray[np.intp], created: NDArray[np.int64], k: int) -> NDArray[np.intp]:
    """The ``k`` newest of the candidate rows, newest first (ties by row order)."""
    if k <= 0:
        return candidates[:0]
    if candidates.size > k:  # partition first, sort only those kept
        candidates = candidates[np.argpartition(-created[candidates], k - 1)[:k]]
    return candidates[np.lexsort((candidates, -created[candidates]))]


def _id_value(value: Any) -> Any:
    """A case id as a JSON value: ints stay ints, everything else becomes text."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    return str(value)


# -- inputs ---------------------------------------------------------------------------------


def _units_of_level(units: gpd.GeoDataFrame, level: str) -> gpd.GeoDataFrame:
    """The units, all of the map's level, in EPSG:4326."""
    require_columns(units, UNIT_COLUMNS, "units")
    others = sorted(set(units["level"].astype(str)) - {level})
    if others:
        raise MapInputError(
            f"units of level(s) {others} given for a map of level {level!r}; "
            "allowed: only the units of the map's level"
        )
    return in_wgs84(units)


def _case_xy(cases: gpd.GeoDataFrame) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    geoms = cases.geometry.to_numpy()
    lon = shapely.get_x(geoms)
    lat = shapely.get_y(geoms)
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)
