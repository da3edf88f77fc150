"""A global grid of square cells of about ``cell_m`` metres, each numbered by two integers.

Rows are bands of latitude ``cell_m`` high (a degree of latitude taken as 111,320 m); each band
is cut into cells ``cell_m`` wide at its middle latitude. A point's cell depends on its own
coordinates alone, not on the extent of a map, so it can be stored with the point when it is
written and grouped by in SQL when a million points are binned. :data:`CELL_SQL` is the same
formula for a database (PostgreSQL, or SQLite with its math functions).
"""

from __future__ import annotations

import math

#: Metres in a degree of latitude (and of longitude at the equator), as ``maps.heat`` takes it.
METRES_PER_DEGREE = 111_320.0

#: The cell of ``lon`` and ``lat`` columns in SQL, ``{cell_m}`` to fill in: ``(x, y)``, both
#: floor()ed and cast to INTEGER, with the operations of :func:`grid_cell` in the same order.
CELL_SQL = (
    "CAST(floor((lon + 180.0) / (({dlat}) / cos(((floor((lat + 90.0) / ({dlat})) + 0.5) * "
    "({dlat}) - 90.0) * pi() / 180.0))) AS INTEGER)",
    "CAST(floor((lat + 90.0) / ({dlat})) AS INTEGER)",
)


def grid_cell(lon: float, lat: float, cell_m: float) -> tuple[int, int]:
    """The cell of a WGS84 point on the global grid of ``cell_m`` metre cells.

    Parameters
    ----------
    lon, lat : float
        WGS84 degrees, lat in [-90, 90).
    cell_m : float
        Side of the cells in metres (positive).

    Returns
    -------
    tuple of int
        ``(x, y)``: the cell's column within its band and the band, counted from the
        antimeridian and the south pole.

    Example
    -------
    Two points 10 m apart share a cell; one 100 m east of them is two cells along:

    >>> grid_cell(117.2, 39.1, 75.0), grid_cell(117.2001, 39.1, 75.0)
    ((342333, 191618), (342333, 191618))
    >>> grid_cell(117.2012, 39.1, 75.0)
    (342335, 191618)
    """
    dlat = cell_m / METRES_PER_DEGREE
    y = math.floor((lat + 90.0) / dlat)
    middle = (y + 0.5) * dlat - 90.0
    dlon = dlat / math.cos(middle * math.pi / 180.0)
    return math.floor((lon + 180.0) / dlon), y


def cell_sql(cell_m: float) -> tuple[str, str]:
    """:data:`CELL_SQL` for cells of ``cell_m`` metres: the SQL of ``(x, y)``.

    Example
    -------
    >>> cell_sql(75.0)[1]
    'CAST(floor((lat + 90.0) / (0.0006737333812432627)) AS INTEGER)'
    """
    dlat = repr(cell_m / METRES_PER_DEGREE)
    x, y = CELL_SQL
    return x.format(dlat=dlat), y.format(dlat=dlat)
