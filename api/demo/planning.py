"""Demo planning data in the database: Hexi's care centres and population table
(``boundaries.demo_planning``), stored through the planning package like an import."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from api.planning.facilities import reload_facilities
from api.planning.population import store_population
from boundaries.demo_planning import SOURCE, demo_facilities, demo_population
from geo.units import BoundarySet


def seed_planning(
    target: sessionmaker[Session] | Engine, bset: BoundarySet, seed: int = 20231
) -> dict[str, Any]:
    """Store the demo facilities and population, replacing earlier demo facilities and the
    whole per-unit population table; returns what was stored.

    Parameters
    ----------
    target : sessionmaker or Engine
        A migrated database (``api.db.engine.migrate``).
    bset : BoundarySet
        The Hexi demo set (``boundaries.demo.build_hexi``); other sets work the same.
    seed : int

    Returns
    -------
    dict
        ``facilities``, ``units``, ``residents``, ``residents_60``.
    """
    factory = target if isinstance(target, sessionmaker) else sessionmaker(target)
    population = demo_population(bset, seed)
    facilities = demo_facilities(bset, population, seed)
    rows = [
        {
            "type": f.type,
            "name": f.name,
            "capacity": int(f.capacity),
            "lon": float(f.geometry.x),
            "lat": float(f.geometry.y),
            "input_crs": "wgs84",
            "input_lon": float(f.geometry.x),
            "input_lat": float(f.geometry.y),
        }
        for f in facilities.itertuples(index=False)
    ]
    units = [
        {"kind": "unit", "code": c, "residents": int(r), "residents_60": int(r60)}
        for c, r, r60 in population.itertuples(index=False, name=None)
    ]
    with factory() as session:
        reload_facilities(rows, session=session, source=SOURCE)
        store_population(units, session=session, replace=True, source=SOURCE)
    return {
        "facilities": len(rows),
        "units": len(population),
        "residents": int(population["residents"].sum()),
        "residents_60": int(population["residents_60"].sum()),
    }
