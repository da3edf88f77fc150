"""Map pages as the service serves them, and written to files with their assets beside them."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import geopandas as gpd

from api.planning import FACILITY_TYPES, CoverageParams, Planning
from maps import asset_files, build_coverage_map, render_html
from maps.i18n import DEFAULT_LANG, LANGS, Lang, label, labels, level_name
from maps.volunteers import add_volunteer_layer, volunteer_layer_data

#: Where a written page finds its files, relative to it.
FILE_ASSET_BASE = "static/maps"


def coverage_page(
    planning: Planning,
    params: CoverageParams,
    *,
    sites: int = 3,
    asset_base: str = "/static/maps",
    tiles: str | None = None,
    tiles_attribution: str | None = None,
    display_tz: str | None = None,
    volunteer_reach: Callable[[str], dict[str, Any]] | None = None,
    lang: Lang = DEFAULT_LANG,
    tiles_crs: str = "wgs84",
) -> str:
    """The planners' coverage map: units shaded by uncovered 60+ residents, facilities and
    their service areas, the gaps, and ``sites`` suggested new sites (0 for none);
    ``volunteer_reach`` (the level -> api.volunteers.coverage.service_reach) adds the layer
    of a volunteer service's reach."""
    entry = planning.coverage(params)
    bset = planning.bset
    units = bset.units.iloc[bset.level_positions(entry.level)]
    suggested = None
    if sites:
        answer = planning.suggest(params, sites)
        rows = answer["sites"]
        suggested = gpd.GeoDataFrame(
            {
                "rank": [r["rank"] for r in rows],
                "gain_60": [r["gain"] for r in rows],
                "gain": [r["gain_all_ages"] for r in rows],
                "unit": [r["unit"] for r in rows],
                "cumulative_60": [r["cumulative"] for r in rows],
                "share_of_uncovered_60": [r["share_of_uncovered_60"] for r in rows],
            },
            geometry=gpd.points_from_xy([r["lon"] for r in rows], [r["lat"] for r in rows]),
            crs=4326,
        )
    top = bset.units["name"].iloc[bset.level_positions(0)].tolist()
    where = (
        top[0]
        if len(top) == 1
        else label(lang, "density.places", n=len(top), level=level_name(lang, bset.levels[0]))
    )
    minutes = f"{params.minutes:g}"
    type_names = {code: names[LANGS.index(lang)] for code, names in FACILITY_TYPES.items()}
    facility = type_names.get(params.facility_type, params.facility_type)
    source = str(entry.summary.get("population_source", "units"))
    page = build_coverage_map(
        gpd.GeoDataFrame(units, geometry="geometry", crs=4326),
        entry.result,
        entry.facilities,
        title=label(
            lang,
            "coverage.title",
            place=where,
            minutes=minutes,
            facility=facility,
            level=level_name(lang, entry.level),
        ),
        built_at=datetime.now(UTC),
        level=entry.level,
        facility_type=facility,
        type_names=type_names,
        sites=suggested,
        tiles=tiles,
        tiles_attribution=tiles_attribution,
        asset_base=asset_base,
        display_tz=display_tz,
        lang=lang,
        tiles_crs=tiles_crs,
        parameters_text=label(
            lang,
            "cov.population",
            source=label(lang, f"cov.population.{source}")
            if f"cov.population.{source}" in labels(lang)
            else source,
        ),
    )
    if volunteer_reach is not None:
        reach = volunteer_reach(entry.level)
        frame = gpd.GeoDataFrame(units, geometry="geometry", crs=4326)
        data = volunteer_layer_data(
            frame, reach["coverage"], reach["teams"], service_name=reach["service_name"]
        )
        add_volunteer_layer(page, data)
    return render_html(page, asset_base)


def write_page(html: str, out: Path) -> Path:
    """Write a page built with ``asset_base=FILE_ASSET_BASE`` and copy its files beside it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    for sub_path, source in asset_files().items():
        target = out.parent / FILE_ASSET_BASE / sub_path
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, target)
    return out
