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
string that ``maps/static/wangge/density.js`` decodes; layers (a) and (d) share it. All
scripts and stylesheets are local (:mod:`maps.assets`). Every text from the data reaches the
page as JSON and is put in with ``textContent``, never as HTML.
"""

from __future__ import annotations

import html
import json
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import folium
import folium.plugins
import geopandas as gpd
import mapclassify
import numpy as np
import pandas as pd
import pyproj
import shapely
from branca.element import Element, Figure, MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template
from numpy.typing import NDArray

from geo.crs import local_metric_crs
from maps.assets import check_offline, localize

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
#: Statuses of cases that are no longer open (compared case-insensitively).
CLOSED_STATUSES = frozenset({"closed", "resolved", "rejected"})
#: Quantisation step of unit vertices, in degrees: 1e-5 is about 1.1 m north-south and 0.9 m
#: east-west in Tianjin, far below what a screen shows of a 50 m micro-grid.
GEOMETRY_STEP_DEG = 1e-5
#: ColorBrewer YlOrRd (9 classes); k classes take k of them spread over the range.
_YLORRD = (
    "#ffffcc",
    "#ffeda0",
    "#fed976",
    "#feb24c",
    "#fd8d3c",
    "#fc4e2a",
    "#e31a1c",
    "#bd0026",
    "#800026",
)
_ZERO_COLOR = "#ffffff"
#: Digits of the geometry encoding (base64url): 0-31 end a number, 32-63 continue it.
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_ALPHABET_BYTES = np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)
#: Colours of open-case statuses: the lifecycle's open states (api/lifecycle.py) and common
#: synonyms fixed, any other status in turn from the spare ones. Red is kept for overdue.
_STATUS_COLORS = {
    "submitted": "#1f77b4",
    "reported": "#1f77b4",
    "new": "#1f77b4",
    "assigned": "#9467bd",
    "dispatched": "#9467bd",
    "accepted": "#ff7f0e",
    "in_progress": "#17becf",
    "escalated": "#8c564b",
    "reassigned": "#e377c2",
    "reopened": "#bcbd22",
}
_OTHER_COLORS = ("#7f7f7f", "#2ca02c", "#393b79", "#637939", "#843c39", "#7b4173")

LAYER_NAMES = {
    "choropleth": "Cases per unit",
    "heat": "Case density (heat)",
    "cases": "Open cases",
    "units": "Unit boundaries",
}


class MapInputError(ValueError):
    """The units or cases given to a map lack a column or have the wrong shape."""


# -- public ---------------------------------------------------------------------------------


def build_density_map(
    units: gpd.GeoDataFrame,
    cases: gpd.GeoDataFrame,
    *,
    level: str,
    title: str,
    built_at: datetime,
    filters: str = "",
    tiles: str | None = None,
    tiles_attribution: str | None = None,
    show_phones: bool = False,
    case_url: str = "/reports/{id}",
    asset_base: str = "/static/maps",
    scheme: str = "quantiles",
    k: int = 5,
    heat_cell_m: float = 75.0,
    max_markers: int = 5000,
    display_tz: str | None = None,
) -> folium.Map:
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
        - ``category``: e.g. "illegal parking";
        - ``status``: open unless in :data:`CLOSED_STATUSES` (closed, resolved, rejected);
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

    Returns
    -------
    folium.Map
        Render it with :func:`render_html`.

    Raises
    ------
    MapInputError
        A missing column, units of another level, or a non-point case geometry.

    Example
    -------
    >>> import geopandas as gpd, shapely
    >>> from datetime import datetime
    >>> units = gpd.GeoDataFrame(
    ...     {"code": ["M1"], "name": ["微网格1"], "level": ["microgrid"],
    ...      "leader_name": ["王芳"], "leader_phone": ["100-0000-0001"]},
    ...     geometry=[shapely.box(117.20, 39.10, 117.21, 39.11)], crs=4326)
    >>> cases = gpd.GeoDataFrame(
    ...     {"id": [1], "category": ["noise"], "status": ["reported"],
    ...      "created_at": [datetime(2024, 5, 1, 9)], "due_at": [datetime(2024, 5, 2, 9)],
    ...      "overdue": [False], "unit_code": ["M1"], "leader_name": ["王芳"],
    ...      "case_unit": ["M1"]},
    ...     geometry=[shapely.Point(117.205, 39.105)], crs=4326)
    >>> m = build_density_map(units, cases, level="microgrid", title="Hexi",
    ...                       built_at=datetime(2024, 5, 2, 8))
    >>> "Cases per unit" in render_html(m)
    True
    """
    units = _checked_units(units, level)
    cases = _checked_cases(cases)
    if not 1 <= k <= len(_YLORRD):
        raise MapInputError(f"k={k} classes; allowed 1 to {len(_YLORRD)}")
    codes = units["code"].astype(str).to_numpy(dtype=object)

    counts = _counts_per_unit(codes, cases["case_unit"])
    classes = classify_counts(counts, scheme=scheme, k=k)
    bounds = _bounds(units)
    minx, miny, maxx, maxy = bounds

    m = folium.Map(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        zoom_start=13,
        tiles=None,
        prefer_canvas=True,  # thousands of polygons draw far faster on a canvas than as SVG
        control_scale=True,
    )
    # Leaflet.markercluster needs the map's own maxZoom when there is no tile layer to give
    # one; 18 is also the deepest zoom of folium's tile layers
    m.options["max_zoom"] = 18
    m.get_root().title = html.escape(title)  # type: ignore[attr-defined]
    if tiles is not None:
        folium.TileLayer(
            tiles=tiles, attr=tiles_attribution or "Base map", name="Base map", overlay=False
        ).add_to(m)

    _FitBounds([[miny, minx], [maxy, maxx]]).add_to(m)
    unit_data = _UnitData(units, codes, counts, classes.unit_class, show_phones)
    unit_data.add_to(m)
    choropleth = _UnitLayer(
        unit_data, "choropleth", {"colors": classes.colors}, name=LAYER_NAMES["choropleth"]
    )
    choropleth.add_to(m)

    lon, lat = _case_xy(cases)
    heat = heat_cells(lon, lat, cell_m=heat_cell_m, metric_crs=local_metric_crs(bounds))
    heat_layer = folium.plugins.HeatMap(
        heat.rows(),
        name=LAYER_NAMES["heat"],
        radius=12,
        blur=12,
        min_opacity=0.3,
        show=False,
    )
    heat_layer.add_to(m)

    open_cases = open_case_markers(cases, lon, lat, max_markers=max_markers, tz=display_tz)
    layers: dict[str, Layer] = {"choropleth": choropleth, "heat": heat_layer}
    if max_markers > 0:
        layers["cases"] = _CaseLayer(open_cases, case_url, name=LAYER_NAMES["cases"])
        layers["cases"].add_to(m)

    layers["units"] = _UnitLayer(unit_data, "boundaries", {}, name=LAYER_NAMES["units"])
    layers["units"].add_to(m)

    total = len(cases)
    legend = {
        "title": title,
        "level": level,
        "filters": filters,
        "builtAt": _format_built_at(built_at, display_tz),
        "timeZone": display_tz,
        "cases": total,
        "casesInUnits": int(counts.sum()),
        "units": len(units),
        "classes": classes.legend(),
        "scheme": classes.scheme,
        "heat": {"cellM": heat_cell_m, "cells": heat.size, "drawn": int(heat.weight.sum())},
        "open": open_cases.summary(),
        "plain": tiles is None,
        "layerNames": LAYER_NAMES,
    }
    _Decorations(legend, layers).add_to(m)
    folium.LayerControl(collapsed=False).add_to(m)
    m.wangge_asset_base = asset_base  # type: ignore[attr-defined]  # read by render_html
    localize(m, asset_base)
    return m


def render_html(m: folium.Map, asset_base: str | None = None) -> str:
    """The full HTML page of a map, with every script and stylesheet linked locally.

    Parameters
    ----------
    m : folium.Map
        A map from :func:`build_density_map` (or any folium map).
    asset_base : str, optional
        URL prefix of the local assets; by default the one the map was built with, else
        ``/static/maps``.

    Returns
    -------
    str

    Raises
    ------
    maps.assets.UnlocalizedAsset
        Something on the page would load a file from outside (e.g. an element added after
        building whose resources have no local copy).
    """
    base: str = asset_base or str(getattr(m, "wangge_asset_base", "/static/maps"))
    localize(m, base)
    html = m.get_root().render()
    check_offline(html, base)
    return html


# -- counting and classing ------------------------------------------------------------------


@dataclass(frozen=True)
class Classes:
    """Classes of the per-unit counts: class 0 is "no case", then the positive classes.

    Attributes
    ----------
    lowest, highest : list of int
        Smallest and largest count of the units in each class, class 0 included (0, 0).
    unit_class : ndarray of int
        Class of each unit: 0 for no case, i for the i-th positive class (1-based).
    colors : list of str
        Fill colour of class 0, 1, ...
    unit_counts : list of int
        Number of units in each class; only class 0 may be empty.
    scheme : str
        The scheme that set the bounds ("each value" when every count is its own class).
    """

    lowest: list[int]
    highest: list[int]
    unit_class: NDArray[np.intp]
    colors: list[str]
    unit_counts: list[int]
    scheme: str

    def legend(self) -> list[dict[str, Any]]:
        """One entry per class: label ("0", "5", "6–20"), colour and number of units."""
        return [
            {
                "label": str(low) if low == high else f"{low}–{high}",
                "color": color,
                "units": units,
            }
            for low, high, color, units in zip(
                self.lowest, self.highest, self.colors, self.unit_counts, strict=True
            )
        ]


def classify_counts(
    counts: NDArray[np.integer], *, scheme: str = "quantiles", k: int = 5
) -> Classes:
    """Class per-unit case counts for the choropleth.

    Zero is its own class. With at most ``k`` distinct positive counts, each is its own class.
    Otherwise the positive counts are classed:

    - ``"quantiles"`` (the default): classes of about equal numbers of units, as
      ``mapclassify.Quantiles``, but taken one class at a time from the bottom, each time over
      the counts not yet classed. Counts are whole numbers with many ties (thousands of
      micro-grids with one case); plain quantiles would give several classes the same bound
      and end with two or three classes. Here a tied count fills one class and the remaining
      classes split the counts above it, so there are always ``k`` classes.
    - any other mapclassify scheme name (``"natural_breaks"``, ``"equal_interval"``,
      ``"fisher_jenks_sampled"``, ``"headtail_breaks"``...): ``mapclassify.classify(counts,
      scheme, k)``, with the classes left empty dropped.

    A class is labelled with the smallest and largest count in it.

    Parameters
    ----------
    counts : ndarray of int
        Cases per unit.
    scheme : str
        ``"quantiles"`` or a mapclassify scheme name.
    k : int
        Wanted number of positive classes.

    Returns
    -------
    Classes

    Example
    -------
    >>> c = classify_counts(np.array([0, 0, 1, 1, 2, 9, 30, 31, 70, 400]), k=3)
    >>> [e["label"] for e in c.legend()], c.unit_class.tolist()
    (['0', '1–2', '9–31', '70–400'], [0, 0, 1, 1, 1, 2, 2, 2, 3, 3])
    """
    counts = np.asarray(counts, dtype=np.int64)
    positive = counts > 0
    values = np.sort(counts[positive])
    distinct = np.unique(values)
    if distinct.size <= k:
        bins = distinct.astype(float)
        used = "each value"
    elif scheme == "quantiles":
        bins = _stepwise_quantiles(values, k)
        used = scheme
    else:
        with warnings.catch_warnings():  # mapclassify warns of ties; empty classes go below
            warnings.simplefilter("ignore", UserWarning)
            bins = np.asarray(mapclassify.classify(values, scheme, k=k).bins, dtype=float)
        bins[-1] = max(bins[-1], distinct[-1])
        used = scheme
    raw = np.zeros(counts.size, dtype=np.intp)
    raw[positive] = 1 + np.searchsorted(bins, counts[positive], side="left")
    # renumber the classes that have units, in order, so none is empty
    present = np.unique(raw[positive])
    unit_class = np.zeros(counts.size, dtype=np.intp)
    unit_class[positive] = 1 + np.searchsorted(present, raw[positive])
    n = present.size
    lowest, highest = [0], [0]
    for c in range(1, n + 1):
        members = counts[unit_class == c]
        lowest.append(int(members.min()))
        highest.append(int(members.max()))
    picks = np.linspace(1, len(_YLORRD) - 1, n).round().astype(int) if n > 1 else [5] * n
    colors = [_ZERO_COLOR, *(_YLORRD[i] for i in picks)]
    unit_counts = np.bincount(unit_class, minlength=n + 1).tolist()
    return Classes(lowest, highest, unit_class, colors, unit_counts, used)


def _stepwise_quantiles(values: NDArray[np.int64], k: int) -> NDArray[np.float64]:
    """Upper bounds of k quantile classes of sorted whole numbers, one class at a time."""
    bounds: list[float] = []
    rest = values
    while rest.size:
        left = k - len(bounds)
        distinct = np.unique(rest)
        if distinct.size <= left:
            bounds.extend(distinct.tolist())
            break
        with warnings.catch_warnings():  # ties: mapclassify warns and lowers k; we step on
            warnings.simplefilter("ignore", UserWarning)
            first = mapclassify.Quantiles(rest.astype(float), k=left).bins[0]
        # whole counts: the class holds the counts up to the bound, and at least the smallest
        bound = max(float(np.floor(first)), float(rest[0]))
        bounds.append(bound)
        rest = rest[rest > bound]
    return np.asarray(bounds, dtype=float)


def _counts_per_unit(codes: NDArray[np.object_], case_unit: pd.Series) -> NDArray[np.int64]:
    tally = case_unit.dropna().astype(str).value_counts()
    return np.asarray(tally.reindex(pd.Index(codes), fill_value=0).to_numpy(), dtype=np.int64)


# -- heat -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class HeatCells:
    """Binned case locations: one weighted point per non-empty cell."""

    lat: NDArray[np.float64]
    lon: NDArray[np.float64]
    weight: NDArray[np.int64]

    @property
    def size(self) -> int:
        return int(self.weight.size)

    def rows(self) -> list[list[float]]:
        """``[lat, lon, weight]`` rows for folium's HeatMap, coordinates to 5 decimals (~1 m)."""
        stacked = np.column_stack([np.round(self.lat, 5), np.round(self.lon, 5), self.weight])
        return stacked.tolist()


@lru_cache(maxsize=16)
def _to_metric(crs: pyproj.CRS) -> pyproj.Transformer:
    return pyproj.Transformer.from_crs(4326, crs, always_xy=True)


def heat_cells(
    lon: NDArray[np.float64],
    lat: NDArray[np.float64],
    *,
    cell_m: float,
    metric_crs: pyproj.CRS,
) -> HeatCells:
    """Bin points on a square grid of ``cell_m`` metres in ``metric_crs``.

    Each non-empty cell becomes one point at the mean position of its points (so a single
    case stays where it is), weighted by how many there are. NaN coordinates are skipped.

    Parameters
    ----------
    lon, lat : ndarray of float
        WGS84 coordinates.
    cell_m : float
        Cell side in metres.
    metric_crs : pyproj.CRS
        A projected CRS in metres for the area (e.g. ``geo.crs.local_metric_crs``).

    Returns
    -------
    HeatCells

    Example
    -------
    >>> crs = local_metric_crs((117.19, 39.05, 117.28, 39.12))
    >>> cells = heat_cells(np.array([117.2, 117.2001, 117.25]), np.array([39.1, 39.1, 39.1]),
    ...                    cell_m=75, metric_crs=crs)
    >>> sorted(cells.weight.tolist())
    [1, 2]
    """
    if cell_m <= 0:
        raise MapInputError(f"heat cell size {cell_m} m; allowed a positive number of metres")
    ok = np.isfinite(lon) & np.isfinite(lat)
    lon, lat = lon[ok], lat[ok]
    if lon.size == 0:
        empty = np.empty(0)
        return HeatCells(empty, empty, np.empty(0, dtype=np.int64))
    x, y = _to_metric(metric_crs).transform(lon, lat)
    ix = np.floor(np.asarray(x) / cell_m).astype(np.int64)
    iy = np.floor(np.asarray(y) / cell_m).astype(np.int64)
    ix -= ix.min()
    iy -= iy.min()
    key = ix * (int(iy.max()) + 1) + iy
    _, inverse, weight = np.unique(key, return_inverse=True, return_counts=True)
    mean_lon = np.bincount(inverse, weights=lon) / weight
    mean_lat = np.bincount(inverse, weights=lat) / weight
    return HeatCells(mean_lat, mean_lon, weight.astype(np.int64))


# -- open cases -----------------------------------------------------------------------------


@dataclass(frozen=True)
class OpenCases:
    """The open cases drawn as markers, newest first, with lookup tables for their fields."""

    rows: list[list[Any]]
    categories: list[str]
    statuses: list[str]
    status_colors: list[str]
    status_counts: list[int]
    open_total: int
    overdue_total: int
    cap: int

    def summary(self) -> dict[str, Any]:
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
    tz: str | None = None,
) -> OpenCases:
    """Up to ``max_markers`` open cases with a location, as compact rows for the page.

    Overdue cases come first, then the others, each newest first: when there are more open
    cases than markers, the late ones are the ones a dispatcher must not miss.

    A row is ``[lat, lon, id, category index, created, status index, overdue 0/1, leader,
    due]``; times are "YYYY-MM-DD HH:MM" in ``tz`` if given and the times are aware, else as
    given; "" when missing.
    """
    status_codes, status_values = pd.factorize(cases["status"], use_na_sentinel=True)
    status_text = [str(s) for s in status_values]
    open_value = np.array([s.strip().lower() not in CLOSED_STATUSES for s in status_text])
    is_open = np.zeros(len(cases), dtype=bool)
    known = status_codes >= 0
    is_open[known] = open_value[status_codes[known]] if open_value.size else False
    overdue = cases["overdue"].fillna(False).to_numpy(dtype=bool)
    open_total = int(is_open.sum())
    overdue_total = int((is_open & overdue).sum())

    located = is_open & np.isfinite(lon) & np.isfinite(lat)
    created = _datetime_ns(cases["created_at"])
    late = _newest(np.flatnonzero(located & overdue), created, max_markers)
    rest = _newest(np.flatnonzero(located & ~overdue), created, max_markers - late.size)
    chosen = np.concatenate([late, rest])

    # the statuses of open cases, sorted, each with its colour and count
    open_statuses = sorted({status_text[c] for c in np.unique(status_codes[is_open & known])})
    status_index = {s: i for i, s in enumerate(open_statuses)}
    colors, spare = [], iter(_OTHER_COLORS * (1 + len(open_statuses)))
    for s in open_statuses:
        colors.append(_STATUS_COLORS.get(s.strip().lower()) or next(spare))
    per_status = np.bincount(status_codes[is_open & known], minlength=len(status_text))
    status_counts = [int(per_status[status_text.index(s)]) for s in open_statuses]

    sub = cases.iloc[chosen]
    category = sub["category"].astype(object).where(sub["category"].notna(), "").astype(str)
    categories = sorted(set(category))
    category_index = {c: i for i, c in enumerate(categories)}
    leader = sub["leader_name"].astype(object).where(sub["leader_name"].notna(), "").astype(str)
    rows = [
        [
            round(float(la), 6),
            round(float(lo), 6),
            _plain(i),
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
            _format_times(sub["created_at"], tz),
            [status_text[c] for c in status_codes[chosen]],
            overdue[chosen].tolist(),
            leader.tolist(),
            _format_times(sub["due_at"], tz),
            strict=True,
        )
    ]
    return OpenCases(
        rows=rows,
        categories=categories,
        statuses=open_statuses,
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


def _plain(value: Any) -> Any:
    """A case id as a JSON value: ints stay ints, everything else becomes text."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    return str(value)


def _datetimes(values: pd.Series) -> pd.Series:
    """A column as datetimes; aware ones with different offsets are brought to UTC."""
    try:
        return pd.to_datetime(values)
    except (ValueError, TypeError):
        return pd.to_datetime(values, utc=True)


def _datetime_ns(values: pd.Series) -> NDArray[np.int64]:
    """Datetimes as int64 nanoseconds (instants when aware); NaT as the oldest possible."""
    stamps = _datetimes(values)
    if isinstance(stamps.dtype, pd.DatetimeTZDtype):
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    out = stamps.to_numpy(dtype="datetime64[ns]").view(np.int64).copy()
    # NaT is the smallest int64, whose negation overflows: make it one more
    out[stamps.isna().to_numpy()] = np.iinfo(np.int64).min + 1
    return out


def _format_times(values: pd.Series, tz: str | None) -> list[str]:
    stamps = _datetimes(values)
    if tz is not None and isinstance(stamps.dtype, pd.DatetimeTZDtype):
        stamps = stamps.dt.tz_convert(tz)
    text = stamps.dt.strftime("%Y-%m-%d %H:%M")
    return text.where(stamps.notna(), "").tolist()


def _format_built_at(when: datetime, tz: str | None) -> str:
    if tz is not None and when.tzinfo is not None:
        when = when.astimezone(ZoneInfo(tz))
    text = when.strftime("%Y-%m-%d %H:%M")
    offset = when.strftime("%z")
    return f"{text} UTC{offset[:3]}:{offset[3:]}" if offset else text


# -- inputs ---------------------------------------------------------------------------------


def _missing(frame: pd.DataFrame, columns: Sequence[str]) -> list[str]:
    return [c for c in columns if c not in frame.columns]


def _in_wgs84(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    if frame.crs is None or frame.crs.equals(pyproj.CRS.from_epsg(4326)):
        return frame
    return frame.to_crs(4326)


def _checked_units(units: gpd.GeoDataFrame, level: str) -> gpd.GeoDataFrame:
    missing = (
        _missing(units, UNIT_COLUMNS) if isinstance(units, pd.DataFrame) else list(UNIT_COLUMNS)
    )
    if missing or not isinstance(units, gpd.GeoDataFrame):
        raise MapInputError(
            f"units lack column(s) {missing}; they have {list(getattr(units, 'columns', []))}; "
            f"allowed: a GeoDataFrame with {', '.join(UNIT_COLUMNS)} and polygons"
        )
    others = sorted(set(units["level"].astype(str)) - {level})
    if others:
        raise MapInputError(
            f"units of level(s) {others} given for a map of level {level!r}; "
            "allowed: only the units of the map's level"
        )
    return _in_wgs84(units)


def _checked_cases(cases: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    missing = (
        _missing(cases, CASE_COLUMNS) if isinstance(cases, pd.DataFrame) else list(CASE_COLUMNS)
    )
    if missing or not isinstance(cases, gpd.GeoDataFrame):
        raise MapInputError(
            f"cases lack column(s) {missing}; they have {list(getattr(cases, 'columns', []))}; "
            f"allowed: a GeoDataFrame of points with {', '.join(CASE_COLUMNS)}"
        )
    cases = _in_wgs84(cases)
    geoms = cases.geometry.to_numpy()
    kinds = shapely.get_type_id(geoms)
    # -1 is a missing geometry, 0 a point (possibly empty); anything else is refused
    if np.any((kinds != -1) & (kinds != 0)):
        raise MapInputError("cases must be points; allowed: Point geometries, empty or missing")
    return cases


def _case_xy(cases: gpd.GeoDataFrame) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    geoms = cases.geometry.to_numpy()
    lon = shapely.get_x(geoms)
    lat = shapely.get_y(geoms)
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def _bounds(units: gpd.GeoDataFrame) -> tuple[float, float, float, float]:
    geoms = units.geometry.to_numpy()
    geoms = geoms[~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)]
    if geoms.size == 0:
        raise MapInputError("no unit has a geometry; allowed: at least one polygon")
    minx, miny, maxx, maxy = shapely.total_bounds(geoms)
    return float(minx), float(miny), float(maxx), float(maxy)


# -- unit geometries: compact encoding ------------------------------------------------------


def encode_geometries(
    geoms: NDArray[np.object_], step: float = GEOMETRY_STEP_DEG
) -> tuple[list[int], str]:
    """Encode polygons compactly for the page: ``(origin, text)``.

    Coordinates are rounded to multiples of ``step`` degrees (so neighbours' shared vertices
    stay shared), repeated points and each ring's closing point dropped, and every ring
    written as ``x, y`` differences from the previous point (the first from ``origin``, in
    steps), each number zigzag-encoded in 5-bit groups, low first, with a continuation bit, as
    in Google's polyline algorithm, but written with the base64url alphabet
    (:data:`ALPHABET`) so that no character needs escaping in a script or a template.
    Rings are separated by ``;``, the polygons of a multipolygon by ``:``
    and units by ``!``, so ``text.split("!")`` has one entry per geometry (empty for an
    empty or missing one). Rings that collapse below three points are dropped, with their
    holes when it is an outer ring.

    Example
    -------
    >>> origin, text = encode_geometries(np.array([shapely.box(0, 0, 0.0001, 0.0001)]))
    >>> origin, text
    ([0, 0], 'UAAUTAAT')
    """
    n = len(geoms)
    parts, part_unit = shapely.get_parts(geoms, return_index=True)
    polygon = shapely.get_type_id(parts) == 3
    parts, part_unit = parts[polygon], part_unit[polygon]
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    if coords.size == 0:
        return [0, 0], "!" * max(n - 1, 0)
    q = np.round(coords / step).astype(np.int64)
    origin = q.min(axis=0)
    q -= origin
    # drop each ring's closing point, and points equal to the previous one of the same ring
    last = np.r_[coord_ring[1:] != coord_ring[:-1], True]
    same_ring = np.r_[False, coord_ring[1:] == coord_ring[:-1]]
    repeat = same_ring & np.r_[False, (q[1:] == q[:-1]).all(axis=1)]
    keep = ~last & ~repeat
    q, coord_ring = q[keep], coord_ring[keep]
    ring_size = np.bincount(coord_ring, minlength=len(rings))
    ring_ok = ring_size >= 3
    # a polygon whose outer ring collapsed is dropped whole
    first_ring = np.r_[True, ring_part[1:] != ring_part[:-1]]
    part_ok = np.ones(len(parts), dtype=bool)
    part_ok[ring_part[first_ring & ~ring_ok]] = False
    ring_ok &= part_ok[ring_part]
    take = ring_ok[coord_ring]
    q, coord_ring = q[take], coord_ring[take]

    delta = q.copy()
    inner = np.r_[False, coord_ring[1:] == coord_ring[:-1]]
    delta[inner] = q[inner] - q[np.flatnonzero(inner) - 1]
    values = delta.ravel()
    zig = (values << 1) ^ (values >> 63)
    chunks_needed = np.ones(zig.size, dtype=np.int64)
    rest = zig >> 5
    while rest.any():
        chunks_needed += rest > 0
        rest >>= 5
    width = int(chunks_needed.max())
    shifts = 5 * np.arange(width)
    chunks = (zig[:, None] >> shifts) & 31
    more = np.arange(width)[None, :] < (chunks_needed[:, None] - 1)
    digits = chunks + 32 * more
    present = np.arange(width)[None, :] < chunks_needed[:, None]
    blob = _ALPHABET_BYTES[digits[present]].tobytes().decode("ascii")

    # character offset of each kept ring
    value_end = np.cumsum(chunks_needed)
    value_start = value_end - chunks_needed
    ring_ids = np.flatnonzero(ring_ok)
    first_value = 2 * np.searchsorted(coord_ring, ring_ids, side="left")
    last_value = 2 * np.searchsorted(coord_ring, ring_ids, side="right") - 1
    starts, ends = value_start[first_value], value_end[last_value]

    texts: list[list[list[str]]] = [[] for _ in range(n)]
    current_part = -1
    for r, s, e in zip(ring_ids.tolist(), starts.tolist(), ends.tolist(), strict=True):
        part = int(ring_part[r])
        unit = int(part_unit[part])
        if part != current_part:
            texts[unit].append([])
            current_part = part
        texts[unit][-1].append(blob[s:e])
    text = "!".join(":".join(";".join(poly) for poly in unit) for unit in texts)
    return origin.tolist(), text


# -- page elements --------------------------------------------------------------------------


def js_value(value: Any) -> str:
    """A value as JSON safe to put inside ``<script>``: no ``<``, ``>``, ``&`` or line breaks
    that end a script or a JavaScript string."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    for char, escaped in (
        ("<", "\\u003c"),
        (">", "\\u003e"),
        ("&", "\\u0026"),
        ("\u2028", "\\u2028"),
        ("\u2029", "\\u2029"),
    ):
        text = text.replace(char, escaped)
    return text


class _RawScript(Element):
    """Script text put in the page as is.

    branca compiles the script a MacroElement renders as a Jinja template once more, so data
    containing ``{{ ... }}`` would be evaluated (try a folium.GeoJson property "{{ 7*7 }}": the
    page says 49). Our elements hand their script over through this element instead.
    """

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def render(self, **kwargs: Any) -> str:
        return self.text


class _DensityElement(JSCSSMixin, MacroElement):
    """An element of the density page: links density.js/css and writes its script raw."""

    default_js = [("wangge_density_js", "wangge/density.js")]
    default_css = [("wangge_density_css", "wangge/density.css")]
    _template = Template("")

    def script_text(self) -> str:
        raise NotImplementedError

    def render(self, **kwargs: Any) -> None:  # type: ignore[override]  # as MacroElement's
        figure = self.get_root()
        assert isinstance(figure, Figure), "render the map's figure, not a lone element"
        figure.script.add_child(_RawScript(self.script_text()), name=self.get_name())
        super().render(**kwargs)


def _optional_text(values: pd.Series) -> list[str]:
    return values.astype(object).where(values.notna(), "").astype(str).tolist()


class _UnitData(_DensityElement):
    """The units once, decoded in the page and shared by the choropleth and boundary layers."""

    def __init__(
        self,
        units: gpd.GeoDataFrame,
        codes: NDArray[np.object_],
        counts: NDArray[np.int64],
        unit_class: NDArray[np.intp],
        show_phones: bool,
    ) -> None:
        super().__init__()
        self._name = "UnitData"
        origin, geometry = encode_geometries(units.geometry.to_numpy())
        self.payload = js_value(
            {
                "step": GEOMETRY_STEP_DEG,
                "origin": origin,
                "geometry": geometry,
                "code": codes.tolist(),
                "name": _optional_text(units["name"]),
                "leader": _optional_text(units["leader_name"]),
                "phone": _optional_text(units["leader_phone"]) if show_phones else None,
                "count": counts.tolist(),
                "cls": unit_class.tolist(),
            }
        )

    def script_text(self) -> str:
        return f"var {self.get_name()} = wangge.decodeUnits({self.payload});\n"


class _UnitLayer(_DensityElement, Layer):
    """A layer drawn from the shared unit data: "choropleth" or "boundaries"."""

    def __init__(self, data: _UnitData, kind: str, options: dict[str, Any], *, name: str):
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "UnitLayer"
        self.data = data
        self.kind = kind
        self.options_json = js_value(options)

    def script_text(self) -> str:
        return (
            f"var {self.get_name()} = wangge.{self.kind}Layer("
            f"{self.data.get_name()}, {self.options_json});\n"
        )


class _CaseLayer(_DensityElement, Layer):
    """Open cases as clustered markers (Leaflet.markercluster)."""

    def __init__(self, cases: OpenCases, case_url: str, *, name: str) -> None:
        super().__init__(name=name, overlay=True, control=True, show=True)
        self._name = "CaseLayer"
        # the plugin's own resource names, so localize() treats them like folium's
        self.default_js = [*folium.plugins.MarkerCluster.default_js, *_DensityElement.default_js]
        self.default_css = [
            *folium.plugins.MarkerCluster.default_css,
            *_DensityElement.default_css,
        ]
        self.payload = js_value(
            {
                "rows": cases.rows,
                "categories": cases.categories,
                "statuses": cases.statuses,
                "colors": cases.status_colors,
                "url": case_url,
            }
        )

    def script_text(self) -> str:
        return f"var {self.get_name()} = wangge.caseLayer({self.payload});\n"


class _FitBounds(_DensityElement):
    """Fit the view to the units at once, before any layer is added.

    folium's fit_bounds runs last and animates the zoom: meanwhile Leaflet's canvas hit-tests
    against the old view (the first clicks miss the units) and the marker clusters split in
    an animation.
    """

    def __init__(self, bounds: list[list[float]]) -> None:
        super().__init__()
        self._name = "FitBounds"
        self.bounds = js_value(bounds)

    def script_text(self) -> str:
        assert self._parent is not None, "add the bounds to a map"
        return f"{self._parent.get_name()}.fitBounds({self.bounds}, {{animate: false}});\n"


class _Decorations(_DensityElement):
    """Title, legend and a registry of the layers (``window.wangge.maps``) for scripts."""

    def __init__(self, config: dict[str, Any], layers: dict[str, Layer]) -> None:
        super().__init__()
        self._name = "Decorations"
        self.config = js_value(config)
        self.layers = layers

    def script_text(self) -> str:
        assert self._parent is not None, "add the decorations to a map"
        layers = ", ".join(f"{js_value(k)}: {v.get_name()}" for k, v in self.layers.items())
        return f"wangge.decorate({self._parent.get_name()}, {self.config}, {{{layers}}});\n"
