"""The answers of the coverage routes: GET /coverage as JSON bytes, POST /coverage/suggest as
plain values.

GET /coverage is written by hand rather than through its pydantic model (``CoverageOut`` in
``api.schemas``): a city's answer has tens of thousands of unit rows and gap polygons, which
pydantic would take longer to validate and serialise than the coverage takes to look up, and
the bytes are made once per data version and served from the cache to every request after.
``tests/api/planning/test_coverage_api.py`` checks that the bytes are exactly a ``CoverageOut``.
"""

from __future__ import annotations

import json
import math
from typing import Any

import geopandas as gpd
import numpy as np
import shapely

from geo.coverage import CoverageResult

#: The columns of the units table of the answer, in order.
UNIT_COLUMNS = (
    "code",
    "name",
    "area_m2",
    "covered_area_m2",
    "served",
    "population",
    "population_60",
    "covered",
    "covered_60",
    "uncovered",
    "uncovered_60",
    "share_covered_60",
)
#: The parameters of a coverage that a suggestion repeats in its summary.
SUGGESTION_SUMMARY = (
    "facility_type",
    "level",
    "mode",
    "minutes",
    "speed_m_per_min",
    "distance_m",
    "facilities",
    "population_source",
    "boundary_set",
    "data_version",
)


def finite_or_none(value: Any, digits: int) -> float | None:
    """A number rounded to ``digits``, or None for NaN and infinity (JSON has neither)."""
    number = float(value)
    return round(number, digits) if math.isfinite(number) else None


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)


def coverage_payload(result: CoverageResult, summary: dict[str, Any]) -> bytes:
    """The JSON answer of GET /coverage: summary, one row per unit, gaps as GeoJSON."""
    clean_summary = {
        k: (finite_or_none(v, 6) if isinstance(v, float) else v) for k, v in summary.items()
    }
    units = result.units
    unit_rows = [
        {
            "code": str(code),
            "name": str(name),
            "area_m2": round(float(area), 1),
            "covered_area_m2": round(float(covered_area), 1),
            "served": bool(served),
            "population": round(float(pop), 3),
            "population_60": round(float(pop60), 3),
            "covered": round(float(cov), 3),
            "covered_60": round(float(cov60), 3),
            "uncovered": round(float(unc), 3),
            "uncovered_60": round(float(unc60), 3),
            "share_covered_60": finite_or_none(share, 6),
        }
        for code, name, area, covered_area, served, pop, pop60, cov, cov60, unc, unc60, share in (
            units[list(UNIT_COLUMNS)].itertuples(index=False, name=None)
        )
    ]
    gaps = result.gaps
    names = dict(zip(units["code"], units["name"], strict=True))
    # 1e-7 degree is about a centimetre: plenty for a map, and a third of the bytes
    geoms = shapely.transform(gaps.geometry.to_numpy(), lambda xy: np.round(xy, 7))
    texts = shapely.to_geojson(geoms) if len(geoms) else []
    features = [
        '{"type":"Feature","geometry":'
        + text
        + ',"properties":'
        + json.dumps(
            {
                "unit": str(unit),
                "unit_name": str(names.get(unit, "")),
                "residents": round(float(res), 3),
                "residents_60": round(float(res60), 3),
                "area_m2": round(float(area), 1),
            },
            ensure_ascii=False,
            separators=(",", ":"),
        )
        + "}"
        for text, unit, res, res60, area in zip(
            texts, gaps["unit"], gaps["residents"], gaps["residents_60"], gaps["area_m2"],
            strict=True,
        )
    ]  # fmt: skip
    text = (
        '{"summary":'
        + _dumps(clean_summary)
        + ',"units":'
        + _dumps(unit_rows)
        + ',"gaps":{"type":"FeatureCollection","features":['
        + ",".join(features)
        + "]}}"
    )
    return text.encode()


def suggestion_payload(
    coverage_summary: dict[str, Any],
    sites: gpd.GeoDataFrame,
    unit_names: list[str | None],
    *,
    k: int,
    candidates: str,
) -> dict[str, Any]:
    """The answer of POST /coverage/suggest: the coverage's parameters with the uncovered 60+
    before and after the sites, and the sites (``geo.coverage.suggest_sites``) in order.

    ``unit_names`` holds the name of each site's unit (None outside the level); ``candidates``
    says where the sites were picked from.
    """
    out_sites = [
        {
            "rank": int(row.rank),
            "lon": round(float(row.lon), 7),
            "lat": round(float(row.lat), 7),
            "site": None if row.site is None else str(row.site),
            "unit": None if row.unit is None else str(row.unit),
            "unit_name": name,
            "gain": round(float(row.gain_60), 3),
            "gain_all_ages": round(float(row.gain), 3),
            "cumulative": round(float(row.cumulative_60), 3),
            "share_of_uncovered_60": finite_or_none(row.share_of_uncovered_60, 6),
        }
        for row, name in zip(sites.itertuples(index=False), unit_names, strict=True)
    ]
    before = float(coverage_summary["uncovered_60"])
    gained = float(sites["gain_60"].sum()) if len(sites) else 0.0
    summary = {key: coverage_summary[key] for key in SUGGESTION_SUMMARY}
    summary.update(
        k=k,
        candidates=candidates,
        uncovered_60_before=round(before, 3),
        uncovered_60_after=round(before - gained, 3),
        sites=len(out_sites),
    )
    return {"summary": summary, "sites": out_sites}
