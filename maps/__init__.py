"""Folium maps built from plain data (GeoDataFrames), working offline with local assets.

The page builders (:func:`build_density_map`, :func:`build_coverage_map`) take everything as
data, the case statuses and category labels included (:class:`CaseStatus`); the modules they
are made of are public too: :mod:`maps.page` (base map, script elements, rendering),
:mod:`maps.classes`, :mod:`maps.encoding`, :mod:`maps.inputs`, :mod:`maps.statuses`,
:mod:`maps.times` and :mod:`maps.assets`.
"""

from maps.assets import asset_files
from maps.coverage import build_coverage_map
from maps.density import build_density_map
from maps.inputs import MapInputError
from maps.page import PageMap, render_html
from maps.statuses import CaseStatus

__all__ = [
    "CaseStatus",
    "MapInputError",
    "PageMap",
    "asset_files",
    "build_coverage_map",
    "build_density_map",
    "render_html",
]
