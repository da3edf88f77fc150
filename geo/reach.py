"""Walking distances from many facilities in one compiled pass, and the streets they reach.

Each facility becomes a node of its own, joined one way to both ends of its nearest street at
the distance it walks to each end (the straight walk to the street, then along it). One
``scipy.sparse.csgraph.dijkstra`` call then runs from a block of facility nodes at once,
stopped at the distance budget (``limit``): every facility gets its own distances (a service
area per facility needs them), and :func:`nearest_distances` takes the nearest facility per
node in a single multi-source pass (``min_only``). The joins are one way, so no route passes
through a facility. The distances are those of one networkx Dijkstra per end of the
facility's street (:func:`networkx_node_distances`, kept as the reference), up to rounding.

Street pieces (:func:`street_pieces`) and service areas (:func:`service_area_polygons`)
follow the rules in :mod:`geo.network`. A service area joins its pieces along the network's
strokes first (:mod:`geo.strokes`): a few long lines to buffer and union instead of hundreds of
short ones, the same area up to how GEOS draws arcs. The per-facility unions run on a thread
pool (GEOS releases the GIL).
"""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

import networkx as nx
import numpy as np
import scipy.sparse as sp
import shapely
import shapely.ops
from numpy.typing import NDArray
from scipy.sparse.csgraph import dijkstra

from geo.strokes import stroke_lines

if TYPE_CHECKING:
    from geo.network import StreetNetwork

#: Most distance values held at once per block of facilities (8 bytes each: 32 MB).
BLOCK_VALUES = 4_000_000


def street_matrix(network: StreetNetwork) -> sp.csr_array:
    """The routing graph as a symmetric sparse matrix: the shortest of parallel edges, no loops."""
    u = np.minimum(network.edge_u, network.edge_v)
    v = np.maximum(network.edge_u, network.edge_v)
    length = network.edge_length
    keep = u != v  # a loop never shortens a route
    u, v, length = u[keep], v[keep], length[keep]
    order = np.lexsort((length, v, u))
    u, v, length = u[order], v[order], length[order]
    first = np.ones(len(u), dtype=bool)
    first[1:] = (u[1:] != u[:-1]) | (v[1:] != v[:-1])
    u, v, length = u[first], v[first], length[first]
    n = network.num_nodes
    return sp.csr_array(
        (np.concatenate([length, length]), (np.concatenate([u, v]), np.concatenate([v, u]))),
        shape=(n, n),
    )


def _with_facilities(
    network: StreetNetwork,
    edge: NDArray[np.intp],
    along: NDArray[np.float64],
    gap: NDArray[np.float64],
    budget: float,
) -> sp.csr_array:
    """The street matrix with one more node per facility, joined one way to its street's ends."""
    base = network.street_matrix.tocoo()
    n, f = network.num_nodes, len(edge)
    length = network.edge_length[edge]
    u, v = network.edge_u[edge], network.edge_v[edge]
    off_u, off_v = gap + along, gap + length - along
    # a facility on a loop reaches its one node by the shorter way round
    off_u = np.where(u == v, np.minimum(off_u, off_v), off_u)
    rows = np.concatenate([np.arange(n, n + f)] * 2)
    cols = np.concatenate([u, v])
    data = np.concatenate([off_u, np.where(u == v, np.inf, off_v)])
    keep = data <= budget  # explicit zeros stay: a facility on a node reaches it at 0 m
    return sp.csr_array(
        (
            np.concatenate([base.data, data[keep]]),
            (np.concatenate([base.row, rows[keep]]), np.concatenate([base.col, cols[keep]])),
        ),
        shape=(n + f, n + f),
    )


def reach_blocks(
    network: StreetNetwork,
    edge: NDArray[np.intp],
    along: NDArray[np.float64],
    gap: NDArray[np.float64],
    budget: float,
) -> Iterator[tuple[int, NDArray[np.float64]]]:
    """Distances from each facility to every node (inf beyond ``budget``), block by block.

    Parameters
    ----------
    network : StreetNetwork
    edge, along, gap : ndarray
        Each facility's nearest edge, the distance along it and the distance to it
        (:meth:`StreetNetwork.snap`).
    budget : float

    Yields
    ------
    (int, ndarray of shape (block, nodes))
        The position of the block's first facility and its distances.
    """
    n, f = network.num_nodes, len(edge)
    if f == 0:
        return
    graph = _with_facilities(network, edge, along, gap, budget)
    size = max(1, BLOCK_VALUES // (n + f))
    for start in range(0, f, size):
        sources = np.arange(n + start, n + min(f, start + size))
        dist = dijkstra(graph, directed=True, indices=sources, limit=budget)[:, :n]
        dist[dist > budget] = np.inf
        yield start, dist


def nearest_distances(
    network: StreetNetwork,
    edge: NDArray[np.intp],
    along: NDArray[np.float64],
    gap: NDArray[np.float64],
    budget: float,
) -> NDArray[np.float64]:
    """Distance from each node to its nearest facility (inf beyond ``budget``): one pass.

    Example
    -------
    A street of 100 m then 50 m; one facility 10 m off the first street's middle, one at the
    far end of the second:

    >>> import geopandas as gpd, shapely
    >>> from geo.network import StreetNetwork
    >>> net = StreetNetwork.from_lines(gpd.GeoSeries(
    ...     [shapely.LineString([(0, 0), (100, 0)]), shapely.LineString([(100, 0), (100, 50)])],
    ...     crs=32650))
    >>> edge, along, gap = net.snap(shapely.points([(50, 10), (100, 50)]))
    >>> nearest_distances(net, edge, along, gap, 200.0).round(1).tolist()
    [60.0, 50.0, 0.0]
    >>> [d.round(1).tolist() for _, d in reach_blocks(net, edge, along, gap, 70.0)][0]
    [[60.0, 60.0, inf], [inf, 50.0, 0.0]]
    """
    n, f = network.num_nodes, len(edge)
    if f == 0:
        return np.full(n, np.inf)
    graph = _with_facilities(network, edge, along, gap, budget)
    dist = dijkstra(graph, directed=True, indices=np.arange(n, n + f), limit=budget, min_only=True)
    out = np.asarray(dist[:n], dtype=np.float64)
    out[out > budget] = np.inf
    return out


def networkx_node_distances(
    network: StreetNetwork, edge: int, along: float, gap: float, budget: float
) -> NDArray[np.float64]:
    """The reference: one networkx Dijkstra from each end of the facility's street."""
    out = np.full(network.num_nodes, np.inf)
    length = float(network.edge_length[edge])
    for node, offset in (
        (network.edge_u[edge], gap + along),
        (network.edge_v[edge], gap + length - along),
    ):
        if offset > budget:
            continue
        reached = nx.single_source_dijkstra_path_length(
            network.graph, int(node), cutoff=budget - offset, weight="length"
        )
        nodes = np.fromiter(reached.keys(), dtype=np.intp, count=len(reached))
        dist = np.fromiter(reached.values(), dtype=float, count=len(reached)) + offset
        out[nodes] = np.minimum(out[nodes], dist)
    return out


def _reached_edges(
    network: StreetNetwork, dist: NDArray[np.float64], distance_m: float
) -> tuple[NDArray[np.intp], NDArray[np.bool_], NDArray[np.float64], NDArray[np.float64]]:
    """Edges touching a reached node; whether each is reached whole; budget left at each end."""
    indptr, incident = network._incident
    reached = np.flatnonzero(np.isfinite(dist))
    counts = indptr[reached + 1] - indptr[reached]
    starts = np.repeat(indptr[reached] - np.cumsum(counts) + counts, counts)
    edges = np.unique(incident[starts + np.arange(counts.sum())])
    length = network.edge_length[edges]
    left = distance_m - dist[network.edge_u[edges]]  # -inf where unreached
    right = distance_m - dist[network.edge_v[edges]]
    whole = (
        (left >= length) | (right >= length) | ((left > 0) & (right > 0) & (left + right >= length))
    )
    return edges, whole, left, right


def street_pieces(
    network: StreetNetwork,
    point: shapely.Point,
    edge: int,
    along: float,
    gap: float,
    dist: NDArray[np.float64],
    distance_m: float,
    *,
    reached: tuple[NDArray[np.intp], NDArray[np.bool_], NDArray[np.float64], NDArray[np.float64]]
    | None = None,
    whole_geometry: NDArray[np.object_] | None = None,
) -> NDArray[np.object_]:
    """The street pieces reached from a facility, given its node distances.

    The straight walk to the street first (if any), then the whole edges (or
    ``whole_geometry`` of them, e.g. their buffers, in the same order), then the cut ones,
    then the facility's own street both ways from where it joins it. Empty when the nearest
    street is out of reach.
    """
    if gap > distance_m:
        return np.empty(0, dtype=object)
    edges, whole, left, right = reached or _reached_edges(network, dist, distance_m)
    source = network.edge_geometry if whole_geometry is None else whole_geometry
    pieces: list[shapely.Geometry] = list(source[edges[whole]])
    length = network.edge_length[edges]
    for e, a, b, total in zip(
        edges[~whole], left[~whole], right[~whole], length[~whole], strict=True
    ):
        line = network.edge_geometry[e]
        if a > 0:
            pieces.append(shapely.ops.substring(line, 0.0, a))
        if b > 0:
            pieces.append(shapely.ops.substring(line, total - b, total))
    line, left_over = network.edge_geometry[edge], distance_m - gap
    pieces.append(shapely.ops.substring(line, max(0.0, along - left_over), along + left_over))
    joined = shapely.line_interpolate_point(line, along)
    walk = shapely.LineString([point, joined]) if gap > 0 else None
    return np.array(([walk] if walk is not None else []) + pieces, dtype=object)


def service_area_polygons(
    network: StreetNetwork,
    points: NDArray[np.object_],
    distance_m: float,
    buffer_m: float,
    quad_segs: int,
    workers: int | None = None,
) -> list[shapely.Geometry]:
    """The service area of each metric point (see :func:`geo.network.network_service_areas`)."""
    if len(points) == 0:
        return []
    edge, along, gap = network.snap(points)
    network.edge_length, network._incident, network.strokes  # noqa: B018  (not in the threads)
    workers = workers or min(4, os.cpu_count() or 1)
    areas: list[shapely.Geometry] = [shapely.Polygon()] * len(points)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for start, block in reach_blocks(network, edge, along, gap, distance_m):
            futures = []  # one block at a time: its distances are freed before the next
            for row, dist in enumerate(block):
                i = start + row
                if gap[i] > distance_m:
                    continue
                futures.append((i, pool.submit(
                    _one_area, network, points[i], int(edge[i]), float(along[i]),
                    float(gap[i]), dist, distance_m, buffer_m, quad_segs,
                )))  # fmt: skip
            for i, future in futures:
                areas[i] = future.result()
    return areas


def _one_area(
    network: StreetNetwork, point: shapely.Point, edge: int, along: float, gap: float,
    dist: NDArray[np.float64], distance_m: float, buffer_m: float, quad_segs: int,
) -> shapely.Geometry:  # fmt: skip
    # the same pieces as street_pieces, joined along their strokes into a few long lines
    lines = stroke_lines(network, *_reached_edges(network, dist, distance_m))
    line, left_over = network.edge_geometry[edge], distance_m - gap
    own = shapely.ops.substring(line, max(0.0, along - left_over), along + left_over)
    joined = shapely.line_interpolate_point(line, along)
    walk = [shapely.LineString([point, joined])] if gap > 0 else []
    pieces = np.concatenate([np.array([*walk, own], dtype=object), lines])
    band = shapely.union_all(shapely.buffer(pieces, buffer_m, quad_segs=quad_segs))
    return shapely.intersection(band, shapely.buffer(point, distance_m, quad_segs=quad_segs))


__all__: Sequence[str] = (
    "nearest_distances",
    "networkx_node_distances",
    "reach_blocks",
    "service_area_polygons",
    "street_matrix",
    "street_pieces",
)
