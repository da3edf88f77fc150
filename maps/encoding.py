"""Unit polygons for the page in a compact text: quantised, delta- and zigzag-encoded.

``maps/static/wangge/density.js`` decodes it (``wangge.decodeUnits``); every page that draws
polygons (the density and coverage maps) sends them this way, once, and shares them between
its layers.
"""

from __future__ import annotations

import numpy as np
import shapely
from numpy.typing import NDArray

#: Quantisation step of unit vertices, in degrees: 1e-5 is about 1.1 m north-south and 0.9 m
#: east-west in Tianjin, far below what a screen shows of a 50 m micro-grid.
GEOMETRY_STEP_DEG = 1e-5
#: Digits of the geometry encoding (base64url): 0-31 end a number, 32-63 continue it.
ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_ALPHABET_BYTES = np.frombuffer(ALPHABET.encode("ascii"), dtype=np.uint8)


def encode_geometries(
    geoms: NDArray[np.object_], step: float = GEOMETRY_STEP_DEG
) -> tuple[list[int], str]:
    """Encode polygons compactly for the page: ``(origin, text)``.

    Coordinates are rounded to multiples of ``step`` degrees (so neighbours' shared vertices
    stay shared), repeated points and each ring's closing point dropped, and every ring
    written as ``x, y`` differences from the previous point (the first from ``origin``, in
    steps), each number zigzag-encoded in 5-bit groups, low first, with a continuation bit, as
    in Google's polyline algorithm, but written with the base64url alphabet
    (:data:`ALPHABET`) so that no character needs escaping in a script or a template.
    Rings are separated by ``;``, the polygons of a multipolygon by ``:``
    and units by ``!``, so ``text.split("!")`` has one entry per geometry (empty for an
    empty or missing one). Rings that collapse below three points are dropped, with their
    holes when it is an outer ring.

    Parameters
    ----------
    geoms : ndarray of shapely geometries
        Polygons or multipolygons in degrees (EPSG:4326); missing, empty and non-polygon
        geometries become empty entries.
    step : float, default :data:`GEOMETRY_STEP_DEG`
        Quantisation step in degrees; the page multiplies the decoded integers by it.

    Returns
    -------
    origin : list of int
        The smallest ``x`` and ``y`` of all vertices, in steps; the first point of every ring
        is written as its difference from it.
    text : str
        The encoded geometries, one ``!``-separated entry per geometry of ``geoms``.

    Example
    -------
    >>> origin, text = encode_geometries(np.array([shapely.box(0, 0, 0.0001, 0.0001)]))
    >>> origin, text
    ([0, 0], 'UAAUTAAT')
    >>> encode_geometries(np.array([None, shapely.box(0, 0, 0.0001, 0.0001)]))[1].split("!")
    ['', 'UAAUTAAT']
    """
    n = len(geoms)
    parts, part_unit = shapely.get_parts(geoms, return_index=True)
    polygon = shapely.get_type_id(parts) == 3
    parts, part_unit = parts[polygon], part_unit[polygon]
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    coords, coord_ring = shapely.get_coordinates(rings, return_index=True)
    if coords.size == 0:
        return [0, 0], "!" * max(n - 1, 0)
    q = np.round(coords / step).astype(np.int64)
    origin = q.min(axis=0)
    q -= origin
    # drop each ring's closing point, and points equal to the previous one of the same ring
    last = np.r_[coord_ring[1:] != coord_ring[:-1], True]
    same_ring = np.r_[False, coord_ring[1:] == coord_ring[:-1]]
    repeat = same_ring & np.r_[False, (q[1:] == q[:-1]).all(axis=1)]
    keep = ~last & ~repeat
    q, coord_ring = q[keep], coord_ring[keep]
    ring_size = np.bincount(coord_ring, minlength=len(rings))
    ring_ok = ring_size >= 3
    # a polygon whose outer ring collapsed is dropped whole
    first_ring = np.r_[True, ring_part[1:] != ring_part[:-1]]
    part_ok = np.ones(len(parts), dtype=bool)
    part_ok[ring_part[first_ring & ~ring_ok]] = False
    ring_ok &= part_ok[ring_part]
    take = ring_ok[coord_ring]
    q, coord_ring = q[take], coord_ring[take]

    delta = q.copy()
    inner = np.r_[False, coord_ring[1:] == coord_ring[:-1]]
    delta[inner] = q[inner] - q[np.flatnonzero(inner) - 1]
    values = delta.ravel()
    zig = (values << 1) ^ (values >> 63)
    chunks_needed = np.ones(zig.size, dtype=np.int64)
    rest = zig >> 5
    while rest.any():
        chunks_needed += rest > 0
        rest >>= 5
    width = int(chunks_needed.max())
    shifts = 5 * np.arange(width)
    chunks = (zig[:, None] >> shifts) & 31
    more = np.arange(width)[None, :] < (chunks_needed[:, None] - 1)
    digits = chunks + 32 * more
    present = np.arange(width)[None, :] < chunks_needed[:, None]
    blob = _ALPHABET_BYTES[digits[present]].tobytes().decode("ascii")

    # character offset of each kept ring
    value_end = np.cumsum(chunks_needed)
    value_start = value_end - chunks_needed
    ring_ids = np.flatnonzero(ring_ok)
    first_value = 2 * np.searchsorted(coord_ring, ring_ids, side="left")
    last_value = 2 * np.searchsorted(coord_ring, ring_ids, side="right") - 1
    starts, ends = value_start[first_value], value_end[last_value]

    texts: list[list[list[str]]] = [[] for _ in range(n)]
    current_part = -1
    for r, s, e in zip(ring_ids.tolist(), starts.tolist(), ends.tolist(), strict=True):
        part = int(ring_part[r])
        unit = int(part_unit[part])
        if part != current_part:
            texts[unit].append([])
            current_part = part
        texts[unit][-1].append(blob[s:e])
    text = "!".join(":".join(";".join(poly) for poly in unit) for unit in texts)
    return origin.tolist(), text
