"""The units of the density page drawn from the service's vector tiles (Leaflet.VectorGrid).

For a city-scale set (about 150,000 micro-grids) the page cannot carry every unit's
geometry: it would weigh about 20 MB. With tiles the page carries none; it draws each level
from ``/tiles/{level}/{z}/{x}/{y}.mvt`` and switches level with the zoom (district, street,
community, grid, micro-grid: each from its tiles' ``minzoom`` plus :data:`SWITCH_AFTER` until
the next level's), and
colours each unit by the ``cases`` count its tile carries, in the classes of that level's
counts (:func:`maps.classes.classify_counts`). ``maps/static/wangge/tiles.js`` draws them.

The tiles are drawn in WGS84 unless their URL asks for GCJ-02 (``?crs=gcj02``, which the
service shifts when it cuts them).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from folium.map import Layer
from numpy.typing import NDArray

from geo.tiles import MAX_ZOOM
from maps.classes import classify_counts
from maps.i18n import Lang, level_name
from maps.page import Page, Resources

#: The plugin and the page code that draws the tiles.
TILE_RESOURCES = Resources(
    js=(
        ("leaflet_vectorgrid_js", "leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js"),
        ("wangge_tiles_js", "wangge/tiles.js"),
    )
)


#: A finer level takes over this many zooms after its tiles' minzoom: there its typical unit
#: spans about 32 pixels rather than 4 (specks, and thousands of them on the screen: a
#: screen of 16-pixel micro-grids is some 3,600 of them to cut, send and draw at each move).
SWITCH_AFTER = 3


@dataclass(frozen=True)
class TileLevel:
    """One level of the units drawn from tiles.

    Attributes
    ----------
    name : str
        The level, also the tiles' layer name (e.g. "microgrid").
    url : str
        Template of its tiles, with ``{z}``, ``{x}`` and ``{y}``.
    minzoom : int
        The first zoom with tiles of this level.
    counts : ndarray of int
        Cases of every unit of the level (for its colour classes; the tiles carry each
        unit's own count).
    bounds : (minlon, minlat, maxlon, maxlat), optional
        Where the level has units: no tile outside is asked for.
    """

    name: str
    url: str
    minzoom: int
    counts: NDArray[np.int64]
    bounds: tuple[float, float, float, float] | None = None


def tile_levels_config(
    levels: Sequence[TileLevel], lang: Lang, *, scheme: str = "quantiles", k: int = 5
) -> dict[str, Any]:
    """What tiles.js needs: per level its URL, its zooms and its classes (upper bounds and
    colours), levels that no zoom would show left out.

    Example
    -------
    >>> one = TileLevel("district", "/tiles/district/{z}/{x}/{y}.mvt", 8, np.array([0, 3, 9]))
    >>> two = TileLevel("street", "/tiles/street/{z}/{x}/{y}.mvt", 11, np.array([1, 2]))
    >>> [(lv["name"], lv["minZoom"], lv["maxZoom"]) for lv in tile_levels_config([one, two], "en")["levels"]]
    [('district', 0, 13), ('street', 14, 22)]
    """  # noqa: E501
    ordered = sorted(levels, key=lambda lv: lv.minzoom)
    starts = [0] + [min(lv.minzoom + SWITCH_AFTER, MAX_ZOOM) for lv in ordered[1:]]
    shown: list[dict[str, Any]] = []
    for i, level in enumerate(ordered):
        until = MAX_ZOOM if i + 1 == len(ordered) else starts[i + 1] - 1
        if until < starts[i]:
            continue  # the next level starts at the same zoom: this one is never shown
        classes = classify_counts(np.asarray(level.counts, dtype=np.int64), scheme=scheme, k=k)
        shown.append(
            {
                "name": level.name,
                "label": level_name(lang, level.name),
                "url": level.url,
                "nativeZoom": level.minzoom,
                "minZoom": starts[i],
                "maxZoom": until,
                "upper": [int(n) for n in classes.highest],
                "colors": list(classes.colors),
                "bounds": None if level.bounds is None else [float(b) for b in level.bounds],
            }
        )
    return {"levels": shown}


def tile_unit_layer(
    page: Page,
    name: str,
    levels: Sequence[TileLevel],
    lang: Lang,
    *,
    scheme: str = "quantiles",
    k: int = 5,
) -> Layer:
    """The layer of the units from tiles, switching level with the zoom."""
    config = tile_levels_config(levels, lang, scheme=scheme, k=k)
    return page.layer("wangge.tileUnits", config, kind="TileUnits", name=name, needs=TILE_RESOURCES)
