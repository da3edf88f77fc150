"""The volunteer services layer of the coverage map: each unit by the teams that reach it for
a service (units no team reaches stand out), and the teams' bases with their reach.

Drawn by ``maps/static/wangge/volunteers.js`` from plain data: the units (a GeoDataFrame of
one level, EPSG:4326) and a service coverage answer (``api.volunteers.coverage``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import folium
import geopandas as gpd
import shapely

from maps.page import Resources, ScriptCall, ScriptLayer

VOLUNTEERS_RESOURCES = Resources(js=(("wangge_volunteers_js", "wangge/volunteers.js"),))
#: Vertices closer than this (degrees, about a metre) are merged: a layer, not a survey.
SIMPLIFY_DEG = 1e-5


def volunteer_layer_data(
    units: gpd.GeoDataFrame,
    coverage: Mapping[str, Any],
    teams: Sequence[Mapping[str, Any]],
    *,
    service_name: str,
) -> dict[str, Any]:
    """The layer's data: a FeatureCollection of the units with the teams reaching each and
    their orders, and the bases of the teams offering the service (those with one).

    Example
    -------
    >>> import shapely
    >>> units = gpd.GeoDataFrame({"code": ["A"], "name": ["甲"]},
    ...                          geometry=[shapely.box(0, 0, 1, 1)], crs=4326)
    >>> cov = {"service": "haircut", "units": [{"code": "A", "teams": [], "orders": 2,
    ...        "done": 0.5}]}
    >>> data = volunteer_layer_data(units, cov, [], service_name="理发")
    >>> data["units"]["features"][0]["properties"]["teams"], data["unreached"]
    (0, 1)
    """
    rows = {r["code"]: r for r in coverage["units"]}
    frame = units.to_crs(4326) if units.crs is not None else units.set_crs(4326)
    names = {t["id"]: t["name"] for t in teams}
    features = []
    for code, name, geom in zip(frame["code"], frame["name"], frame.geometry, strict=True):
        row = rows.get(code, {})
        reaching = list(row.get("teams", []))
        features.append(
            {
                "type": "Feature",
                "geometry": shapely.geometry.mapping(shapely.simplify(geom, SIMPLIFY_DEG)),
                "properties": {
                    "code": str(code),
                    "name": str(name),
                    "teams": len(reaching),
                    "team_names": [names.get(t, str(t)) for t in reaching][:5],
                    "orders": int(row.get("orders", 0)),
                    "done": float(row.get("done", 0.0)),
                },
            }
        )
    bases = [
        {"name": t["name"], "lon": t["lon"], "lat": t["lat"], "radius_m": t["radius_m"]}
        for t in teams
        if t.get("lon") is not None and t.get("radius_m")
    ]
    return {
        "service": coverage["service"],
        "service_name": service_name,
        "units": {"type": "FeatureCollection", "features": features},
        "bases": bases,
        "unreached": sum(1 for f in features if not f["properties"]["teams"]),
    }


def add_volunteer_layer(page: folium.Map, data: Mapping[str, Any]) -> ScriptLayer:
    """Add the layer to a built map page (before it is rendered), listed in its layer
    control."""
    json.dumps(data)  # plain data only: refused here rather than on the page
    layer = ScriptLayer(
        "wangge.volunteers.layer",
        dict(data),
        kind="VolunteerLayer",
        name=f"志愿服务 {data['service_name']} volunteer reach",
        resources=VOLUNTEERS_RESOURCES,
    )
    layer.add_to(page)
    # the layer control and the page's decorations refer to every layer: they come after it
    children = page._children
    for name, child in list(children.items()):
        late = isinstance(child, folium.LayerControl) or (
            isinstance(child, ScriptCall) and child.function.endswith(".decorate")
        )
        if late:
            children.move_to_end(name)
    return layer
