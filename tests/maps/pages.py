"""Reading a rendered density page back (its data payloads and unit geometries), and the
vocabulary the pages are built with: the service's statuses and category labels."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

import geopandas as gpd
import shapely

from api.cases.catalogue import DEFAULT_CATEGORIES
from api.cases.lifecycle import OPEN, Status
from geo.units import BoundarySet
from maps import CaseStatus
from maps.encoding import ALPHABET
from tests.conftest import tiny_layers

_DIGIT = {c: i for i, c in enumerate(ALPHABET)}

#: The lifecycle's statuses, as the service passes them to the density map.
STATUSES = [CaseStatus(s.value, open=s in OPEN) for s in Status]
#: Label of each category of the built-in catalogue, as the service passes them.
CATEGORIES = {c.code: f"{c.name_zh} {c.name_en}" for c in DEFAULT_CATEGORIES}
#: Both, as keyword arguments of ``build_density_map``.
#: The lifecycle and catalogue the pages are given; these tests read the English labels (the
#: Chinese pages, the default, have tests of their own in test_i18n.py).
VOCABULARY = {"statuses": STATUSES, "categories": CATEGORIES, "lang": "en"}


def payload(html: str, function: str) -> Any:
    """The JSON argument of the page's call to ``wangge.<function>(...)``."""
    # wangge.decodeUnits({...});  wangge.caseLayer({...});  wangge.decorate(map, {...}, {layers});
    found = re.search(
        rf"wangge\.{function}\((?:\w+, )?(\{{.*?\}})(?:\);\n|, \{{\"choropleth\")", html
    )
    assert found, f"no wangge.{function}(...) in the page"
    return json.loads(found.group(1))


def decode_geometries(origin: list[int], text: str, step: float) -> list[list[list[list[float]]]]:
    """Python twin of density.js's decoder: units -> polygons -> rings -> (x, y) in degrees."""
    units = []
    for unit_text in text.split("!"):
        polygons = []
        for poly_text in unit_text.split(":") if unit_text else []:
            rings = []
            for ring_text in poly_text.split(";"):
                numbers, value, shift = [], 0, 0
                for char in ring_text:
                    digit = _DIGIT[char]
                    value |= (digit & 31) << shift
                    shift += 5
                    if digit < 32:
                        numbers.append(-(value + 1) // 2 if value & 1 else value // 2)
                        value, shift = 0, 0
                x, y, ring = origin[0], origin[1], []
                for dx, dy in zip(numbers[::2], numbers[1::2], strict=True):
                    x, y = x + dx, y + dy
                    ring.append([x * step, y * step])
                rings.append(ring)
            polygons.append(rings)
        units.append(polygons)
    return units


def tiny_units() -> gpd.GeoDataFrame:
    """The micro-grids of the shared tiny set: M1, M2, M3 (with a hole), M5; two leaders."""
    bset = BoundarySet.from_levels(tiny_layers())
    return bset.units.iloc[bset.level_positions("microgrid")].reset_index(drop=True)


#: Centres of the tiny micro-grids (M3's is off its hole).
CENTRES = {
    "M1": (117.2025, 39.1025),
    "M2": (117.2075, 39.1025),
    "M3": (117.2025, 39.1075),
    "M5": (117.2125, 39.1050),
}


def cases_frame(
    rows: list[dict[str, Any]], now: datetime = datetime(2024, 6, 1, 9)
) -> gpd.GeoDataFrame:
    """Cases from short rows: each needs ``case_unit``; the rest has sensible defaults."""
    if not rows:
        columns = ["id", "category", "status", "created_at", "due_at", "overdue", "unit_code"]
        columns += ["leader_name", "case_unit"]
        return gpd.GeoDataFrame({c: [] for c in columns}, geometry=[], crs=4326)
    full = []
    for i, row in enumerate(rows):
        unit = row["case_unit"]
        lon, lat = row.get("xy", CENTRES.get(unit, (117.2025, 39.1025)))
        created = row.get("created_at", now - timedelta(hours=i + 1))
        full.append(
            {
                "id": row.get("id", f"C{i:04d}"),
                "category": row.get("category", "噪音扰民"),
                "status": row.get("status", "reported"),
                "created_at": created,
                "due_at": row["due_at"] if "due_at" in row else created + timedelta(hours=24),
                "overdue": row.get("overdue", False),
                "unit_code": unit,
                "leader_name": row.get("leader_name", "王芳"),
                "case_unit": unit,
                **row.get("extra", {}),
                "geometry": row.get("geometry", shapely.Point(lon, lat)),
            }
        )
    return gpd.GeoDataFrame(full, geometry="geometry", crs=4326)
