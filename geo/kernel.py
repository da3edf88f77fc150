"""A compiled point-in-polygon index: a uniform grid of cells over a layer of polygons.

Each cell lists the polygons touching it, smallest code first. A cell that no edge of a
polygon comes near and whose centre that polygon covers is *interior*: any point in it is
covered without a test. In a *boundary* cell the point is tested with the crossing number
against the polygon's edges that can matter there (those spanning the cell's row, not wholly to
its left; or, where that is fewer, not wholly to its right, for a ray to the left), with exact
detection of points on a vertex or an edge (``covers`` semantics).

The sign of each orientation is trusted only beyond its floating-point error bound (Shewchuk's
``orient2d`` filter); a point too close to an edge to decide in double precision is reported
*ambiguous*, and the caller answers it with shapely (GEOS's robust predicates). The answers are
therefore exactly shapely's ``intersects`` (a point on the boundary counts), and the smallest
code wins where polygons share an edge or a vertex.

The compiled functions are cached on disk (numba ``cache=True``) when the package folder, or
``NUMBA_CACHE_DIR``, is writable; otherwise they are compiled once per process.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely
from numba import njit, prange
from numpy.typing import NDArray

from geo.imports import numba_can_cache

_CACHE = numba_can_cache(__file__)
#: Bound on the relative error of a double-precision 2x2 orientation (3.3e-16, rounded up).
_ORIENT_ERR = 1e-15
#: From this many points on, look them up in the order of the cells they fall in.
_SORT_MIN = 20_000
#: Kinds of answer for a point.
FOUND, SNAP, OUT, AMBIGUOUS = 0, 1, 2, 3


@njit(cache=_CACHE, nogil=True)
def _pip(px, py, ids, start, end, edges):
    """Crossing number over the edges ``ids[start:end]``: 1 covered, 0 not, -1 undecidable."""
    inside = False
    for k in range(start, end):
        e = ids[k]
        x1 = edges[e, 0]
        y1 = edges[e, 1]
        x2 = edges[e, 2]
        y2 = edges[e, 3]
        if (x1 == px and y1 == py) or (x2 == px and y2 == py):
            return 1
        if (y1 > py) != (y2 > py):
            left = (x2 - x1) * (py - y1)
            right = (px - x1) * (y2 - y1)
            if left == 0.0 and right == 0.0:
                return 1  # exactly on the edge
            det = left - right
            if abs(det) <= _ORIENT_ERR * (abs(left) + abs(right)):
                return -1
            if (det > 0.0) == (y2 > y1):
                inside = not inside
        elif y1 == py and y2 == py and min(x1, x2) <= px <= max(x1, x2):
            return 1
    return 1 if inside else 0


@njit(cache=_CACHE, nogil=True)
def _order(x, y, grid_f, grid_i, layer, block):
    """The points (their positions, x and y) in the order of a layer's cells, row by row in
    runs of ``block`` cells (a counting sort): neighbours are looked up together, so the
    arrays of the row stay in the CPU's caches."""
    x0 = grid_f[layer, 0]
    y0 = grid_f[layer, 1]
    w = grid_f[layer, 2] * block
    h = grid_f[layer, 3]
    row = (grid_i[layer, 0] + block - 1) // block + 2  # a bucket each side for points beyond
    rows = grid_i[layer, 1] + 2
    bucket = np.empty(x.size, dtype=np.int32)
    start = np.zeros(row * rows + 1, dtype=np.int64)
    for i in range(x.size):
        bx = min(max(int((x[i] - x0) / w) + 1, 0), row - 1)
        by = min(max(int((y[i] - y0) / h) + 1, 0), rows - 1)
        b = by * row + bx
        bucket[i] = b
        start[b + 1] += 1
    for b in range(1, start.size):
        start[b] += start[b - 1]
    order = np.empty(x.size, dtype=np.int64)
    xs = np.empty(x.size)
    ys = np.empty(x.size)
    for i in range(x.size):
        b = bucket[i]
        o = start[b]
        order[o] = i
        xs[o] = x[i]
        ys[o] = y[i]
        start[b] += 1
    return order, xs, ys


@njit(cache=_CACHE, nogil=True)
def _locate_run(
    lo, hi, x, y, order, plan, grid_f, grid_i, cell_start, entries, ids, edges, unit, kind
):
    """Each point ``lo:hi`` of (x, y) gets its unit (-1 none) and its kind (FOUND, SNAP, OUT or
    AMBIGUOUS) at its place ``order[o]`` in the output. ``plan`` lists the layers to ask: the
    extent, the unit layers deepest first, then the snap zone.

    (One function with everything written out: a call to a compiled function that takes
    arrays costs more than a lookup in an interior cell.)"""
    last = plan.size - 1
    for o in range(lo, hi):
        i = order[o]
        px = x[o]
        py = y[o]
        step = 0
        while True:
            layer = plan[step]
            # the value of the first polygon of the layer covering the point, -1 none,
            # -2 undecidable; ``entries`` rows are (value, first edge id, end, kind: 1 interior,
            # 0 a boundary entry with the ray to the right, 2 to the left)
            found = -1
            fx = (px - grid_f[layer, 0]) / grid_f[layer, 2]
            fy = (py - grid_f[layer, 1]) / grid_f[layer, 3]
            nx = grid_i[layer, 0]
            if fx >= 0.0 and fy >= 0.0 and fx < nx and fy < grid_i[layer, 1]:
                c = grid_i[layer, 2] + int(fy) * nx + int(fx)
                for k in range(cell_start[c], cell_start[c + 1]):
                    if entries[k, 3] == 1:
                        found = entries[k, 0]
                        break
                    to_left = entries[k, 3] == 2
                    # the crossing number over the entry's edges (as in _pip)
                    inside = False
                    on = 0  # 1 on the boundary, -1 undecidable
                    for q in range(entries[k, 1], entries[k, 2]):
                        e = ids[q]
                        x1 = edges[e, 0]
                        y1 = edges[e, 1]
                        x2 = edges[e, 2]
                        y2 = edges[e, 3]
                        if (x1 == px and y1 == py) or (x2 == px and y2 == py):
                            on = 1
                            break
                        if (y1 > py) != (y2 > py):
                            left = (x2 - x1) * (py - y1)
                            right = (px - x1) * (y2 - y1)
                            if left == 0.0 and right == 0.0:
                                on = 1
                                break
                            det = left - right
                            if abs(det) <= _ORIENT_ERR * (abs(left) + abs(right)):
                                on = -1
                                break
                            if ((det > 0.0) == (y2 > y1)) != to_left:
                                inside = not inside
                        elif y1 == py and y2 == py and min(x1, x2) <= px <= max(x1, x2):
                            on = 1
                            break
                    if on == -1:
                        found = -2
                        break
                    if on == 1 or inside:
                        found = entries[k, 0]
                        break
            if found == -2:
                unit[i] = -1
                kind[i] = 3
                break
            if step == last:  # the snap zone
                unit[i] = -1
                kind[i] = 1 if found >= 0 else 2
                break
            if step > 0 and found >= 0:
                unit[i] = found
                kind[i] = 0
                break
            # inside the extent: the next level up; outside it (or above the top): the zone
            step = step + 1 if found >= 0 or step > 0 else last


@njit(cache=_CACHE, nogil=True)
def _locate_point(px, py, plan, grid_f, grid_i, cell_start, entries, ids, edges):
    """:func:`_locate_run` for one point: (unit, kind)."""
    x = np.full(1, px)
    y = np.full(1, py)
    unit = np.empty(1, dtype=np.int64)
    kind = np.empty(1, dtype=np.int8)
    _locate_run(
        0, 1, x, y, np.zeros(1, dtype=np.int64), plan, grid_f, grid_i, cell_start, entries,
        ids, edges, unit, kind,
    )  # fmt: skip
    return unit[0], kind[0]


@njit(cache=_CACHE, nogil=True, parallel=True)
def _locate_parallel(
    runs, x, y, order, plan, grid_f, grid_i, cell_start, entries, ids, edges, unit, kind
):
    """:func:`_locate_run` over ``runs`` consecutive runs of the order, on every core."""
    step = (x.size + runs - 1) // runs
    for r in prange(runs):
        _locate_run(
            r * step,
            min((r + 1) * step, x.size),
            x,
            y,
            order,
            plan,
            grid_f,
            grid_i,
            cell_start,
            entries,
            ids,
            edges,
            unit,
            kind,
        )


@njit(cache=_CACHE, nogil=True)
def _take_rows(table, positions, out, lo, hi):
    """Rows ``lo:hi`` of ``out``: the rows of a 2-d table by position, -1 for position -1."""
    for i in range(lo, hi):
        p = positions[i]
        for j in range(table.shape[1]):
            out[i, j] = table[p, j] if p >= 0 else -1


@njit(cache=_CACHE, nogil=True, parallel=True)
def _take_rows_parallel(table, positions, out, runs):
    """:func:`_take_rows` in ``runs`` runs on every core."""
    step = (positions.size + runs - 1) // runs
    for r in prange(runs):
        _take_rows(table, positions, out, r * step, min((r + 1) * step, positions.size))


def take_rows(table: NDArray[np.intp], positions: NDArray[np.intp]) -> NDArray[np.intp]:
    """Rows of an integer table (or items of a 1-d one) by position, -1 for position -1: one
    pass, where numpy takes the rows and then masks them.

    Example
    -------
    >>> take_rows(np.array([[1, 2], [3, 4]]), np.array([1, -1])).tolist()
    [[3, 4], [-1, -1]]
    >>> take_rows(np.array([5, 6]), np.array([-1, 0])).tolist()
    [-1, 5]
    """
    rows = table.reshape(len(table), -1)
    out = np.empty((positions.size, rows.shape[1]), dtype=table.dtype)
    if positions.size >= _SORT_MIN:
        _take_rows_parallel(rows, positions, out, 16)
    else:
        _take_rows(rows, positions, out, 0, positions.size)
    return out.reshape((positions.size, *table.shape[1:]))


@njit(cache=_CACHE, nogil=True)
def _scan(
    fill,
    minx,
    miny,
    cw,
    ch,
    nx,
    ny,
    margin,
    poly_start,
    edges,
    c_cell,
    c_poly,
    c_inside,
    c_start,
    c_end,
    ids,
):
    """Walk every polygon's cells: count (``fill`` False) or write (True) the cell entries and
    the edge lists of boundary entries. Returns (entries, edge ids)."""
    ex1 = edges[:, 0]
    ey1 = edges[:, 1]
    ex2 = edges[:, 2]
    ey2 = edges[:, 3]
    n_entries = 0
    n_ids = 0
    touched = np.zeros(nx + 2, dtype=np.int64)
    band = np.empty(ex1.size, dtype=np.int64)
    for p in range(poly_start.size - 1):
        s = poly_start[p]
        t = poly_start[p + 1]
        if s == t:
            continue
        bx0 = min(ex1[s:t].min(), ex2[s:t].min())
        bx1 = max(ex1[s:t].max(), ex2[s:t].max())
        by0 = min(ey1[s:t].min(), ey2[s:t].min())
        by1 = max(ey1[s:t].max(), ey2[s:t].max())
        i0 = max(int((bx0 - margin - minx) / cw), 0)
        i1 = min(int((bx1 + margin - minx) / cw), nx - 1)
        j0 = max(int((by0 - margin - miny) / ch), 0)
        j1 = min(int((by1 + margin - miny) / ch), ny - 1)
        for j in range(j0, j1 + 1):
            y0 = miny + j * ch - margin
            y1 = miny + (j + 1) * ch + margin
            nb = 0
            for e in range(s, t):
                if min(ey1[e], ey2[e]) <= y1 and max(ey1[e], ey2[e]) >= y0:
                    band[nb] = e
                    nb += 1
            if nb == 0:
                continue
            # cells of the row that an edge's box reaches (a difference array)
            touched[i0 : i1 + 2] = 0
            for b in range(nb):
                e = band[b]
                a = int((min(ex1[e], ex2[e]) - margin - minx) / cw)
                z = int((max(ex1[e], ex2[e]) + margin - minx) / cw)
                touched[max(a, i0)] += 1
                touched[min(z, i1) + 1] -= 1
            depth = 0
            run_inside = -1  # status of the current run of untouched cells, -1 unknown
            for i in range(i0, i1 + 1):
                depth += touched[i]
                boundary = depth > 0
                if not boundary and run_inside == -1:
                    cx = minx + (i + 0.5) * cw
                    cy = miny + (j + 0.5) * ch
                    run_inside = _pip(cx, cy, band, 0, nb, edges)
                    if run_inside == -1:
                        run_inside = 2  # undecidable centre: keep the cell as a boundary
                if boundary:
                    run_inside = -1
                elif run_inside == 0:
                    continue
                cell = j * nx + i
                interior = not boundary and run_inside == 1
                # the ray goes to whichever side crosses fewer of the row's edges: those not
                # wholly left of the cell (kind 0) or not wholly right of it (kind 2)
                x0 = minx + i * cw - margin
                x1 = minx + (i + 1) * cw + margin
                to_left = False
                if not interior:
                    right = 0
                    left = 0
                    for b in range(nb):
                        e = band[b]
                        right += max(ex1[e], ex2[e]) >= x0
                        left += min(ex1[e], ex2[e]) <= x1
                    to_left = left < right
                if fill:
                    c_cell[n_entries] = cell
                    c_poly[n_entries] = p
                    c_inside[n_entries] = 1 if interior else (2 if to_left else 0)
                    c_start[n_entries] = n_ids
                if not interior:
                    for b in range(nb):
                        e = band[b]
                        if (min(ex1[e], ex2[e]) <= x1) if to_left else (max(ex1[e], ex2[e]) >= x0):
                            if fill:
                                ids[n_ids] = e
                            n_ids += 1
                if fill:
                    c_end[n_entries] = n_ids
                n_entries += 1
    return n_entries, n_ids


@dataclass
class _Layer:
    """One layer's grid, with entries in the layer's own numbering."""

    grid_f: tuple[float, float, float, float]
    grid_i: tuple[int, int]
    cell: NDArray[np.int64]
    value: NDArray[np.int64]
    rank: NDArray[np.int64]
    inside: NDArray[np.int8]  # 1 interior; boundary, the ray to the right (0) or left (2)
    start: NDArray[np.int64]
    end: NDArray[np.int64]
    ids: NDArray[np.int64]
    edges: NDArray[np.float64]  # (n, 4): x1, y1, x2, y2


def _edges(polygons: NDArray[np.object_]) -> tuple[NDArray[np.float64], NDArray[np.int64]]:
    """Every ring edge of the polygons as (x1, y1, x2, y2), grouped by polygon, and the
    start of each polygon's edges."""
    parts, part_of = shapely.get_parts(polygons, return_index=True)
    rings, ring_of = shapely.get_rings(parts, return_index=True)
    coords, coord_of = shapely.get_coordinates(rings, return_index=True)
    same = coord_of[1:] == coord_of[:-1]
    edges = np.column_stack([coords[:-1][same], coords[1:][same]])
    owner = part_of[ring_of[coord_of[:-1][same]]]
    order = np.argsort(owner, kind="stable")
    edges, owner = edges[order], owner[order]
    start = np.searchsorted(owner, np.arange(len(polygons) + 1)).astype(np.int64)
    return np.ascontiguousarray(edges, dtype=np.float64), start


def _ranges(starts: NDArray[np.int64], lengths: NDArray[np.int64]) -> NDArray[np.int64]:
    """The positions ``starts[k] : starts[k] + lengths[k]`` for every k, one after another."""
    total = int(lengths.sum())
    offsets = np.cumsum(lengths) - lengths
    return np.repeat(starts - offsets, lengths) + np.arange(total)


def _build_layer(
    polygons: NDArray[np.object_],
    values: NDArray[np.int64],
    ranks: NDArray[np.int64],
    cells_per_edge: float | None = None,
) -> _Layer:
    edges, start = _edges(polygons)
    if edges.size == 0:
        edges = np.zeros((0, 4))
    bounds = (
        (
            edges[:, [0, 2]].min(),
            edges[:, [1, 3]].min(),
            edges[:, [0, 2]].max(),
            edges[:, [1, 3]].max(),
        )
        if len(edges)
        else (0.0, 0.0, 1.0, 1.0)
    )
    w = max(bounds[2] - bounds[0], 1e-9)
    h = max(bounds[3] - bounds[1], 1e-9)
    if cells_per_edge is None:
        # small polygons (a few dozen edges) reach few cells and a cell's lists stay short on
        # a coarse grid, which is smaller and no slower; large ones cut a row at many edges
        cells_per_edge = 0.25 if len(edges) <= 64 * len(polygons) else 1.0
    # about four cells per polygon, or ``cells_per_edge`` per edge
    cells = int(np.clip(max(4 * len(polygons), cells_per_edge * len(edges)), 256, 1 << 23))
    nx = max(int(np.ceil(np.sqrt(cells * w / h))), 1)
    ny = max(int(np.ceil(cells / nx)), 1)
    # a margin well above the rounding of a coordinate, well below any real distance
    margin = 1e-9 * max(w / nx, h / ny) + 1e-13 * (1.0 + max(abs(v) for v in bounds))
    minx, miny = bounds[0] - margin, bounds[1] - margin
    cw, ch = (w + 2 * margin) / nx * (1 + 1e-9), (h + 2 * margin) / ny * (1 + 1e-9)
    # the polygons' edges in the order of the cells of their centres, row by row: points
    # looked up row by row then read neighbouring memory
    box = np.nan_to_num(shapely.bounds(polygons))
    row = np.clip(((box[:, 1] + box[:, 3]) / 2 - miny) // ch, 0, ny - 1)
    column = np.clip(((box[:, 0] + box[:, 2]) / 2 - minx) // cw, 0, nx - 1)
    spread = np.argsort(row * nx + column, kind="stable")
    values, ranks = values[spread], ranks[spread]
    edges, start = (
        edges[_ranges(start[:-1][spread], np.diff(start)[spread])],
        np.concatenate([[0], np.cumsum(np.diff(start)[spread])]).astype(np.int64),
    )
    empty_i = np.zeros(0, dtype=np.int64)
    n_entries, n_ids = _scan(
        False,
        minx,
        miny,
        cw,
        ch,
        nx,
        ny,
        margin,
        start,
        edges,
        empty_i,
        empty_i,
        np.zeros(0, dtype=np.int8),
        empty_i,
        empty_i,
        empty_i,
    )
    cell = np.empty(n_entries, dtype=np.int64)
    poly = np.empty(n_entries, dtype=np.int64)
    inside = np.empty(n_entries, dtype=np.int8)
    e_start = np.empty(n_entries, dtype=np.int64)
    e_end = np.empty(n_entries, dtype=np.int64)
    ids = np.empty(n_ids, dtype=np.int64)
    _scan(
        True,
        minx,
        miny,
        cw,
        ch,
        nx,
        ny,
        margin,
        start,
        edges,
        cell,
        poly,
        inside,
        e_start,
        e_end,
        ids,
    )
    return _Layer(
        grid_f=(minx, miny, cw, ch),
        grid_i=(nx, ny),
        cell=cell,
        value=values[poly],
        rank=ranks[poly],
        inside=inside,
        start=e_start,
        end=e_end,
        ids=ids,
        edges=edges,
    )


class PointKernel:
    """The compiled locator of a boundary index: the extent, the snap zone, and the units of
    every level, each as a grid layer.

    Parameters
    ----------
    extent, snap_zone : shapely geometry
        The set's extent (points outside it are in no unit) and the zone within which points
        outside every unit can snap.
    levels : list of (polygons, positions, ranks)
        Per level, top first: the polygons, their positions in the set and the rank of their
        codes (the smaller rank wins a shared edge or vertex).

    Example
    -------
    >>> import shapely
    >>> a, b = shapely.box(0, 0, 1, 1), shapely.box(1, 0, 2, 1)
    >>> k = PointKernel(shapely.box(0, 0, 2, 1), shapely.box(-1, -1, 3, 2),
    ...                 [(np.array([a, b]), np.array([0, 1]), np.array([1, 0]))])
    >>> unit, kind = k.locate(np.array([0.5, 1.0, 2.5, 9.0]), np.array([0.5, 0.5, 0.5, 9.0]))
    >>> unit.tolist(), kind.tolist()
    ([0, 1, -1, -1], [0, 0, 1, 2])
    """

    def __init__(
        self,
        extent: shapely.Geometry,
        snap_zone: shapely.Geometry,
        levels: list[tuple[NDArray[np.object_], NDArray[np.intp], NDArray[np.intp]]],
    ) -> None:
        zero = np.zeros(1, dtype=np.int64)
        layers = [
            # finer, for shorter lists of edges in a row: every point is tested against these
            _build_layer(np.array([extent], dtype=object), zero, zero, 8.0),
            _build_layer(np.array([snap_zone], dtype=object), zero, zero, 8.0),
        ]
        for polygons, positions, ranks in levels:
            layers.append(
                _build_layer(polygons, np.asarray(positions, np.int64), np.asarray(ranks, np.int64))
            )
        # the extent, the unit layers deepest first, the snap zone
        self._plan = np.array([0, *range(len(layers) - 1, 1, -1), 1], dtype=np.int64)
        grid_f, grid_i, cells, values, ranks_, inside, starts, ends, ids = ([] for _ in range(9))
        edge_parts = []
        cell0 = edge0 = id0 = 0
        for layer in layers:
            nx, ny = layer.grid_i
            grid_f.append(layer.grid_f)
            grid_i.append((nx, ny, cell0))
            cells.append(layer.cell + cell0)
            values.append(layer.value)
            ranks_.append(layer.rank)
            inside.append(layer.inside)
            starts.append(layer.start + id0)
            ends.append(layer.end + id0)
            ids.append(layer.ids + edge0)
            edge_parts.append(layer.edges)
            cell0 += nx * ny
            edge0 += len(layer.edges)
            id0 += len(layer.ids)
        cell = np.concatenate(cells)
        order = np.lexsort((np.concatenate(ranks_), cell))
        self._grid_f = np.array(grid_f, dtype=np.float64)
        self._grid_i = np.array(grid_i, dtype=np.int64)
        self._cell_start = np.searchsorted(cell[order], np.arange(cell0 + 1)).astype(np.int64)
        self._entries = np.column_stack(
            [
                np.concatenate(values)[order],
                np.concatenate(starts)[order],
                np.concatenate(ends)[order],
                np.concatenate(inside)[order],
            ]
        ).astype(np.int32)
        # each entry's edge ids moved next to those of the entries before it (cell order)
        first = self._entries[:, 1].astype(np.int64)
        length = self._entries[:, 2] - first
        self._ids = np.concatenate(ids)[_ranges(first, length)].astype(np.int32)
        self._entries[:, 2] = np.cumsum(length)
        self._entries[:, 1] = self._entries[:, 2] - length
        self._edges = np.ascontiguousarray(np.concatenate(edge_parts))
        # compiled (or loaded from the cache) now, every way, not in the first request
        self.locate_point(0.0, 0.0)
        table, positions, out = (np.zeros(shape, dtype=np.intp) for shape in ((1, 1), 1, (1, 1)))
        _take_rows(table, positions, out, 0, 1)
        _take_rows_parallel(table, positions, out, 1)
        self.locate(np.zeros(1), np.zeros(1))
        self.locate(np.zeros(1), np.zeros(1), runs=1)

    @property
    def nbytes(self) -> int:
        """Memory held by the kernel's arrays."""
        arrays = (
            self._grid_f,
            self._grid_i,
            self._cell_start,
            self._entries,
            self._ids,
            self._edges,
        )
        return int(sum(a.nbytes for a in arrays))

    def locate(
        self, x: NDArray[np.float64], y: NDArray[np.float64], *, runs: int | None = None
    ) -> tuple[NDArray[np.int64], NDArray[np.int8]]:
        """Per WGS84 point: the position of its unit (-1 none) and its kind: FOUND (in a unit
        of some level), SNAP (in no unit, inside the snap zone), OUT (beyond it) or AMBIGUOUS
        (too close to an edge to decide in double precision: ask shapely).

        From ``_SORT_MIN`` points on (or with ``runs``), the points are sorted by cell and
        located in ``runs`` runs shared among the cores."""
        x = np.ascontiguousarray(x, dtype=np.float64)
        y = np.ascontiguousarray(y, dtype=np.float64)
        unit = np.empty(x.size, dtype=np.int64)
        kind = np.empty(x.size, dtype=np.int8)
        arrays = (
            self._plan,
            self._grid_f,
            self._grid_i,
            self._cell_start,
            self._entries,
            self._ids,
            self._edges,
            unit,
            kind,
        )
        if runs is not None or x.size >= _SORT_MIN:
            order, xs, ys = _order(x, y, self._grid_f, self._grid_i, self._plan[1], 8)
            _locate_parallel(runs or 64, xs, ys, order, *arrays)
        else:
            _locate_run(0, x.size, x, y, np.arange(x.size), *arrays)
        return unit, kind

    def locate_point(self, x: float, y: float) -> tuple[int, int]:
        """:meth:`locate` for one point, without arrays: (unit, kind).

        Example
        -------
        >>> import shapely
        >>> s = shapely.box(0, 0, 1, 1)
        >>> k = PointKernel(s, s, [(np.array([s]), np.array([4]), np.array([0]))])
        >>> k.locate_point(0.5, 0.5) == (4, FOUND), k.locate_point(3.0, 0.5) == (-1, OUT)
        (True, True)
        """
        unit, kind = _locate_point(
            x, y, self._plan, self._grid_f, self._grid_i, self._cell_start, self._entries,
            self._ids, self._edges,
        )  # fmt: skip
        return int(unit), int(kind)
