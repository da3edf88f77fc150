"""Folium maps built from plain data (GeoDataFrames), working offline with local assets."""

from maps.assets import asset_files
from maps.coverage import build_coverage_map
from maps.density import build_density_map, render_html

__all__ = ["asset_files", "build_coverage_map", "build_density_map", "render_html"]
