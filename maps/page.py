"""What every map page is made of: the base map, script elements, and rendering offline.

A page is a :class:`PageMap` (a folium map that remembers where its assets are served) made
by :func:`base_map`, with :class:`ScriptCall` and :class:`ScriptLayer` elements that call the
page's own JavaScript (``maps/static/wangge/``); :class:`Page` builds one, and its
:meth:`Page.finish` adds the title and legend and the layer control and points every link at
the local assets. :func:`render_html` writes the page.

Elements write their script straight into the page, never through folium's templates:
branca compiles the script a MacroElement renders as a Jinja template once more, so data
containing ``{{ ... }}`` would be evaluated (try a folium.GeoJson property "{{ 7*7 }}": the
page says 49). Their arguments are JSON made safe for a ``<script>`` by :func:`js_value`.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import folium
from branca.element import Element, Figure, MacroElement
from folium.elements import JSCSSMixin
from folium.map import Layer
from folium.template import Template

from maps.assets import check_offline, localize
from maps.i18n import DEFAULT_LANG, LOCALES, Lang, label, labels

#: Where the application serves :func:`maps.assets.asset_files` unless told otherwise.
DEFAULT_ASSET_BASE = "/static/maps"


@dataclass(frozen=True)
class Resources:
    """Scripts and stylesheets an element needs, as folium names them: ``(name, sub-path)``.

    The names are those of :data:`maps.assets.FOLIUM_ASSETS`; :func:`maps.assets.localize`
    turns each into a link under the asset base. Resources add up with ``+``.

    Example
    -------
    >>> a = Resources(js=(("wangge_density_js", "wangge/density.js"),))
    >>> b = Resources(css=(("wangge_density_css", "wangge/density.css"),))
    >>> (a + b).css
    (('wangge_density_css', 'wangge/density.css'),)
    """

    js: tuple[tuple[str, str], ...] = ()
    css: tuple[tuple[str, str], ...] = ()

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.js + other.js, self.css + other.css)


class PageMap(folium.Map):
    """A folium map that knows the URL prefix its assets are served under.

    Attributes
    ----------
    asset_base : str
        The prefix the page's links were pointed at; :func:`render_html` uses it by default.

    Example
    -------
    >>> m = PageMap(tiles=None, asset_base="/assets/maps")
    >>> render_html(m).count('src="/assets/maps/leaflet/leaflet.js"')
    1
    """

    def __init__(
        self, *, asset_base: str = DEFAULT_ASSET_BASE, lang: str = "zh-CN", **options: Any
    ) -> None:
        super().__init__(**options)
        self.asset_base = asset_base
        #: The page's language, in ``<html lang>``.
        self.lang = lang


def js_value(value: Any) -> str:
    """A value as JSON safe to put inside ``<script>``.

    No ``<``, ``>``, ``&`` or line and paragraph separators are left that could end a
    script or a JavaScript string; NaN and infinities are refused.

    Parameters
    ----------
    value : Any
        Anything :func:`json.dumps` writes.

    Returns
    -------
    str
        Compact JSON, non-ASCII text kept as it is.

    Example
    -------
    >>> js_value({"name": "</script>", "n": [1, 2]})
    '{"name":"\\\\u003c/script\\\\u003e","n":[1,2]}'
    """
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
    """Script text put in the page as is (see the module's docstring)."""

    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def render(self, **kwargs: Any) -> str:
        return self.text


class PageElement(JSCSSMixin, MacroElement):
    """An element that links its resources and writes :meth:`script_text` raw into the page.

    Parameters
    ----------
    kind : str
        Names the element's JavaScript variable (``"UnitData"`` gives ``unit_data_<id>``).
    resources : Resources
        Scripts and stylesheets it needs.
    **layer : Any
        For layers: ``name``, ``overlay``, ``control`` and ``show`` of :class:`folium.map.Layer`.
    """

    _template = Template("")

    def __init__(self, kind: str, resources: Resources = Resources(), **layer: Any) -> None:
        super().__init__(**layer)
        self._name = kind
        self.default_js = list(resources.js)
        self.default_css = list(resources.css)

    def script_text(self) -> str:
        """The element's script: one statement ending in a line break."""
        raise NotImplementedError

    def render(self, **kwargs: Any) -> str:
        """Put the script and the links into the figure; nothing is returned in place."""
        figure = self.get_root()
        assert isinstance(figure, Figure), "render the map's figure, not a lone element"
        figure.script.add_child(_RawScript(self.script_text()), name=self.get_name())
        super().render(**kwargs)
        return ""


def _argument(value: Any) -> str:
    """An argument of a call: an element by its variable, a table of elements as an object of
    their variables, anything else as JSON."""
    if isinstance(value, Element):
        return value.get_name()
    if isinstance(value, Mapping) and value and all(isinstance(v, Element) for v in value.values()):
        return "{" + ", ".join(f"{js_value(k)}: {v.get_name()}" for k, v in value.items()) + "}"
    return js_value(value)


class ScriptCall(PageElement):
    """``var <name> = <function>(<arguments>);`` in the page's script.

    Parameters
    ----------
    function : str
        The JavaScript function, e.g. ``"wangge.decodeUnits"``.
    *arguments : Any
        Its arguments: an element (a map, data, a layer) passes its variable, a mapping of
        names to elements an object of their variables, anything else its JSON.
    kind : str
        Names the variable (``"UnitData"`` gives ``unit_data_<id>``).
    resources : Resources
        The scripts and stylesheets that define ``function``.
    assign : bool, default True
        False writes the call alone, without a variable.

    Example
    -------
    >>> m = folium.Map(tiles=None)
    >>> call = ScriptCall("wangge.decorate", m, {"title": "河西区"}, kind="Decorations")
    >>> call.script_text().startswith("var decorations_")
    True
    >>> call.script_text().split(" = ")[1].startswith("wangge.decorate(map_")
    True
    """

    def __init__(
        self,
        function: str,
        *arguments: Any,
        kind: str,
        resources: Resources = Resources(),
        assign: bool = True,
        **layer: Any,
    ) -> None:
        super().__init__(kind, resources, **layer)
        self.function = function
        self.arguments = arguments
        self.assign = assign

    def script_text(self) -> str:
        call = f"{self.function}({', '.join(_argument(a) for a in self.arguments)});\n"
        return f"var {self.get_name()} = {call}" if self.assign else call


class ScriptLayer(ScriptCall, Layer):
    """A :class:`ScriptCall` whose function returns a Leaflet layer: an overlay of the map,
    listed in the layer control under ``name`` and shown at first.

    Example
    -------
    >>> layer = ScriptLayer("wangge.boundariesLayer", {}, kind="UnitLayer", name="Units")
    >>> layer.layer_name, layer.overlay, layer.show
    ('Units', True, True)
    """

    def __init__(
        self,
        function: str,
        *arguments: Any,
        kind: str,
        name: str,
        resources: Resources = Resources(),
    ) -> None:
        super().__init__(
            function,
            *arguments,
            kind=kind,
            resources=resources,
            name=name,
            overlay=True,
            control=True,
            show=True,
        )


def base_map(
    bounds: Sequence[float],
    *,
    title: str,
    asset_base: str = DEFAULT_ASSET_BASE,
    tiles: str | None = None,
    tiles_attribution: str | None = None,
    lang: Lang = DEFAULT_LANG,
) -> PageMap:
    """A page's map, fitted to ``bounds``, on tiles or on a plain background.

    The map draws on a canvas (thousands of polygons draw far faster than as SVG) and has a
    metric scale bar (no feet and miles). Its view is fitted to ``bounds`` at once, before
    any layer is added: folium's ``fit_bounds`` runs last and animates the zoom, and meanwhile
    Leaflet's canvas hit-tests against the old view (the first clicks miss the units) and
    marker clusters split in an animation.

    Parameters
    ----------
    bounds : sequence of float
        ``(minx, miny, maxx, maxy)`` in degrees, e.g. from :func:`maps.inputs.drawn_bounds`.
    title : str
        The page's title (escaped).
    asset_base : str
        URL prefix under which the application serves :func:`maps.assets.asset_files`.
    tiles : str, optional
        URL template of a tile server (``https://tiles.example/{z}/{x}/{y}.png``). None draws
        on a plain background with no tile layer.
    tiles_attribution : str, optional
        Attribution of the tiles (HTML allowed, as in Leaflet); "Base map" if not given.
    lang : {"zh", "en"}
        The page's language (:mod:`maps.i18n`): ``<html lang>`` and the base layer's name.

    Returns
    -------
    PageMap

    Example
    -------
    >>> m = base_map((117.2, 39.1, 117.3, 39.2), title="河西区 <test>")
    >>> m.get_root().title, m.asset_base
    ('河西区 &lt;test&gt;', '/static/maps')
    """
    minx, miny, maxx, maxy = bounds
    m = PageMap(
        location=[(miny + maxy) / 2, (minx + maxx) / 2],
        zoom_start=13,
        tiles=None,
        prefer_canvas=True,
        control_scale=False,
        asset_base=asset_base,
        lang=LOCALES[lang],
    )
    # Leaflet.markercluster needs the map's own maxZoom when there is no tile layer to give
    # one; 18 is also the deepest zoom of folium's tile layers
    m.options["max_zoom"] = 18
    figure = m.get_root()
    assert isinstance(figure, Figure)
    figure.title = html.escape(title)
    if tiles is not None:
        base = label(lang, "layer.base")
        folium.TileLayer(
            tiles=tiles, attr=tiles_attribution or base, name=base, overlay=False
        ).add_to(m)
    fit = [[miny, minx], [maxy, maxx]]
    ScriptCall(
        f"{m.get_name()}.fitBounds", fit, {"animate": False}, kind="FitBounds", assign=False
    ).add_to(m)
    # metric only: the people who read these maps walk in metres
    ScriptCall(
        "L.control.scale({metric: true, imperial: false}).addTo", m, kind="Scale", assign=False
    ).add_to(m)
    return m


class Page:
    """One page being built: its map, and the script elements that call its JavaScript.

    Every element links the page's ``resources``; each is added to the map as it is made,
    so the page's script runs in that order.

    Parameters
    ----------
    bounds : sequence of float
        ``(minx, miny, maxx, maxy)`` the view is fitted to (see :func:`base_map`).
    resources : Resources
        The page's own scripts and stylesheets, which define the functions called.
    title, asset_base, tiles, tiles_attribution
        As for :func:`base_map`.

    Attributes
    ----------
    map : PageMap

    Example
    -------
    >>> page = Page((117.2, 39.1, 117.3, 39.2), title="t", resources=Resources())
    >>> data = page.call("wangge.decodeUnits", {"code": ["M1"]}, kind="UnitData")
    >>> layer = page.layer("wangge.boundariesLayer", data, {}, kind="UnitLayer", name="Units")
    >>> m = page.finish("wangge.decorate", {"title": "t"}, {"units": layer})
    >>> "wangge.boundariesLayer(unit_data_" in render_html(m)
    True
    """

    def __init__(
        self,
        bounds: Sequence[float],
        *,
        title: str,
        resources: Resources,
        asset_base: str = DEFAULT_ASSET_BASE,
        tiles: str | None = None,
        tiles_attribution: str | None = None,
        lang: Lang = DEFAULT_LANG,
    ) -> None:
        self.map = base_map(
            bounds,
            title=title,
            asset_base=asset_base,
            tiles=tiles,
            tiles_attribution=tiles_attribution,
            lang=lang,
        )
        self.resources = resources
        self.lang = lang
        # the labels first: every later script may show some
        self.call(
            "wangge.setLanguage",
            {"lang": lang, "locale": LOCALES[lang], "labels": labels(lang)},
            kind="Language",
        )

    def call(self, function: str, *arguments: Any, kind: str) -> ScriptCall:
        """A :class:`ScriptCall` of ``function``, added to the map.

        Parameters
        ----------
        function, *arguments, kind
            As for :class:`ScriptCall`.

        Returns
        -------
        ScriptCall
            Pass it as an argument of a later call to hand over its result (e.g. decoded data).
        """
        element = ScriptCall(function, *arguments, kind=kind, resources=self.resources)
        element.add_to(self.map)
        return element

    def layer(
        self,
        function: str,
        *arguments: Any,
        kind: str,
        name: str,
        needs: Resources = Resources(),
    ) -> ScriptLayer:
        """A :class:`ScriptLayer` of ``function`` named ``name``, added to the map.

        Parameters
        ----------
        function, *arguments, kind, name
            As for :class:`ScriptLayer`.
        needs : Resources
            What the layer needs besides the page's resources (a plugin), linked first.

        Returns
        -------
        ScriptLayer
        """
        element = ScriptLayer(
            function, *arguments, kind=kind, name=name, resources=needs + self.resources
        )
        element.add_to(self.map)
        return element

    def finish(self, decorate: str, config: dict[str, Any], layers: Mapping[str, Layer]) -> PageMap:
        """Call ``decorate(map, config, layers)`` (title, legend, the layers' registry), add
        the layer control and link every asset locally.

        Returns
        -------
        PageMap
            The map, ready for :func:`render_html`.
        """
        ScriptCall(
            decorate,
            self.map,
            config,
            dict(layers),
            kind="Decorations",
            resources=self.resources,
            assign=False,
        ).add_to(self.map)
        folium.LayerControl(collapsed=False).add_to(self.map)
        localize(self.map, self.map.asset_base)
        return self.map


def render_html(m: folium.Map, asset_base: str | None = None) -> str:
    """The full HTML page of a map, with every script and stylesheet linked locally.

    Parameters
    ----------
    m : folium.Map
        A map from :func:`maps.build_density_map` or :func:`maps.build_coverage_map` (or any
        folium map).
    asset_base : str, optional
        URL prefix of the local assets; by default the one a :class:`PageMap` was built
        with, else ``/static/maps``.

    Returns
    -------
    str

    Raises
    ------
    maps.assets.UnlocalizedAsset
        Something on the page would load a file from outside (e.g. an element added after
        building whose resources have no local copy).

    Example
    -------
    >>> page = render_html(base_map((117.2, 39.1, 117.3, 39.2), title="t"), "/assets")
    >>> '<script src="/assets/leaflet/leaflet.js"></script>' in page
    True
    """
    if not asset_base:
        asset_base = m.asset_base if isinstance(m, PageMap) else DEFAULT_ASSET_BASE
    localize(m, asset_base)
    page = m.get_root().render()
    if isinstance(m, PageMap):
        page = page.replace("<html>", f'<html lang="{html.escape(m.lang)}">', 1)
    check_offline(page, asset_base)
    return page
