"""The targeted-governance layers of a written density page: its hot and cold units and
recurring places put in the page itself, for ``maps/static/wangge/analytics.js`` to draw
where there is no route to ask (a page opened from a file)."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from maps.page import js_value

#: The id of the page's script element (JSON) that holds the layers.
DATA_ID = "wangge-analytics-data"


def with_analytics_layers(
    page: str,
    *,
    level: str,
    units: Sequence[Mapping[str, Any]],
    places: Sequence[Mapping[str, Any]],
    categories: Sequence[Mapping[str, Any]],
) -> str:
    """The page with its analytics layers in its head, as the routes would answer them.

    ``units`` are hot-spot units (``code``, ``name``, ``count``, ``class`` and a GeoJSON
    ``geometry``), ``places`` recurring places (``category``, ``lon``, ``lat``, ``count``),
    ``categories`` the catalogue (``code``, ``name_zh``, ``name_en``); values JSON can hold.

    Example
    -------
    >>> out = with_analytics_layers("<html><head></head><body></body></html>", level="grid",
    ...                             units=[], places=[], categories=[])
    >>> '<meta name="wangge-analytics" content="inline" data-level="grid">' in out
    True
    """
    data = {
        "level": level,
        "units": list(units),
        "places": list(places),
        "categories": list(categories),
    }
    head = (
        f'<meta name="wangge-analytics" content="inline"'
        f' data-level="{html.escape(level, quote=True)}">'
        f'<script type="application/json" id="{DATA_ID}">{js_value(data)}</script>'
    )
    return page.replace("</head>", head + "</head>", 1)
