"""The standards Wangge speaks, translated to and from its own services.

* :mod:`~api.standards.open311`: Open311 GeoReport v2 (services, service requests, tokens).
* :mod:`~api.standards.ogc`: OGC API - Features (collections of units, facilities, reports).
* :mod:`~api.standards.tiles`: vector tiles (MVT) of the boundary levels, with TileJSON.
* :mod:`~api.standards.levels`: the levels' geometries indexed once per boundary version.
* :mod:`~api.standards.errors`: their errors, answered in each standard's shape.
"""
