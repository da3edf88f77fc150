"""Coordinate systems: WGS84, the Chinese GCJ-02 and BD-09 systems, and any EPSG code.

GCJ-02 (used by Amap, Tencent and WeChat) and BD-09 (Baidu) are obfuscated variants of WGS84
with no EPSG code; their offsets in Tianjin are 300-700 m, far larger than a micro-grid, so every
coordinate entering the service must name its system. The conversions follow the published
algorithm (the "eviltransform"/"coordtransform" family); no maintained, vectorised Python package
implements it, so it is written here over numpy arrays. The inverse directions are solved by
fixed-point iteration, which brings the round trip well under a millimetre inside China.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pyproj
import shapely
from numpy.typing import ArrayLike, NDArray

from geo.errors import InvalidCoordinates, InvalidGeometry, UnknownCRS

#: The names accepted for coordinate systems, besides "EPSG:<code>".
NAMED_SYSTEMS = ("wgs84", "gcj02", "bd09")
ALLOWED_CRS = "wgs84, gcj02, bd09, or EPSG:<code> (e.g. EPSG:4326, EPSG:32650)"
#: What valid geographic coordinates are, as error messages say it.
ALLOWED_LONLAT = "finite numbers with -180 <= lon <= 180 and -90 <= lat <= 90"
#: Densifying before a change of system adds vertices; beyond these numbers the coordinates are
#: not in the system they are said to be in (feet read as degrees make millions per edge), and
#: going on would only exhaust the memory. An edge of 50 degrees, or 5,000 km, stays below the
#: first; 50 million vertices (about 800 MB of coordinates) are five times what the 170,000
#: units of the Tianjin city demo can need.
MAX_EDGE_VERTICES = 100_000
MAX_DENSIFIED_VERTICES = 50_000_000

_ALIASES = {
    "wgs84": "wgs84",
    "wgs-84": "wgs84",
    "epsg:4326": "wgs84",
    "4326": "wgs84",
    "gcj02": "gcj02",
    "gcj-02": "gcj02",
    "gcj": "gcj02",
    "bd09": "bd09",
    "bd-09": "bd09",
    "bd09ll": "bd09",
}

# Krasovsky 1940 ellipsoid, as the GCJ-02 algorithm uses it.
_A = 6378245.0
_EE = 0.00669342162296594323
_X_PI = np.pi * 3000.0 / 180.0


@dataclass(frozen=True)
class CoordSystem:
    """A parsed coordinate system: one of the named Chinese systems or a pyproj CRS."""

    name: str  # "wgs84", "gcj02", "bd09" or "EPSG:<code>"
    epsg: int | None = None

    @property
    def is_geographic_named(self) -> bool:
        return self.name in NAMED_SYSTEMS

    def __str__(self) -> str:
        return self.name


def parse_crs(value: str | int | pyproj.CRS | CoordSystem | None) -> CoordSystem:
    """Parse a coordinate-system name or code.

    Parameters
    ----------
    value : str, int, pyproj.CRS or CoordSystem
        ``"wgs84"``, ``"gcj02"``, ``"bd09"`` (with or without hyphen, any case), an EPSG code
        as ``"EPSG:32650"``, ``"32650"`` or ``32650``, or a pyproj CRS that has an EPSG code.

    Returns
    -------
    CoordSystem

    Raises
    ------
    UnknownCRS
        When the value names no known system.

    Example
    -------
    >>> parse_crs("GCJ-02").name
    'gcj02'
    >>> parse_crs(32650).name
    'EPSG:32650'
    """
    if isinstance(value, CoordSystem):
        return value
    if value is None:
        raise UnknownCRS("no coordinate system given", allowed=ALLOWED_CRS)
    if isinstance(value, pyproj.CRS):
        code = value.to_epsg()
        if code is None:
            raise UnknownCRS(
                f"coordinate system {value.name!r} has no EPSG code", allowed=ALLOWED_CRS
            )
        value = code
    text = str(value).strip().lower()
    if text in _ALIASES:
        return CoordSystem(_ALIASES[text], 4326 if _ALIASES[text] == "wgs84" else None)
    match = re.fullmatch(r"(?:epsg:)?(\d{4,6})", text)
    if match:
        code = int(match.group(1))
        try:
            pyproj.CRS.from_epsg(code)
        except pyproj.exceptions.CRSError:
            raise UnknownCRS(f"unknown EPSG code {code}", allowed=ALLOWED_CRS) from None
        if code == 4326:
            return CoordSystem("wgs84", 4326)
        return CoordSystem(f"EPSG:{code}", code)
    raise UnknownCRS(f"unknown coordinate system {str(value)!r}", allowed=ALLOWED_CRS)


def out_of_china(lon: ArrayLike, lat: ArrayLike) -> NDArray[np.bool_]:
    """True where a point lies outside the box in which GCJ-02 differs from WGS84.

    Example
    -------
    >>> out_of_china([2.35, 117.2], [48.85, 39.1]).tolist()
    [True, False]
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    return (lon < 72.004) | (lon > 137.8347) | (lat < 0.8293) | (lat > 55.8271)


def _delta_one(lon: float, lat: float) -> tuple[float, float]:
    """:func:`_delta` of one point in plain floats: a report's single point is converted in
    microseconds rather than through thirty array operations on arrays of one."""
    x = lon - 105.0
    y = lat - 35.0
    sx = math.sqrt(abs(x))
    pi = math.pi
    common = (20.0 * math.sin(6.0 * x * pi) + 20.0 * math.sin(2.0 * x * pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sx + common
    dlat += (20.0 * math.sin(y * pi) + 40.0 * math.sin(y / 3.0 * pi)) * 2.0 / 3.0
    dlat += (160.0 * math.sin(y / 12.0 * pi) + 320.0 * math.sin(y * pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sx + common
    dlon += (20.0 * math.sin(x * pi) + 40.0 * math.sin(x / 3.0 * pi)) * 2.0 / 3.0
    dlon += (150.0 * math.sin(x / 12.0 * pi) + 300.0 * math.sin(x / 30.0 * pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * pi
    magic = 1.0 - _EE * math.sin(radlat) ** 2
    sqrtmagic = math.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * math.cos(radlat) * pi)
    return dlon, dlat


def _out_of_china_one(lon: float, lat: float) -> bool:
    return lon < 72.004 or lon > 137.8347 or lat < 0.8293 or lat > 55.8271


def _wgs84_to_gcj02_one(lon: float, lat: float) -> tuple[float, float]:
    if _out_of_china_one(lon, lat) or not (math.isfinite(lon) and math.isfinite(lat)):
        return lon, lat
    dlon, dlat = _delta_one(lon, lat)
    return lon + dlon, lat + dlat


def _delta(lon: NDArray[np.float64], lat: NDArray[np.float64]) -> tuple[NDArray, NDArray]:
    """GCJ-02 offset (degrees) at WGS84 position lon, lat.

    Example
    -------
    >>> one = _delta(np.array([117.2]), np.array([39.1]))
    >>> many = _delta(np.array([117.2, 117.3]), np.array([39.1, 39.2]))
    >>> bool(abs(one[0][0] - many[0][0]) < 1e-12 and abs(one[1][0] - many[1][0]) < 1e-12)
    True
    """
    if lon.size == 1 and lat.size == 1:
        dx, dy = _delta_one(float(lon.flat[0]), float(lat.flat[0]))
        return np.full(lon.shape, dx), np.full(lat.shape, dy)
    x = lon - 105.0
    y = lat - 35.0
    sx = np.sqrt(np.abs(x))
    common = (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * sx + common
    dlat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * sx + common
    dlon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    return dlon, dlat


def _as_arrays(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    return np.asarray(lon, dtype=float), np.asarray(lat, dtype=float)


def wgs84_to_gcj02(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray]:
    """Convert WGS84 longitude/latitude to GCJ-02 (unchanged outside China).

    Parameters
    ----------
    lon, lat : array_like
        Degrees in WGS84.

    Returns
    -------
    tuple of ndarray
        GCJ-02 longitude and latitude.

    Example
    -------
    >>> lon, lat = wgs84_to_gcj02(116.404, 39.915)
    >>> round(float(lon), 6), round(float(lat), 6)
    (116.410244, 39.916404)
    """
    lon, lat = _as_arrays(lon, lat)
    if lon.size == 1 and lat.size == 1:
        one = _wgs84_to_gcj02_one(float(lon.flat[0]), float(lat.flat[0]))
        return np.full(lon.shape, one[0]), np.full(lat.shape, one[1])
    dlon, dlat = _delta(lon, lat)
    outside = out_of_china(lon, lat)
    return np.where(outside, lon, lon + dlon), np.where(outside, lat, lat + dlat)


def gcj02_to_wgs84(
    lon: ArrayLike, lat: ArrayLike, *, iterations: int = 4
) -> tuple[NDArray, NDArray]:
    """Convert GCJ-02 longitude/latitude to WGS84 by fixed-point iteration.

    Each step removes the forward offset evaluated at the current estimate; the error shrinks
    about a hundredfold per step: over China, 3 cm after two steps, 0.2 mm after three and
    under a micrometre after four.

    Parameters
    ----------
    lon, lat : array_like
        Degrees in GCJ-02.
    iterations : int, default 4
        Number of refinement steps.

    Returns
    -------
    tuple of ndarray
        WGS84 longitude and latitude.

    Example
    -------
    >>> lon, lat = gcj02_to_wgs84(116.41024449916938, 39.91640428150164)
    >>> round(float(lon), 7), round(float(lat), 7)
    (116.404, 39.915)
    """
    glon, glat = _as_arrays(lon, lat)
    if glon.size == 1 and glat.size == 1:
        w = _gcj02_to_wgs84_one(float(glon.flat[0]), float(glat.flat[0]), iterations)
        return np.full(glon.shape, w[0]), np.full(glat.shape, w[1])
    wlon, wlat = glon.copy(), glat.copy()
    for _ in range(iterations):
        flon, flat = wgs84_to_gcj02(wlon, wlat)
        wlon = wlon - (flon - glon)
        wlat = wlat - (flat - glat)
    outside = out_of_china(glon, glat)
    return np.where(outside, glon, wlon), np.where(outside, glat, wlat)


def _gcj02_to_wgs84_one(lon: float, lat: float, iterations: int = 4) -> tuple[float, float]:
    """:func:`gcj02_to_wgs84` of one point in plain floats (the same steps, the same bits)."""
    w = (lon, lat)
    for _ in range(iterations):
        f = _wgs84_to_gcj02_one(*w)
        w = (w[0] - (f[0] - lon), w[1] - (f[1] - lat))
    return (lon, lat) if _out_of_china_one(lon, lat) else w


def gcj02_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray]:
    """Convert GCJ-02 longitude/latitude to BD-09 (Baidu).

    Example
    -------
    >>> lon, lat = gcj02_to_bd09(116.404, 39.915)
    >>> round(float(lon), 6), round(float(lat), 6)
    (116.410369, 39.921337)
    """
    x, y = _as_arrays(lon, lat)
    z = np.sqrt(x * x + y * y) + 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) + 0.000003 * np.cos(x * _X_PI)
    return z * np.cos(theta) + 0.0065, z * np.sin(theta) + 0.006


def bd09_to_gcj02(
    lon: ArrayLike, lat: ArrayLike, *, iterations: int = 3
) -> tuple[NDArray, NDArray]:
    """Convert BD-09 longitude/latitude to GCJ-02.

    Starts from the published closed-form approximation and refines it by fixed-point
    iteration on :func:`gcj02_to_bd09`, so the round trip is exact to float precision.

    Example
    -------
    >>> lon, lat = bd09_to_gcj02(*gcj02_to_bd09(117.2, 39.1))
    >>> round(float(lon), 9), round(float(lat), 9)
    (117.2, 39.1)
    """
    blon, blat = _as_arrays(lon, lat)
    x = blon - 0.0065
    y = blat - 0.006
    z = np.sqrt(x * x + y * y) - 0.00002 * np.sin(y * _X_PI)
    theta = np.arctan2(y, x) - 0.000003 * np.cos(x * _X_PI)
    glon, glat = z * np.cos(theta), z * np.sin(theta)
    for _ in range(iterations):
        flon, flat = gcj02_to_bd09(glon, glat)
        glon = glon - (flon - blon)
        glat = glat - (flat - blat)
    return glon, glat


def wgs84_to_bd09(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray]:
    """Convert WGS84 to BD-09 through GCJ-02.

    Example
    -------
    >>> lon, lat = wgs84_to_bd09(121.0917077, 30.6107779)
    >>> round(float(lon), 6), round(float(lat), 6)
    (121.102717, 30.614846)
    """
    return gcj02_to_bd09(*wgs84_to_gcj02(lon, lat))


def bd09_to_wgs84(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray, NDArray]:
    """Convert BD-09 to WGS84 through GCJ-02.

    Example
    -------
    >>> lon, lat = bd09_to_wgs84(*wgs84_to_bd09(117.2, 39.1))
    >>> round(float(lon), 8), round(float(lat), 8)
    (117.2, 39.1)
    """
    return gcj02_to_wgs84(*bd09_to_gcj02(lon, lat))


def check_lonlat(lon: ArrayLike, lat: ArrayLike) -> None:
    """Raise :class:`InvalidCoordinates` unless every lon/lat is finite and in range.

    Parameters
    ----------
    lon, lat : array_like
        Geographic degrees (WGS84, GCJ-02 or BD-09).

    Raises
    ------
    InvalidCoordinates
        Naming up to ten offending positions and the reason for each.

    Example
    -------
    >>> check_lonlat([117.2], [39.1])
    """
    bad, reasons = invalid_lonlat(lon, lat)
    if bad.any():
        raise _invalid_points(bad, reasons, ALLOWED_LONLAT)


def _invalid_points(
    bad: NDArray[np.bool_], reasons: NDArray[np.str_] | NDArray[np.object_], allowed: str
) -> InvalidCoordinates:
    """The error naming the first ten bad points (index and reason) and how many there are."""
    where = np.flatnonzero(bad)
    sample = [{"index": int(i), "reason": str(reasons[i])} for i in where[:10]]
    first = sample[0]["reason"]
    return InvalidCoordinates(
        f"{where.size} point(s) have invalid coordinates; first at index {where[0]}: {first}",
        allowed=allowed,
        invalid=sample,
        invalid_count=int(where.size),
    )


def invalid_lonlat(lon: ArrayLike, lat: ArrayLike) -> tuple[NDArray[np.bool_], NDArray[np.str_]]:
    """Flag invalid geographic coordinates and say why, point by point.

    Returns
    -------
    tuple
        A boolean mask (True = invalid) and an array of reasons ("" where valid).

    Example
    -------
    >>> mask, why = invalid_lonlat([117.2, float("nan"), 200.0], [39.1, 39.1, 39.1])
    >>> mask.tolist(), why.tolist()[1:]
    ([False, True, True], ['lon is not a finite number', 'lon 200.0 is outside [-180, 180]'])
    """
    lon, lat = _as_arrays(lon, lat)
    lon, lat = np.atleast_1d(lon), np.atleast_1d(lat)
    if lon.shape != lat.shape:
        raise InvalidCoordinates(
            f"lon has {lon.size} values but lat has {lat.size}",
            allowed="the same number of lon and lat values",
        )
    with np.errstate(invalid="ignore"):
        fine = np.isfinite(lon) & np.isfinite(lat) & (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
    if fine.all():  # the common case, without building a reason per point
        return np.zeros(lon.shape, dtype=bool), np.full(lon.shape, "", dtype="<U1")
    reasons = np.full(lon.shape, "", dtype=object)
    with np.errstate(invalid="ignore"):
        checks = [
            (~np.isfinite(lat), lambda i: "lat is not a finite number"),
            (np.isfinite(lat) & (np.abs(lat) > 90), lambda i: f"lat {lat[i]} is outside [-90, 90]"),
            (~np.isfinite(lon), lambda i: "lon is not a finite number"),
            (
                np.isfinite(lon) & (np.abs(lon) > 180),
                lambda i: f"lon {lon[i]} is outside [-180, 180]",
            ),
        ]
    bad = np.zeros(lon.shape, dtype=bool)
    for mask, why in checks:
        for i in np.flatnonzero(mask & ~bad):
            reasons[i] = why(i)
        bad |= mask
    return bad, reasons.astype(str)


def _pyproj_transformer(source: CoordSystem, target: CoordSystem) -> pyproj.Transformer:
    src = pyproj.CRS.from_epsg(source.epsg or 4326)
    dst = pyproj.CRS.from_epsg(target.epsg or 4326)
    return pyproj.Transformer.from_crs(src, dst, always_xy=True)


def transform_coords(
    x: ArrayLike, y: ArrayLike, source: str | CoordSystem, target: str | CoordSystem = "wgs84"
) -> tuple[NDArray, NDArray]:
    """Transform coordinates between any two supported systems.

    Named systems go through WGS84 with the algorithms above; EPSG systems through pyproj.

    Parameters
    ----------
    x, y : array_like
        Longitude/latitude for geographic systems, easting/northing for projected ones.
    source, target : str or CoordSystem
        See :func:`parse_crs`.

    Returns
    -------
    tuple of ndarray

    Example
    -------
    >>> lon, lat = transform_coords(116.41024449916938, 39.91640428150164, "gcj02")
    >>> round(float(lon), 6), round(float(lat), 6)
    (116.404, 39.915)
    """
    src, dst = parse_crs(source), parse_crs(target)
    x, y = _as_arrays(x, y)
    if src == dst:
        return x, y
    # to WGS84
    if src.name == "gcj02":
        x, y = gcj02_to_wgs84(x, y)
    elif src.name == "bd09":
        x, y = bd09_to_wgs84(x, y)
    elif src.name != "wgs84":
        x, y = _pyproj_transformer(src, parse_crs("wgs84")).transform(x, y)
    # from WGS84
    if dst.name == "gcj02":
        return wgs84_to_gcj02(x, y)
    if dst.name == "bd09":
        return wgs84_to_bd09(x, y)
    if dst.name != "wgs84":
        return _pyproj_transformer(parse_crs("wgs84"), dst).transform(x, y)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def _fine(lon: float, lat: float) -> bool:
    return math.isfinite(lon) and math.isfinite(lat) and abs(lat) <= 90 and abs(lon) <= 180


def _one_valid_point(x: ArrayLike, y: ArrayLike, system: CoordSystem) -> tuple[float, float] | None:
    """One point given as plain numbers (or lists of one), valid and converted to WGS84 as
    :func:`points_to_wgs84` would; None for anything else (left to the general path)."""
    if isinstance(x, list | tuple) and isinstance(y, list | tuple) and len(x) == len(y) == 1:
        x, y = x[0], y[0]
    if not (isinstance(x, float | int) and isinstance(y, float | int)):
        return None
    lon, lat = float(x), float(y)
    if not _fine(lon, lat):
        return None
    if system.name == "gcj02":  # (the phones' system: no arrays at all)
        lon, lat = _gcj02_to_wgs84_one(lon, lat)
    elif system.name != "wgs84":
        wlon, wlat = transform_coords(lon, lat, system, "wgs84")
        lon, lat = float(wlon), float(wlat)
        if not _fine(lon, lat):
            return None
    return lon, lat


def one_point_to_wgs84(
    x: ArrayLike, y: ArrayLike, crs: str | CoordSystem
) -> tuple[float, float] | None:
    """One valid point (plain numbers, or lists of one) of a named geographic system
    (``wgs84``, ``gcj02``, ``bd09``) in WGS84, converted without arrays exactly as
    :func:`points_to_wgs84` converts it; None for anything else (left to the general path).

    Raises
    ------
    UnknownCRS
        When ``crs`` names no known system.

    Example
    -------
    >>> [round(v, 6) for v in one_point_to_wgs84(116.41024449916938, 39.91640428150164, "gcj02")]
    [116.404, 39.915]
    >>> one_point_to_wgs84(200.0, 39.9, "gcj02") is None
    True
    """
    system = parse_crs(crs)
    return _one_valid_point(x, y, system) if system.is_geographic_named else None


def points_to_wgs84(
    x: ArrayLike,
    y: ArrayLike,
    crs: str | CoordSystem = "wgs84",
    *,
    errors: Literal["raise", "flag"] = "raise",
) -> tuple[NDArray[np.float64], NDArray[np.float64], NDArray[np.str_]]:
    """Check points given in a coordinate system and convert them to WGS84.

    A point is refused when its coordinates are not finite, when a geographic system's
    longitude or latitude is out of range, or when a projected point lands off the globe once
    converted.

    Parameters
    ----------
    x, y : array_like
        Longitude/latitude for ``wgs84``, ``gcj02`` and ``bd09``; the system's own x and y
        (easting/northing for a projected one) for ``EPSG:<code>``.
    crs : str or CoordSystem, default "wgs84"
        See :func:`parse_crs`.
    errors : {"raise", "flag"}, default "raise"
        ``"raise"``: any refused point raises :class:`InvalidCoordinates` naming the first ten
        (index and reason) and how many there are. ``"flag"``: refused points come back as NaN
        with their reason, the others converted (imports that report every bad row).

    Returns
    -------
    lon, lat : ndarray of float
        WGS84 degrees, NaN where a point is refused. For valid WGS84 input these may be the
        input arrays themselves.
    reasons : ndarray of str
        Why each point is refused, "" where it is valid.

    Raises
    ------
    UnknownCRS
        When ``crs`` names no known system.
    InvalidCoordinates
        With ``errors="raise"``, when any point is refused; also when x and y differ in length.

    Example
    -------
    >>> lon, lat, why = points_to_wgs84([116.41024449916938, 200.0], [39.91640428150164, 39.9],
    ...                                 "gcj02", errors="flag")
    >>> [round(float(v), 6) for v in lon[:1]], [round(float(v), 6) for v in lat[:1]]
    ([116.404], [39.915])
    >>> why.tolist()
    ['', 'lon 200.0 is outside [-180, 180]']
    >>> points_to_wgs84([517_294.0], [float("inf")], "EPSG:32650", errors="flag")[2].tolist()
    ['x or y is not a finite number']
    """
    system = parse_crs(crs)
    one = one_point_to_wgs84(x, y, system)
    if one is not None:  # a single point (a report, a lookup): no array operations
        return np.array([one[0]]), np.array([one[1]]), np.array([""])
    xs = np.atleast_1d(np.asarray(x, dtype=float))
    ys = np.atleast_1d(np.asarray(y, dtype=float))
    if system.is_geographic_named:
        bad, why = invalid_lonlat(xs, ys)
        allowed = ALLOWED_LONLAT
    else:
        if xs.shape != ys.shape:
            raise InvalidCoordinates(
                f"x has {xs.size} values but y has {ys.size}",
                allowed="the same number of x and y values",
            )
        bad = ~(np.isfinite(xs) & np.isfinite(ys))
        why = np.where(bad, "x or y is not a finite number", "")
        allowed = f"finite x, y of {system} that convert to -180 <= lon <= 180 and -90 <= lat <= 90"
    if errors == "raise" and bad.any():
        raise _invalid_points(bad, why, allowed)
    if not bad.any():
        lon, lat = transform_coords(xs, ys, system, "wgs84")
    else:
        lon, lat = np.full(xs.shape, np.nan), np.full(ys.shape, np.nan)
        good = ~bad
        lon[good], lat[good] = transform_coords(xs[good], ys[good], system, "wgs84")
    if system.name != "wgs84":
        # a projected point can lie off the globe, and a conversion can yield NaN or inf
        off, _ = invalid_lonlat(lon, lat)
        off &= ~bad
        if off.any():
            why = why.astype(object)
            why[off] = f"outside the globe once converted from {system}"
            bad = bad | off
            if errors == "raise":
                raise _invalid_points(bad, why, allowed)
            lon, lat = np.where(off, np.nan, lon), np.where(off, np.nan, lat)
    return lon, lat, np.asarray(why, dtype=str)


def densify_length(system: str | CoordSystem) -> float:
    """Longest edge kept when densifying in a system: 0.0005 degree (about 50 m) or 50 units.

    Example
    -------
    >>> densify_length("gcj02"), densify_length("EPSG:32650")
    (0.0005, 50.0)
    """
    return 0.0005 if is_geographic(system) else 50.0


def is_geographic(system: str | CoordSystem) -> bool:
    """True for systems in longitude/latitude degrees (the named ones, EPSG:4326, EPSG:4490...).

    Example
    -------
    >>> is_geographic("bd09"), is_geographic("EPSG:4490"), is_geographic("EPSG:2249")
    (True, True, False)
    """
    parsed = parse_crs(system)
    return parsed.is_geographic_named or bool(
        pyproj.CRS.from_epsg(parsed.epsg or 4326).is_geographic
    )


def transform_geometries(
    geoms: ArrayLike,
    source: str | CoordSystem,
    target: str | CoordSystem = "wgs84",
    *,
    densify: bool = True,
    max_edge_vertices: int = MAX_EDGE_VERTICES,
    max_vertices: int = MAX_DENSIFIED_VERTICES,
) -> NDArray[np.object_]:
    """Transform an array of shapely geometries between coordinate systems.

    Valid geometries are densified first (see :func:`densify_length`), because an edge that is
    straight in one system bows in another: without it, a long edge and the short edges of
    its neighbours meeting it at a T-junction part by tens of square metres.

    Parameters
    ----------
    geoms : array_like of shapely.Geometry
    source, target : str or CoordSystem
        See :func:`parse_crs`.
    densify : bool, default True
        Add vertices so no edge is longer than :func:`densify_length` of the source.
    max_edge_vertices, max_vertices : int
        Refuse to densify when one edge would need more vertices than ``max_edge_vertices``,
        or all geometries together more than ``max_vertices`` (see
        :func:`check_densify`).

    Returns
    -------
    ndarray of shapely.Geometry

    Raises
    ------
    InvalidGeometry
        With code ``too_many_vertices``, when densifying would pass a limit.

    Example
    -------
    >>> import shapely
    >>> [p] = transform_geometries([shapely.Point(116.41024449916938, 39.91640428150164)], "gcj02")
    >>> round(p.x, 6), round(p.y, 6)
    (116.404, 39.915)
    """
    arr = np.asarray(geoms, dtype=object)
    if parse_crs(source) == parse_crs(target):
        return arr
    if densify:
        # an edge is straight in the system it was drawn in; keep it so after the change
        arr = arr.copy()
        valid = shapely.is_valid(arr)
        length = densify_length(source)
        check_densify(
            arr[valid],
            length,
            system=source,
            max_edge_vertices=max_edge_vertices,
            max_vertices=max_vertices,
        )
        arr[valid] = shapely.segmentize(arr[valid], length)

    def _apply(coords: NDArray[np.float64]) -> NDArray[np.float64]:
        x, y = transform_coords(coords[:, 0], coords[:, 1], source, target)
        return np.column_stack([x, y])

    return shapely.transform(arr, _apply)


def check_densify(
    geoms: ArrayLike,
    max_length: float,
    *,
    system: str | CoordSystem = "wgs84",
    max_edge_vertices: int = MAX_EDGE_VERTICES,
    max_vertices: int = MAX_DENSIFIED_VERTICES,
) -> int:
    """Count the vertices densifying would make, and refuse before it exhausts the memory.

    ``shapely.segmentize`` adds ``ceil(length / max_length) - 1`` vertices to every edge, so a
    polygon in feet read as degrees asks for millions per edge. The total is bounded from
    above by vertices plus perimeter / ``max_length``; single edges are measured only in the
    geometries whose bounding box is long enough to hold a too long one.

    Parameters
    ----------
    geoms : array_like of shapely.Geometry
    max_length : float
        The longest edge kept, in the geometries' units.
    system : str or CoordSystem, default "wgs84"
        The geometries' system, named in the message.
    max_edge_vertices, max_vertices : int
        The most vertices one edge, and all geometries together, may end with.

    Returns
    -------
    int
        An upper bound of the number of vertices after densifying.

    Raises
    ------
    InvalidGeometry
        With code ``too_many_vertices``, saying which limit and by how much.

    Example
    -------
    >>> import shapely
    >>> check_densify([shapely.box(117.2, 39.1, 117.201, 39.101)], 0.0005)
    13
    >>> feet = shapely.box(775_627, 2_956_522, 778_627, 2_959_522)  # Boston, in feet
    >>> check_densify([feet], 0.0005)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    geo.errors.InvalidGeometry: densifying ... would add 5,999,999 vertices to one edge ...
    """
    arr = np.atleast_1d(np.asarray(geoms, dtype=object))
    allowed = (
        f"at most {max_edge_vertices:,} vertices per edge and {max_vertices:,} in all after "
        f"densifying to {max_length:g}: coordinates in the system they are declared in"
    )
    if arr.size == 0:
        return 0
    bounds = shapely.bounds(arr)
    with np.errstate(invalid="ignore"):
        span = np.hypot(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1])
        long_box = np.flatnonzero(span / max_length > max_edge_vertices)
    if long_box.size:
        # only these can hold an edge that long: measure their edges
        rings = shapely.get_rings(shapely.get_parts(arr[long_box]))
        lines = np.concatenate([rings, shapely.get_parts(arr[long_box])])
        lines = lines[np.isin(shapely.get_type_id(lines), (1, 2))]  # line strings and rings
        coords, owner = shapely.get_coordinates(lines, return_index=True)
        same = owner[1:] == owner[:-1]
        edges = np.hypot(*(coords[1:] - coords[:-1]).T)[same]
        longest = float(edges.max()) if edges.size else 0.0
        need = int(np.ceil(longest / max_length)) - 1
        if need > max_edge_vertices:
            raise InvalidGeometry(
                f"densifying to edges of at most {max_length:g} would add {need:,} vertices to "
                f"one edge (at most {max_edge_vertices:,}): an edge {longest:,.0f} long in "
                f"{parse_crs(system)}",
                allowed=allowed,
                code="too_many_vertices",
                edge_vertices=need,
            )
    with np.errstate(invalid="ignore"):
        total = np.nansum(shapely.length(arr)) / max_length
    total += float(shapely.get_num_coordinates(arr).sum())
    if not np.isfinite(total) or total > max_vertices:
        raise InvalidGeometry(
            f"densifying {arr.size:,} geometries to edges of at most {max_length:g} would make "
            f"about {total:,.0f} vertices (at most {max_vertices:,}), far more than a set "
            f"drawn in {parse_crs(system)} needs",
            allowed=allowed,
            code="too_many_vertices",
            vertices=float(total),
        )
    return int(np.ceil(total))


def local_metric_crs(bounds: tuple[float, float, float, float]) -> pyproj.CRS:
    """Choose a projected CRS in metres for an area given by WGS84 bounds: its UTM zone.

    Parameters
    ----------
    bounds : tuple of float
        (min lon, min lat, max lon, max lat) in WGS84.

    Returns
    -------
    pyproj.CRS

    Example
    -------
    >>> local_metric_crs((117.19, 39.05, 117.28, 39.12)).to_epsg()
    32650
    """
    minx, miny, maxx, maxy = bounds
    lon = (minx + maxx) / 2.0
    lat = (miny + maxy) / 2.0
    zone = int(np.floor((lon + 180.0) / 6.0)) % 60 + 1
    return pyproj.CRS.from_epsg((32600 if lat >= 0 else 32700) + zone)
