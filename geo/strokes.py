"""Streets as strokes: edges chained end to end through their nodes, straightest pair first.

A service area is the union of the bands round every street piece a facility reaches
(:mod:`geo.reach`). GEOS joins a few long bands much faster than hundreds of short ones, and
the band round a line is the union of the bands round its parts, so the pieces are joined into
as few lines as possible before they are buffered: consecutive pieces along a stroke become one
line. Strokes are built once per network. At each node the two ends that continue each other
most nearly straight are paired, then the next two among the rest, and so on; the pairs chain
the edges into strokes (a stroke that comes back to where it started is a ring).

The bands of a joined line and of its parts differ only where GEOS approximates arcs: the round
join at a bend of the line against the round caps of the two parts there, a few centimetres
deep at most, and nearly always inside the band of another street.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import shapely
from numpy.typing import NDArray

if TYPE_CHECKING:
    from geo.network import StreetNetwork


@dataclass(frozen=True, eq=False)
class Strokes:
    """Each edge's stroke, its place along it, and the edge's coordinates in stroke order.

    Parameters
    ----------
    stroke, position : ndarray of int
        The stroke of each edge and its place along the stroke (0 first).
    forward : ndarray of bool
        Whether the stroke runs along the edge from its ``u`` node to its ``v`` node.
    coords : ndarray of float, shape (vertices, 2)
        Every edge's vertices, edge after edge, each edge in its stroke's direction.
    first, count : ndarray of int
        Where each edge's vertices start in ``coords``, and how many it has.
    along : ndarray of float
        Distance of each vertex in ``coords`` from its edge's first one, in stroke order.
    """

    stroke: NDArray[np.intp]
    position: NDArray[np.intp]
    forward: NDArray[np.bool_]
    coords: NDArray[np.float64]
    first: NDArray[np.intp]
    count: NDArray[np.intp]
    along: NDArray[np.float64]


def street_strokes(network: StreetNetwork) -> Strokes:
    """Chain the edges of a network into strokes, straightest continuation first.

    Parameters
    ----------
    network : StreetNetwork

    Returns
    -------
    Strokes

    Example
    -------
    A crossing of two straight streets, each drawn as two edges, and a bent dead end:

    >>> import geopandas as gpd, shapely
    >>> from geo.network import StreetNetwork
    >>> net = StreetNetwork.from_lines(gpd.GeoSeries([shapely.LineString(c) for c in (
    ...     [(0, 0), (100, 0)], [(100, 0), (200, 0)], [(100, -100), (100, 0)],
    ...     [(100, 0), (100, 100)], [(200, 0), (250, 50)])], crs=32650))
    >>> s = street_strokes(net)
    >>> s.stroke.tolist(), s.position.tolist()
    ([0, 0, 1, 1, 0], [0, 1, 0, 1, 2])
    """
    n = network.num_edges
    coords, owner = shapely.get_coordinates(network.edge_geometry, return_index=True)
    count = np.bincount(owner, minlength=n).astype(np.intp)
    first = np.zeros(n, dtype=np.intp)
    np.cumsum(count[:-1], out=first[1:])
    last = first + count - 1
    # each end's direction away from its node: end e at u, end n + e at v
    out = np.concatenate([coords[first + 1] - coords[first], coords[last - 1] - coords[last]])
    angle = np.arctan2(out[:, 1], out[:, 0])
    partner = _pair_ends(np.concatenate([network.edge_u, network.edge_v]), angle, n)
    stroke, position, forward = _chain(partner, n)

    # the vertices again, each edge turned to run along its stroke
    offset = np.arange(len(coords)) - np.repeat(first, count)
    turned = np.where(np.repeat(forward, count), offset, np.repeat(count - 1, count) - offset)
    coords = coords[np.repeat(first, count) + turned]
    along = np.zeros(len(coords))
    np.cumsum(np.hypot(*np.diff(coords, axis=0).T), out=along[1:])
    along -= np.repeat(along[first], count)
    return Strokes(stroke, position, forward, coords, first, count, along)


def _pair_ends(node: NDArray[np.intp], angle: NDArray[np.float64], n: int) -> NDArray[np.intp]:
    """The end each edge end continues into at its node (-1: none), straightest pairs first.

    Every round pairs the ends that are each other's straightest free continuation; ties go to
    the lower end numbers, so the straightest free pair at a node is always mutual.
    """
    order = np.argsort(node, kind="stable")
    degree = np.bincount(node)
    start = np.concatenate([[0], np.cumsum(degree)[:-1]])
    d = degree[node[order]]
    x = np.repeat(order, d)
    inner = np.arange(d.sum()) - np.repeat(np.cumsum(d) - d, d)
    y = order[np.repeat(start[node[order]], d) + inner]
    keep = (x % n) != (y % n)  # an edge does not continue into itself
    x, y = x[keep], y[keep]
    turn = np.abs(np.abs((angle[x] - angle[y] + np.pi) % (2 * np.pi) - np.pi) - np.pi)
    rank = np.empty(len(x), dtype=np.intp)
    rank[np.lexsort((np.maximum(x, y), np.minimum(x, y), turn))] = np.arange(len(x))
    partner = np.full(len(node), -1, dtype=np.intp)
    while len(x):
        by = np.lexsort((rank, x))
        x, y, rank = x[by], y[by], rank[by]
        head = np.ones(len(x), dtype=bool)
        head[1:] = x[1:] != x[:-1]
        best = np.full(len(node), -1, dtype=np.intp)
        best[x[head]] = y[head]
        mutual = x[head][best[y[head]] == x[head]]
        partner[mutual] = best[mutual]
        free = (partner[x] < 0) & (partner[y] < 0)
        x, y, rank = x[free], y[free], rank[free]
    return partner


def _chain(
    partner: NDArray[np.intp], n: int
) -> tuple[NDArray[np.intp], NDArray[np.intp], NDArray[np.bool_]]:
    """Follow the paired ends from each free end, then round the rings that are left."""
    pair = partner.tolist()
    stroke = [-1] * n
    position = [0] * n
    forward = [True] * n
    count = 0

    def walk(edge: int, side: int) -> None:
        nonlocal count
        place = 0
        while stroke[edge] < 0:
            stroke[edge], position[edge], forward[edge] = count, place, side == 0
            place += 1
            onward = pair[edge + (1 - side) * n]  # out through the other end
            if onward < 0:
                break
            edge, side = onward % n, onward // n
        count += 1

    for edge in range(n):
        if stroke[edge] < 0 and (pair[edge] < 0 or pair[edge + n] < 0):
            walk(edge, 0 if pair[edge] < 0 else 1)
    for edge in range(n):
        if stroke[edge] < 0:
            walk(edge, 0)
    return (
        np.array(stroke, dtype=np.intp),
        np.array(position, dtype=np.intp),
        np.array(forward, dtype=bool),
    )


def stroke_lines(
    network: StreetNetwork,
    edges: NDArray[np.intp],
    whole: NDArray[np.bool_],
    left: NDArray[np.float64],
    right: NDArray[np.float64],
) -> NDArray[np.object_]:
    """The reached street pieces joined along their strokes into as few lines as they make.

    Parameters
    ----------
    network : StreetNetwork
    edges : ndarray of int
        The edges reached.
    whole : ndarray of bool
        Whether each is reached whole.
    left, right : ndarray of float
        The budget left at each edge's ``u`` and ``v`` node (a piece that long from there is
        reached; nothing if not above 0).

    Returns
    -------
    ndarray of shapely.LineString
        Together they cover exactly the pieces (:func:`geo.reach.street_pieces` cuts the same
        ones), no longer than the edges they come from.

    Example
    -------
    Three edges of one straight street: two reached whole, the third 30 m from its start:

    >>> import geopandas as gpd, numpy as np, shapely
    >>> from geo.network import StreetNetwork
    >>> net = StreetNetwork.from_lines(gpd.GeoSeries([shapely.LineString(c) for c in (
    ...     [(0, 0), (100, 0)], [(100, 0), (200, 0)], [(200, 0), (300, 0)])], crs=32650))
    >>> [line] = stroke_lines(net, np.array([0, 1, 2]), np.array([True, True, False]),
    ...                       np.array([250.0, 150.0, 30.0]), np.array([150.0, 50.0, -np.inf]))
    >>> line.length, line.coords[-1]
    (230.0, (230.0, 0.0))
    """
    s = network.strokes
    if len(edges) == 0:
        return np.empty(0, dtype=object)
    forward = s.forward[edges]
    length = network.edge_length[edges]
    start = np.where(forward, left, right)  # budget at the end the stroke enters by
    end = np.where(forward, right, left)
    # the pieces along the stroke: whole edges, and the cut ends from either node
    from_start = ~whole & (start > 0)
    from_end = ~whole & (end > 0)
    piece_edge = np.concatenate([edges[whole], edges[from_start], edges[from_end]])
    low = np.concatenate([np.zeros(whole.sum()), np.zeros(from_start.sum()),
                          (length - end)[from_end]])  # fmt: skip
    high = np.concatenate([length[whole], start[from_start], length[from_end]])
    at_start = np.concatenate([np.ones(whole.sum() + from_start.sum(), bool),
                               np.zeros(from_end.sum(), bool)])  # fmt: skip
    at_end = np.concatenate([np.ones(whole.sum(), bool), np.zeros(from_start.sum(), bool),
                             np.ones(from_end.sum(), bool)])  # fmt: skip
    by = np.lexsort((low, s.position[piece_edge], s.stroke[piece_edge]))
    piece_edge, low, high = piece_edge[by], low[by], high[by]
    at_start, at_end = at_start[by], at_end[by]
    full = network.edge_length[piece_edge]

    # each piece's points: its first, the edge's vertices strictly inside it, its last
    first = s.first[piece_edge]
    count = s.count[piece_edge]
    pieces = len(piece_edge)
    owner = np.repeat(np.arange(pieces), count)
    inner = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    vertex = np.repeat(first, count) + inner
    inside = (inner > 0) & (inner < count[owner] - 1)
    inside &= (s.along[vertex] > low[owner]) & (s.along[vertex] < high[owner])
    head = s.coords[first].copy()
    tail = s.coords[first + count - 1].copy()
    cut = (low > 0) | (high < full)
    if cut.any():  # the cut points, on each cut piece's edge turned to run along its stroke
        pick = np.flatnonzero(cut[owner])
        turned = shapely.linestrings(
            s.coords[vertex[pick]], indices=np.cumsum(cut)[owner[pick]] - 1
        )
        late = low[cut] > 0
        head[np.flatnonzero(cut)[late]] = shapely.get_coordinates(
            shapely.line_interpolate_point(turned[late], low[cut][late])
        )
        early = high[cut] < full[cut]
        tail[np.flatnonzero(cut)[early]] = shapely.get_coordinates(
            shapely.line_interpolate_point(turned[early], high[cut][early])
        )
    # a piece continues the line before it where both meet at the node between their edges
    stroke, position = s.stroke[piece_edge], s.position[piece_edge]
    joined = np.zeros(pieces, dtype=bool)
    joined[1:] = (
        (stroke[1:] == stroke[:-1])
        & (position[1:] == position[:-1] + 1)
        & at_end[:-1]
        & at_start[1:]
        & (tail[:-1] == head[1:]).all(axis=1)
    )
    line = np.cumsum(~joined) - 1
    points = np.concatenate([head[~joined], s.coords[vertex[inside]], tail])
    line_of = np.concatenate([line[~joined], line[owner[inside]], line])
    # in order: a line's pieces in turn, each head first, its inner vertices, its tail
    rank = np.concatenate([np.flatnonzero(~joined) * 2, owner[inside] * 2 + 1,
                           np.arange(pieces) * 2 + 1])  # fmt: skip
    sub = np.concatenate([np.zeros((~joined).sum()), s.along[vertex[inside]],
                          np.full(pieces, np.inf)])  # fmt: skip
    order = np.lexsort((sub, rank))
    return shapely.linestrings(points[order], indices=line_of[order])


__all__: Sequence[str] = ("Strokes", "stroke_lines", "street_strokes")
