"""Local assets: every file folium would take from a CDN has a local copy, and pages use it."""

from __future__ import annotations

import re

import folium
import folium.plugins
import pytest

from maps import render_html
from maps.assets import (
    DROPPED,
    FOLIUM_ASSETS,
    STATIC_DIR,
    UnlocalizedAsset,
    asset_files,
    check_offline,
    linked_urls,
    localize,
)

FILES = asset_files()

#: The folium classes whose resources pages may use, with the resources folium gives them.
FOLIUM_RESOURCES = [
    (cls.__name__, name, url)
    for cls in (
        folium.Map,
        folium.plugins.MarkerCluster,
        folium.plugins.FastMarkerCluster,
        folium.plugins.HeatMap,
    )
    for name, url in [*cls.default_js, *cls.default_css]
]


def test_every_asset_file_exists_and_is_not_empty():
    assert FILES
    for key, path in FILES.items():
        assert not key.startswith("/") and "\\" not in key
        assert path.is_file() and path.stat().st_size > 0, key


@pytest.mark.parametrize("owner, name, url", FOLIUM_RESOURCES, ids=lambda v: str(v)[:40])
def test_every_folium_resource_is_local_or_deliberately_dropped(owner, name, url):
    assert url.startswith("https://")  # what folium would otherwise link
    if name in DROPPED:
        return
    assert name in FOLIUM_ASSETS, f"{owner} resource {name} has no local copy"
    assert FOLIUM_ASSETS[name] in FILES


@pytest.mark.parametrize("sub_path", sorted(FOLIUM_ASSETS.values()))
def test_every_mapped_resource_is_served(sub_path):
    assert sub_path in FILES


@pytest.mark.parametrize("css", sorted(k for k in FILES if k.endswith(".css")))
def test_stylesheet_references_resolve_locally(css):
    """Images and fonts a stylesheet pulls in (url(...)) are served too, next to it."""
    text = FILES[css].read_text("utf-8")
    folder = css.rsplit("/", 1)[0]
    for ref in re.findall(r"url\(\s*['\"]?([^'\")]+)['\"]?\s*\)", text):
        if ref.startswith(("data:", "#")):
            continue  # inline data, or IE's VML behaviour (#default#VML)
        assert "//" not in ref, f"{css} references {ref} outside"
        parts = [*folder.split("/"), *ref.split("?")[0].split("#")[0].split("/")]
        resolved: list[str] = []
        for part in parts:
            if part == "..":
                resolved.pop()
            elif part not in ("", "."):
                resolved.append(part)
        assert "/".join(resolved) in FILES, f"{css} references {ref}, not served"


@pytest.mark.parametrize(
    "folder, licence",
    [
        ("vendor/leaflet.awesome-markers", "LICENSE"),
        ("vendor/leaflet.heat", "LICENSE"),
    ],
)
def test_vendored_files_have_licence_and_provenance(folder, licence):
    assert (STATIC_DIR / folder / licence).is_file()
    provenance = (STATIC_DIR / "PROVENANCE.md").read_text("utf-8")
    assert f"`{folder}/`" in provenance


def test_provenance_names_every_xstatic_package():
    provenance = (STATIC_DIR / "PROVENANCE.md").read_text("utf-8")
    for package in ("XStatic-Leaflet ", "XStatic-jQuery", "XStatic-Font-Awesome"):
        assert package in provenance
    assert "XStatic-Leaflet-MarkerCluster" in provenance


def _page(*children) -> str:
    m = folium.Map(tiles=None)
    for child in children:
        child.add_to(m)
    return render_html(m, "/a")


def test_plain_map_links_only_leaflet():
    html = _page()
    assert linked_urls(html) == ["/a/leaflet/leaflet.js", "/a/leaflet/leaflet.css"]


def test_icons_and_popups_bring_their_files():
    marker = folium.Marker([39.1, 117.2], icon=folium.Icon(prefix="fa", icon="info"))
    folium.Popup("hello").add_to(marker)
    links = linked_urls(_page(marker))
    assert "/a/jquery/jquery.min.js" in links  # folium's popup template uses $
    assert "/a/leaflet.awesome-markers/leaflet.awesome-markers.js" in links
    assert "/a/font-awesome/css/all.min.css" in links
    assert not any("bootstrap" in link or "glyphicons" in link for link in links)


def test_plugin_files_are_local():
    cluster = folium.plugins.MarkerCluster()
    folium.CircleMarker([39.1, 117.2]).add_to(cluster)
    heat = folium.plugins.HeatMap([[39.1, 117.2, 1]])
    links = linked_urls(_page(cluster, heat))
    assert "/a/leaflet.markercluster/leaflet.markercluster.js" in links
    assert "/a/leaflet.heat/leaflet-heat.js" in links


@pytest.mark.parametrize(
    "element",
    [
        # folium.Icon's default prefix is Bootstrap 3's glyphicons, which are not served
        folium.Marker([39.1, 117.2], icon=folium.Icon()),
        # a rotated icon needs folium's rotation stylesheet, not served
        folium.Marker([39.1, 117.2], icon=folium.Icon(prefix="fa", angle=45)),
        # a plugin whose files have no local copy
        folium.plugins.Fullscreen(),
    ],
    ids=["glyphicon", "rotated", "plugin"],
)
def test_what_has_no_local_copy_is_refused(element):
    with pytest.raises(UnlocalizedAsset):
        _page(element)


def test_localize_leaves_folium_defaults_alone():
    before = list(folium.Map.default_js)
    m = folium.Map(tiles=None)
    localize(m, "/a")
    assert folium.Map.default_js == before
    assert folium.Map(tiles=None).default_js[0][1].startswith("https://")


def test_check_offline_catches_a_cdn_link():
    html = '<script src="/a/leaflet/leaflet.js"></script><script src="https://cdn/x.js"></script>'
    with pytest.raises(UnlocalizedAsset, match="https://cdn/x.js"):
        check_offline(html, "/a")
    with pytest.raises(UnlocalizedAsset, match="nope"):
        check_offline('<link rel="stylesheet" href="/a/nope.css">', "/a")
