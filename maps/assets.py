"""Every script, stylesheet, image and font a map page needs, served locally instead of a CDN.

Folium writes CDN addresses into every page (Leaflet, jQuery, Bootstrap, Font Awesome, the
awesome-markers, marker-cluster and heat plugins). Government networks are often offline, so
:func:`localize` rewrites each of those links to ``{asset_base}/<sub-path>`` and
:func:`asset_files` says which local file each sub-path is, for the application to serve. The
files come from PyPI XStatic packages where one exists and from ``maps/static/vendor/``
otherwise; see ``maps/static/PROVENANCE.md``.

Folium names its resources (``"leaflet"``, ``"markerclusterjs"``...); links are rewritten by
name, so a folium upgrade that moves a CDN address still lands on the local copy, and a
resource of unknown name raises :class:`UnlocalizedAsset` instead of reaching the internet.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator
from functools import lru_cache
from pathlib import Path

import folium
from branca.element import Element, Figure
from folium.elements import JSCSSMixin

STATIC_DIR = Path(__file__).resolve().parent / "static"

#: URL sub-path prefix -> (where the files are, the files to serve, as globs).
#: XStatic packages are named by module; vendored copies by directory under static/.
_BUNDLES: dict[str, tuple[str, tuple[str, ...]]] = {
    "leaflet": ("xstatic.pkg.leaflet", ("leaflet.js", "leaflet.js.map", "leaflet.css", "images/*")),
    "jquery": ("xstatic.pkg.jquery", ("jquery.min.js", "jquery.min.map")),
    "font-awesome": ("xstatic.pkg.font_awesome", ("css/all.min.css", "webfonts/*", "LICENSE.txt")),
    "leaflet.markercluster": (
        "xstatic.pkg.leaflet_markercluster",
        ("leaflet.markercluster.js", "MarkerCluster.css", "MarkerCluster.Default.css"),
    ),
    "leaflet.awesome-markers": ("vendor/leaflet.awesome-markers", ("*.js", "*.css", "images/*")),
    "leaflet.heat": ("vendor/leaflet.heat", ("leaflet-heat.js",)),
    "leaflet.vectorgrid": ("vendor/leaflet.vectorgrid", ("*.min.js", "LICENSE")),
    "wangge": ("wangge", ("*.js", "*.css")),
}

#: Folium resource name -> local sub-path under the asset base.
FOLIUM_ASSETS: dict[str, str] = {
    # folium.Map
    "leaflet": "leaflet/leaflet.js",
    "leaflet_css": "leaflet/leaflet.css",
    "jquery": "jquery/jquery.min.js",
    "awesome_markers": "leaflet.awesome-markers/leaflet.awesome-markers.js",
    "awesome_markers_css": "leaflet.awesome-markers/leaflet.awesome-markers.css",
    "awesome_markers_font_css": "font-awesome/css/all.min.css",
    # folium.plugins.MarkerCluster and FastMarkerCluster
    "markerclusterjs": "leaflet.markercluster/leaflet.markercluster.js",
    "markerclustercss": "leaflet.markercluster/MarkerCluster.css",
    "markerclusterdefaultcss": "leaflet.markercluster/MarkerCluster.Default.css",
    # folium.plugins.HeatMap
    "leaflet-heat.js": "leaflet.heat/leaflet-heat.js",
    # our own page code (maps.density)
    "wangge_density_js": "wangge/density.js",
    "wangge_density_css": "wangge/density.css",
    # analytics layers on the density page (maps/static/wangge/analytics.js)
    "wangge_analytics_js": "wangge/analytics.js",
    "wangge_analytics_css": "wangge/analytics.css",
    # maps.coverage
    "wangge_coverage_js": "wangge/coverage.js",
    "wangge_coverage_css": "wangge/coverage.css",
    # the units from vector tiles on the city-scale density page (maps.tiles)
    "leaflet_vectorgrid_js": "leaflet.vectorgrid/Leaflet.VectorGrid.bundled.min.js",
    "wangge_tiles_js": "wangge/tiles.js",
    # maps.volunteers
    "wangge_volunteers_js": "wangge/volunteers.js",
}

#: Folium resources left out of every page, and why nothing breaks without them.
DROPPED: dict[str, str] = {
    "bootstrap": "no folium element used here needs Bootstrap's JavaScript",
    "bootstrap_css": "the pages style their own controls; Leaflet's CSS is enough",
    "glyphicons_css": "only folium.Icon(prefix='glyphicon') uses it; such icons are refused",
    "awesome_rotate_css": "only folium.Icon(angle=...) uses it; such icons are refused",
}

# Resources only some pages need: kept when an element that uses them is on the page.
_ICON_ASSETS = frozenset({"awesome_markers", "awesome_markers_css", "awesome_markers_font_css"})
_JQUERY = "jquery"

_LINK = re.compile(r"""<(?:script|link)\b[^>]*?\b(?:src|href)\s*=\s*["']([^"']*)["']""", re.I)


class UnlocalizedAsset(ValueError):
    """A page would load a resource that has no local copy (it would need the internet)."""


def asset_files() -> dict[str, Path]:
    """Every file the map pages may load, by URL sub-path under the asset base.

    Returns
    -------
    dict of str to pathlib.Path
        e.g. ``{"leaflet/leaflet.js": Path(".../xstatic/pkg/leaflet/data/leaflet.js"), ...}``;
        serve ``{asset_base}/{key}`` from the file. Keys use ``/`` and never start with it.

    Example
    -------
    >>> files = asset_files()
    >>> files["leaflet/leaflet.js"].name
    'leaflet.js'
    """
    return dict(_asset_files())


@lru_cache(maxsize=1)
def _asset_files() -> dict[str, Path]:
    files: dict[str, Path] = {}
    for prefix, (source, patterns) in _BUNDLES.items():
        root = _bundle_root(source)
        for pattern in patterns:
            matched = sorted(p for p in root.glob(pattern) if p.is_file())
            if not matched and "*" not in pattern:
                raise FileNotFoundError(f"asset {pattern} missing from {root}")
            for path in matched:
                files[f"{prefix}/{path.relative_to(root).as_posix()}"] = path
    return files


def _bundle_root(source: str) -> Path:
    if source.startswith("xstatic."):
        return Path(importlib.import_module(source).BASE_DIR)
    return STATIC_DIR / source


def asset_url(asset_base: str, sub_path: str) -> str:
    """The URL of a local asset: ``asset_base`` joined to its sub-path with one slash.

    Example
    -------
    >>> asset_url("/static/maps/", "leaflet/leaflet.js")
    '/static/maps/leaflet/leaflet.js'
    """
    return f"{asset_base.rstrip('/')}/{sub_path}"


def localize(element: Element, asset_base: str) -> None:
    """Point every script and stylesheet link of a folium page at local copies.

    Walks the whole page that ``element`` belongs to (its root figure) and replaces, on each
    element instance, the CDN links folium would write (``default_js``/``default_css``) with
    ``{asset_base}/<sub-path>``. Resources in :data:`DROPPED` are left out; the Font Awesome and
    awesome-markers files only stay when the page has a ``folium.Icon``, and jQuery only when
    it has a ``folium.Popup`` (whose template uses ``$``). Class attributes are not touched, so
    other maps in the process keep folium's defaults. Calling it again is harmless.

    Parameters
    ----------
    element : branca.element.Element
        A map or any element of it.
    asset_base : str
        URL prefix the application serves :func:`asset_files` under, e.g. ``/static/maps``.

    Raises
    ------
    UnlocalizedAsset
        A resource without a local copy, or an icon that needs one of the dropped files.

    Example
    -------
    >>> m = folium.Map(tiles=None)
    >>> localize(m, "/static/maps")
    >>> m.default_js[0]
    ('leaflet', '/static/maps/leaflet/leaflet.js')
    """
    root = element.get_root()
    elements = list(_walk(root))
    icons = [e for e in elements if isinstance(e, folium.Icon)]
    for icon in icons:
        options = getattr(icon, "options", {})
        rotated = options.get("extra_classes", "fa-rotate-0") != "fa-rotate-0"
        if options.get("prefix") == "glyphicon" or rotated:
            raise UnlocalizedAsset(
                "folium.Icon needs Bootstrap 3 glyphicons or the rotation stylesheet, which are "
                "not served locally; use folium.Icon(prefix='fa') without an angle"
            )
    wanted = set(FOLIUM_ASSETS) - (set() if icons else _ICON_ASSETS)
    if not any(isinstance(e, folium.Popup) for e in elements):
        wanted.discard(_JQUERY)
    for el in elements:
        if isinstance(el, JSCSSMixin):
            el.default_js = _local_links(el.default_js, wanted, asset_base)
            el.default_css = _local_links(el.default_css, wanted, asset_base)


def _local_links(
    links: list[tuple[str, str]], wanted: set[str], asset_base: str
) -> list[tuple[str, str]]:
    out = []
    for name, url in links:
        if name in DROPPED or (name in FOLIUM_ASSETS and name not in wanted):
            continue
        if name not in FOLIUM_ASSETS:
            raise UnlocalizedAsset(
                f"resource {name!r} ({url}) has no local copy; add it to maps.assets"
            )
        out.append((name, asset_url(asset_base, FOLIUM_ASSETS[name])))
    return out


def _walk(element: Element) -> Iterator[Element]:
    yield element
    if isinstance(element, Figure):
        for part in (element.header, element.html, element.script):
            yield from _walk(part)
    for child in list(element._children.values()):
        yield from _walk(child)


def linked_urls(html: str) -> list[str]:
    """The ``src`` of every ``<script>`` and ``href`` of every ``<link>`` in a page, in order.

    Parameters
    ----------
    html : str
        A page.

    Returns
    -------
    list of str

    Example
    -------
    >>> linked_urls('<script src="/a/x.js"></script><link rel="stylesheet" href="/a/x.css">')
    ['/a/x.js', '/a/x.css']
    """
    return _LINK.findall(html)


def check_offline(html: str, asset_base: str) -> None:
    """Raise :class:`UnlocalizedAsset` if a page links a script or stylesheet not served locally.

    Every ``<script src>`` and ``<link href>`` must be ``{asset_base}/<key>`` with ``<key>``
    in :func:`asset_files`.

    Parameters
    ----------
    html : str
        A rendered page.
    asset_base : str
        URL prefix the application serves :func:`asset_files` under.

    Raises
    ------
    UnlocalizedAsset
        The first link that is not a local asset.

    Example
    -------
    >>> check_offline('<script src="/a/leaflet/leaflet.js"></script>', "/a")
    >>> check_offline('<script src="https://cdn.example/x.js"></script>', "/a")
    Traceback (most recent call last):
    ...
    maps.assets.UnlocalizedAsset: the page links https://cdn.example/x.js, which is not a local \
asset
    """
    files = _asset_files()
    prefix = asset_base.rstrip("/") + "/"
    for url in linked_urls(html):
        if not url.startswith(prefix) or url[len(prefix) :] not in files:
            raise UnlocalizedAsset(f"the page links {url}, which is not a local asset")
