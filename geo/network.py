"""Street networks for walking service areas: the places reachable along streets in a distance.

A :class:`StreetNetwork` is read from lines (GeoJSON, Shapefile, GeoPackage; with or without
from/to node id columns) or from GraphML (OSMnx style: nodes with ``x``/``y``, edges with an
optional WKT ``geometry``). It is held in a projected CRS in metres and is undirected: people
walk both ways along one-way streets.

The service area of a facility (:func:`network_service_areas`) is built in four steps:

1. The facility is joined to the nearest point of the nearest street; that straight walk counts
   against the distance budget.
2. Shortest distances along the streets reach every node within budget: one compiled
   Dijkstra pass from many facilities at once (``scipy.sparse.csgraph``, :mod:`geo.reach`).
3. Every street reached is kept; a street reached only in part is cut where the budget runs
   out, from either end.
4. The kept streets (joined end to end along the network's strokes, :mod:`geo.strokes`) and
   the walk from the facility are buffered by ``buffer_m`` (default 50 m: the doors along a
   street) and clipped to the circle of the same radius round the facility.
   Nothing is nearer along the streets than in a straight line, so the clip only removes the
   buffer's overshoot at the far ends, and a network area always lies inside the circle.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from os import PathLike
from pathlib import Path
from typing import Any

import geopandas as gpd
import networkx as nx
import numpy as np
import pandas as pd
import pyproj
import shapely
import shapely.ops
from numpy.typing import NDArray

from geo.crs import check_lonlat, local_metric_crs
from geo.errors import InvalidGeometry, NetworkFileError
from geo.reach import (
    nearest_distances,
    reach_blocks,
    service_area_polygons,
    street_matrix,
    street_pieces,
)
from geo.strokes import Strokes, street_strokes

#: Default width of the band kept on each side of a reachable street, in metres.
DEFAULT_BUFFER_M = 50.0
#: Default distance under which two line ends are the same node when no node ids are given.
DEFAULT_NODE_TOLERANCE_M = 0.5


def points_in_crs(
    points: gpd.GeoDataFrame | gpd.GeoSeries, target: pyproj.CRS, *, what: str = "points"
) -> NDArray[np.object_]:
    """Point geometries of a frame, checked and projected to ``target``.

    Parameters
    ----------
    points : GeoDataFrame or GeoSeries
        Point geometries with a CRS (GCJ-02 or BD-09 data: convert first with
        :func:`geo.crs.transform_geometries`, since they have no EPSG code).
    target : pyproj.CRS
    what : str
        What the points are, for error messages.

    Returns
    -------
    ndarray of shapely.Point

    Raises
    ------
    InvalidGeometry
        A missing, empty or non-point geometry, or no CRS.
    InvalidCoordinates
        Geographic coordinates that are not finite or out of range.

    Example
    -------
    >>> import geopandas as gpd, pyproj
    >>> pts = gpd.GeoSeries.from_xy([117.2], [39.1], crs=4326)
    >>> [p] = points_in_crs(pts, pyproj.CRS.from_epsg(32650))
    >>> round(p.x), round(p.y)
    (517294, 4327893)
    """
    series = points.geometry if isinstance(points, gpd.GeoDataFrame) else points
    if len(series) == 0:
        return np.empty(0, dtype=object)
    if series.crs is None:
        raise InvalidGeometry(
            f"{what} have no coordinate system",
            allowed="a GeoDataFrame or GeoSeries with a CRS, e.g. EPSG:4326",
        )
    geoms = series.to_numpy()
    bad = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    bad |= shapely.get_type_id(geoms) != shapely.GeometryType.POINT
    if bad.any():
        where = np.flatnonzero(bad)
        raise InvalidGeometry(
            f"{where.size} of the {what} are not points; first at position {where[0]}",
            allowed="Point geometries",
            invalid_count=int(where.size),
        )
    if series.crs.is_geographic:
        check_lonlat(shapely.get_x(geoms), shapely.get_y(geoms))
    return series.to_crs(target).to_numpy()


@dataclass(frozen=True, eq=False)
class StreetNetwork:
    """An undirected street network in metres: nodes, and edges with their line geometry.

    Parameters
    ----------
    crs : pyproj.CRS
        The projected CRS (metres) of every coordinate and geometry below.
    node_ids : ndarray
        The node ids as read (from/to ids, GraphML ids, or ``"x y"`` of shared line ends).
    node_xy : ndarray of float, shape (nodes, 2)
    edge_u, edge_v : ndarray of int
        Node positions at the start and at the end of each edge geometry.
    edge_geometry : ndarray of shapely.LineString
        Each edge's line, running from its ``u`` node to its ``v`` node.

    Example
    -------
    >>> import geopandas as gpd, shapely
    >>> lines = gpd.GeoSeries([shapely.LineString([(0, 0), (100, 0)]),
    ...                        shapely.LineString([(100, 0), (100, 50)])], crs=32650)
    >>> net = StreetNetwork.from_lines(lines)
    >>> net.num_nodes, net.num_edges, float(net.edge_length.sum())
    (3, 2, 150.0)
    """

    crs: pyproj.CRS
    node_ids: NDArray[np.object_]
    node_xy: NDArray[np.float64]
    edge_u: NDArray[np.intp]
    edge_v: NDArray[np.intp]
    edge_geometry: NDArray[np.object_]

    @property
    def num_nodes(self) -> int:
        return len(self.node_xy)

    @property
    def num_edges(self) -> int:
        return len(self.edge_geometry)

    @cached_property
    def edge_length(self) -> NDArray[np.float64]:
        """Length of each edge in metres."""
        return shapely.length(self.edge_geometry)

    @cached_property
    def graph(self) -> nx.Graph:
        """The routing graph: nodes are positions, ``length`` the shortest parallel edge."""
        u = np.minimum(self.edge_u, self.edge_v)
        v = np.maximum(self.edge_u, self.edge_v)
        keep = u != v  # a loop never shortens a route
        shortest = (
            pd.DataFrame({"u": u[keep], "v": v[keep], "length": self.edge_length[keep]})
            .groupby(["u", "v"], sort=False)["length"]
            .min()
        )
        graph = nx.Graph()
        graph.add_nodes_from(range(self.num_nodes))
        graph.add_weighted_edges_from(
            zip(
                shortest.index.get_level_values(0).tolist(),
                shortest.index.get_level_values(1).tolist(),
                shortest.to_numpy().tolist(),
                strict=True,
            ),
            weight="length",
        )
        return graph

    @cached_property
    def street_matrix(self) -> Any:
        """The routing graph as a symmetric ``scipy.sparse.csr_array`` (for csgraph)."""
        return street_matrix(self)

    @cached_property
    def strokes(self) -> Strokes:
        """The edges chained into strokes, to join reached pieces (:mod:`geo.strokes`)."""
        return street_strokes(self)

    @cached_property
    def _edge_tree(self) -> shapely.STRtree:
        return shapely.STRtree(self.edge_geometry)

    @cached_property
    def _incident(self) -> tuple[NDArray[np.intp], NDArray[np.intp]]:
        """Edges at each node as CSR: edges[indptr[n]:indptr[n + 1]] touch node n."""
        nodes = np.concatenate([self.edge_u, self.edge_v])
        edges = np.concatenate([np.arange(self.num_edges)] * 2)
        order = np.argsort(nodes, kind="stable")
        indptr = np.zeros(self.num_nodes + 1, dtype=np.intp)
        np.cumsum(np.bincount(nodes, minlength=self.num_nodes), out=indptr[1:])
        return indptr, edges[order]

    # -- building ---------------------------------------------------------------------------

    @classmethod
    def from_lines(
        cls,
        lines: gpd.GeoDataFrame | gpd.GeoSeries,
        *,
        from_column: str | None = None,
        to_column: str | None = None,
        metric_crs: pyproj.CRS | str | int | None = None,
        node_tolerance_m: float = DEFAULT_NODE_TOLERANCE_M,
    ) -> StreetNetwork:
        """Build a network from street centre lines.

        With node id columns, the ids say which lines meet (two lines that cross on a bridge
        do not), and a line whose ends are listed the other way round is turned to match: a
        node sits where most of its lines end. Without them, line ends closer than
        ``node_tolerance_m`` (on a grid of that size) are one node. A row with a missing id
        joins the node at its line end, if there is one.

        Parameters
        ----------
        lines : GeoDataFrame or GeoSeries
            LineString or MultiLineString geometries with a CRS. A MultiLineString is merged;
            parts that do not join are chained in order.
        from_column, to_column : str, optional
            Node id columns (e.g. ``FromNode`` and ``ToNode``); both or neither.
        metric_crs : pyproj.CRS, str or int, optional
            The projected CRS to hold the network in; by default the UTM zone of the lines.
        node_tolerance_m : float, default 0.5
            Grid size under which line ends are the same node.

        Returns
        -------
        StreetNetwork

        Raises
        ------
        NetworkFileError
            No CRS, geometries that are not lines, one id column without the other, or
            a missing id column.

        Example
        -------
        >>> import geopandas as gpd, shapely
        >>> lines = gpd.GeoDataFrame({"a": [1, 2], "b": [2, 3]}, crs=32650, geometry=[
        ...     shapely.LineString([(0, 0), (100, 0)]), shapely.LineString([(0, 50), (100, 0)])])
        >>> net = StreetNetwork.from_lines(lines, from_column="a", to_column="b")
        >>> sorted(net.node_ids.tolist()), net.num_edges
        ([1, 2, 3], 2)
        """
        frame = lines if isinstance(lines, gpd.GeoDataFrame) else gpd.GeoDataFrame(geometry=lines)
        if (from_column is None) != (to_column is None):
            raise NetworkFileError(
                "give both node id columns or neither",
                allowed="from_column and to_column together, or no id columns",
            )
        for column in (from_column, to_column):
            if column is not None and column not in frame.columns:
                raise NetworkFileError(
                    f"no column {column!r} in the street lines",
                    allowed=", ".join(map(str, frame.columns)),
                )
        if frame.crs is None:
            raise NetworkFileError(
                "the street lines have no coordinate system",
                allowed="a file with a CRS, e.g. EPSG:4326",
            )
        geoms = frame.geometry.to_numpy()
        keep = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
        kinds = shapely.get_type_id(geoms[keep])
        lineal = (kinds == shapely.GeometryType.LINESTRING) | (
            kinds == shapely.GeometryType.MULTILINESTRING
        )
        if not lineal.all():
            raise NetworkFileError(
                f"{int((~lineal).sum())} street geometries are not lines",
                allowed="LineString or MultiLineString geometries",
            )
        frame = frame[keep]
        crs = metric_crs_for(frame, metric_crs)
        metric = frame.geometry.to_crs(crs).to_numpy()
        metric = np.array([_single_line(g) for g in metric], dtype=object)
        length = shapely.length(metric)
        metric, frame = metric[length > 0], frame[length > 0]
        starts = shapely.get_coordinates(shapely.get_point(metric, 0))
        ends = shapely.get_coordinates(shapely.get_point(metric, -1))
        if from_column is None or to_column is None:
            return cls._from_ends(crs, metric, starts, ends, node_tolerance_m)
        return cls._from_ids(
            crs,
            metric,
            starts,
            ends,
            frame[from_column].to_numpy(dtype=object),
            frame[to_column].to_numpy(dtype=object),
            node_tolerance_m,
        )

    @classmethod
    def _from_ends(
        cls,
        crs: pyproj.CRS,
        geoms: NDArray[np.object_],
        starts: NDArray[np.float64],
        ends: NDArray[np.float64],
        tolerance: float,
    ) -> StreetNetwork:
        keys = _grid_keys(np.concatenate([starts, ends]), tolerance)
        unique, first, inverse = np.unique(keys, return_index=True, return_inverse=True)
        xy = np.concatenate([starts, ends])[first]
        n = len(geoms)
        ids = np.array([f"{x:.2f} {y:.2f}" for x, y in xy], dtype=object)
        return cls(crs, ids, xy, inverse[:n].astype(np.intp), inverse[n:].astype(np.intp), geoms)

    @classmethod
    def _from_ids(
        cls,
        crs: pyproj.CRS,
        geoms: NDArray[np.object_],
        starts: NDArray[np.float64],
        ends: NDArray[np.float64],
        from_ids: NDArray[np.object_],
        to_ids: NDArray[np.object_],
        tolerance: float,
    ) -> StreetNetwork:
        start_key, end_key = np.split(_grid_keys(np.concatenate([starts, ends]), tolerance), 2)
        has_ids = ~(pd.isna(from_ids) | pd.isna(to_ids))
        f, t = from_ids[has_ids], to_ids[has_ids]
        sk, ek = start_key[has_ids], end_key[has_ids]
        # A node sits at the line end most of its lines share: with two or more lines that is
        # unambiguous. A dead end (one line) sits at the end its neighbour does not.
        table = pd.DataFrame(
            {"node": np.concatenate([f, f, t, t]), "key": np.concatenate([sk, ek, sk, ek])}
        )
        counts = table.value_counts(["node", "key"]).reset_index(name="n")
        best = counts.sort_values(["node", "n"], ascending=[True, False], kind="stable")
        best = best.drop_duplicates("node")
        location = dict(zip(best["node"][best["n"] >= 2], best["key"][best["n"] >= 2], strict=True))
        key_xy: dict[Any, NDArray[np.float64]] = {}
        for key, xy in zip(
            np.concatenate([start_key, end_key]), np.concatenate([starts, ends]), strict=True
        ):
            key_xy.setdefault(key, xy)
        for a, b, s, e in zip(f, t, sk, ek, strict=True):
            for node, other in ((a, b), (b, a)):
                if node in location:
                    continue
                if other in location:  # the end further from the neighbour
                    there = key_xy[location[other]]
                    near_start = np.hypot(*(key_xy[s] - there)) <= np.hypot(*(key_xy[e] - there))
                    location[node] = e if near_start else s
                else:  # a lone line: trust the ids' order
                    location[node] = s if node == a else e
        # rows without ids join the node at their end, or a new node there
        by_key = {key: node for node, key in location.items()}
        from_all, to_all = from_ids.copy(), to_ids.copy()
        for i in np.flatnonzero(~has_ids):
            for ids, key in ((from_all, start_key[i]), (to_all, end_key[i])):
                if pd.isna(ids[i]):
                    ids[i] = by_key.setdefault(key, f"end {key}")
                    location.setdefault(ids[i], key)
        node_ids = np.array(list(location), dtype=object)
        position = {node: i for i, node in enumerate(node_ids)}
        u = np.array([position[x] for x in from_all], dtype=np.intp)
        v = np.array([position[x] for x in to_all], dtype=np.intp)
        keys = np.array([location[x] for x in node_ids], dtype=object)
        xy = np.array([key_xy[k] for k in keys], dtype=np.float64).reshape(-1, 2)
        # turn lines listed the other way round, so each runs from u to v; where the ids
        # agree with neither end (a digitising gap), the end nearer the node counts
        at_start = start_key == keys[u]
        at_end = end_key == keys[u]
        nearer_end = np.hypot(*(ends - xy[u]).T) < np.hypot(*(starts - xy[u]).T)
        flip = ~at_start & (at_end | nearer_end)
        geoms = geoms.copy()
        geoms[flip] = shapely.reverse(geoms[flip])
        return cls(crs, node_ids, xy, u, v, geoms)

    @classmethod
    def from_graphml(
        cls, path: str | PathLike[str], *, metric_crs: pyproj.CRS | str | int | None = None
    ) -> StreetNetwork:
        """Read a GraphML street graph (as written by OSMnx or networkx).

        Nodes need ``x`` and ``y``; edges may carry a WKT ``geometry`` (else a straight line
        between their nodes). The coordinate system is the graph's ``crs`` attribute, else
        WGS84. Edge lengths are measured from the geometry, not read.

        Parameters
        ----------
        path : path-like
        metric_crs : pyproj.CRS, str or int, optional
            The projected CRS to hold the network in; by default the graph's UTM zone.

        Returns
        -------
        StreetNetwork

        Raises
        ------
        NetworkFileError
            A file that is not GraphML, or nodes without coordinates.

        Example
        -------
        >>> import networkx as nx, tempfile, os
        >>> g = nx.Graph(crs="EPSG:32650")
        >>> g.add_node("a", x=0.0, y=0.0); g.add_node("b", x=30.0, y=40.0); g.add_edge("a", "b")
        >>> path = os.path.join(tempfile.mkdtemp(), "g.graphml"); nx.write_graphml(g, path)
        >>> float(StreetNetwork.from_graphml(path).edge_length.sum())
        50.0
        """
        try:
            graph = nx.read_graphml(path)
        except Exception as exc:  # networkx raises many kinds for a bad file
            raise NetworkFileError(
                f"cannot read {Path(path).name} as GraphML: {exc}", allowed="a GraphML file"
            ) from None
        source = pyproj.CRS.from_user_input(graph.graph.get("crs", "EPSG:4326"))
        try:
            node_ids = np.array(list(graph.nodes), dtype=object)
            xy = np.array(
                [[float(d["x"]), float(d["y"])] for _, d in graph.nodes(data=True)], dtype=float
            ).reshape(-1, 2)
        except (KeyError, ValueError) as exc:
            raise NetworkFileError(
                f"a node of {Path(path).name} has no usable coordinate: {exc}",
                allowed="nodes with numeric x and y attributes",
            ) from None
        position = {node: i for i, node in enumerate(node_ids)}
        u, v, geoms = [], [], []
        for a, b, data in graph.edges(data=True):
            u.append(position[a])
            v.append(position[b])
            wkt = data.get("geometry")
            geoms.append(
                shapely.from_wkt(wkt)
                if wkt
                else shapely.LineString([xy[position[a]], xy[position[b]]])
            )
        nodes = gpd.GeoSeries(gpd.points_from_xy(xy[:, 0], xy[:, 1]), crs=source)
        crs = metric_crs_for(nodes, metric_crs)
        node_xy = shapely.get_coordinates(nodes.to_crs(crs).to_numpy()).reshape(-1, 2)
        edges = gpd.GeoSeries(geoms, crs=source).to_crs(crs).to_numpy()
        edges = np.array([_single_line(g) for g in edges], dtype=object)
        ua, va = np.array(u, dtype=np.intp), np.array(v, dtype=np.intp)
        # GraphML edges are unordered: turn a line that starts at v so it runs from u to v
        starts = shapely.get_coordinates(shapely.get_point(edges, 0)).reshape(-1, 2)
        flip = np.hypot(*(starts - node_xy[va]).T) < np.hypot(*(starts - node_xy[ua]).T)
        edges[flip] = shapely.reverse(edges[flip])
        keep = shapely.length(edges) > 0
        return cls(crs, node_ids, node_xy, ua[keep], va[keep], edges[keep])

    # -- reaching ---------------------------------------------------------------------------

    def snap(
        self, points: NDArray[np.object_]
    ) -> tuple[NDArray[np.intp], NDArray[np.float64], NDArray[np.float64]]:
        """Nearest edge of each metric point, the distance along it, and the distance to it."""
        if self.num_edges == 0:
            raise NetworkFileError("the street network has no edges", allowed="1 or more lines")
        index, dist = self._edge_tree.query_nearest(points, return_distance=True, all_matches=False)
        edge = np.empty(len(points), dtype=np.intp)
        edge[index[0]] = index[1]
        distance = np.empty(len(points))
        distance[index[0]] = dist
        along = shapely.line_locate_point(self.edge_geometry[edge], points)
        return edge, along, distance

    def distances_from(self, point: shapely.Point, max_distance_m: float) -> NDArray[np.float64]:
        """Walking distance from a metric point to every node, inf beyond ``max_distance_m``.

        The point walks straight to the nearest street, then along the streets.
        """
        [edge], [along], [gap] = self.snap(np.array([point], dtype=object))
        return self._node_distances(int(edge), float(along), float(gap), max_distance_m)

    def _node_distances(
        self, edge: int, along: float, gap: float, budget: float
    ) -> NDArray[np.float64]:
        [(_, [dist])] = reach_blocks(
            self, np.array([edge]), np.array([along]), np.array([gap]), budget
        )
        return dist

    def reachable_streets(self, point: shapely.Point, distance_m: float) -> NDArray[np.object_]:
        """The street pieces within ``distance_m`` of a metric point, and the walk to them.

        Returns
        -------
        ndarray of shapely.LineString
            The straight walk from the point to the nearest street first (if any), then whole
            or cut edges, in the network's CRS. Empty when the nearest street is out of reach.
        """
        [edge], [along], [gap] = self.snap(np.array([point], dtype=object))
        edge, along, gap = int(edge), float(along), float(gap)
        if gap > distance_m:
            return np.empty(0, dtype=object)
        dist = self._node_distances(edge, along, gap, distance_m)
        return street_pieces(self, point, edge, along, gap, dist, distance_m)


def read_street_network(
    path: str | PathLike[str],
    *,
    from_column: str | None = None,
    to_column: str | None = None,
    metric_crs: pyproj.CRS | str | int | None = None,
    node_tolerance_m: float = DEFAULT_NODE_TOLERANCE_M,
) -> StreetNetwork:
    """Read a street network from a GraphML file or from a file of lines.

    Parameters
    ----------
    path : path-like
        ``.graphml``, or anything GDAL reads as lines (GeoJSON, Shapefile, GeoPackage).
    from_column, to_column : str, optional
        Node id columns of a line file; without them, shared line ends make the nodes.
    metric_crs : pyproj.CRS, str or int, optional
        The projected CRS to hold the network in; by default the UTM zone of the data.
    node_tolerance_m : float, default 0.5
        Line ends closer than this are one node (line files without id columns).

    Returns
    -------
    StreetNetwork

    Raises
    ------
    NetworkFileError

    Example
    -------
    >>> net = read_street_network("tests/fixtures/cambridge/TRANS_Centerlines.geojson",
    ...                           from_column="FromNode", to_column="ToNode")
    >>> net.num_edges, net.crs.to_epsg()
    (2643, 32619)
    """
    target = Path(path)
    if target.suffix.lower() == ".graphml":
        return StreetNetwork.from_graphml(target, metric_crs=metric_crs)
    try:
        lines = gpd.read_file(target, engine="pyogrio")
    except Exception as exc:  # pyogrio raises several kinds for an unreadable file
        raise NetworkFileError(
            f"cannot read {target.name}: {exc}",
            allowed=".graphml, or a GeoJSON, Shapefile or GeoPackage of lines",
        ) from None
    return StreetNetwork.from_lines(
        lines,
        from_column=from_column,
        to_column=to_column,
        metric_crs=metric_crs,
        node_tolerance_m=node_tolerance_m,
    )


def network_service_areas(
    network: StreetNetwork,
    facilities: gpd.GeoDataFrame | gpd.GeoSeries,
    distance_m: float,
    *,
    buffer_m: float = DEFAULT_BUFFER_M,
    quad_segs: int = 16,
    workers: int | None = None,
) -> gpd.GeoSeries:
    """The walking service area of each facility along the streets (see the module notes).

    Parameters
    ----------
    network : StreetNetwork
    facilities : GeoDataFrame or GeoSeries
        Points with a CRS.
    distance_m : float
        Walking distance budget in metres (speed x minutes).
    buffer_m : float, default 50
        Band kept on each side of a reachable street.
    quad_segs : int, default 16
        Segments per quarter circle, for the buffers and the clipping circle.
    workers : int, optional
        Threads joining the bands (default: the CPUs, at most 4).

    Returns
    -------
    geopandas.GeoSeries
        One polygon per facility (empty when no street is in reach), index as the
        facilities, in ``network.crs``.

    Example
    -------
    >>> import geopandas as gpd, shapely
    >>> net = StreetNetwork.from_lines(gpd.GeoSeries(
    ...     [shapely.LineString([(0, 0), (1000, 0)])], crs=32650))
    >>> fac = gpd.GeoSeries([shapely.Point(0, 10)], crs=32650)
    >>> [area] = network_service_areas(net, fac, 210.0, buffer_m=5.0)
    >>> round(area.bounds[2])    # 10 m to the street, 200 m along it, 5 m beyond its end
    205
    """
    points = points_in_crs(facilities, network.crs, what="facilities")
    # the pieces are joined along strokes, then buffered line by line and unioned: GEOS
    # takes several times longer to union the bands of hundreds of short pieces
    areas = service_area_polygons(network, points, distance_m, buffer_m, quad_segs, workers=workers)
    index = facilities.index
    return gpd.GeoSeries(np.array(areas, dtype=object), index=index, crs=network.crs)


def network_distances(
    network: StreetNetwork,
    facilities: gpd.GeoDataFrame | gpd.GeoSeries,
    max_distance_m: float,
) -> NDArray[np.float64]:
    """Walking distance from each node to its nearest facility, inf beyond ``max_distance_m``.

    Parameters
    ----------
    network : StreetNetwork
    facilities : GeoDataFrame or GeoSeries
        Points with a CRS.
    max_distance_m : float

    Returns
    -------
    ndarray of float
        One value per node (``network.node_ids`` order).

    Example
    -------
    >>> import geopandas as gpd, shapely
    >>> net = StreetNetwork.from_lines(gpd.GeoSeries(
    ...     [shapely.LineString([(0, 0), (100, 0), (300, 0)])], crs=32650))
    >>> network_distances(net, gpd.GeoSeries([shapely.Point(30, 0)], crs=32650), 200).tolist()
    [30.0, inf]
    """
    points = points_in_crs(facilities, network.crs, what="facilities")
    if len(points) == 0:
        return np.full(network.num_nodes, np.inf)
    edge, along, gap = network.snap(points)
    return nearest_distances(network, edge, along, gap, max_distance_m)


def metric_crs_for(
    frame: gpd.GeoDataFrame | gpd.GeoSeries, metric_crs: pyproj.CRS | str | int | None = None
) -> pyproj.CRS:
    """The CRS in metres to work in: ``metric_crs`` if given, else the frame's own CRS if it is
    projected in metres, else the UTM zone of the frame's WGS84 bounds.

    Example
    -------
    >>> import geopandas as gpd
    >>> metric_crs_for(gpd.GeoSeries.from_xy([117.2], [39.1], crs=4326)).to_epsg()
    32650
    """
    if metric_crs is not None:
        return pyproj.CRS.from_user_input(metric_crs)
    if frame.crs is not None and frame.crs.is_projected:
        crs = pyproj.CRS.from_user_input(frame.crs)
        if crs.axis_info and crs.axis_info[0].unit_name in ("metre", "meter"):
            return crs  # already in metres (a state plane in feet is not)
    bounds = frame.to_crs(4326).total_bounds
    return local_metric_crs(tuple(float(b) for b in bounds))  # type: ignore[arg-type]


def _single_line(geom: shapely.Geometry) -> shapely.Geometry:
    """A LineString from a line or multi-line (parts merged, else chained in order)."""
    if isinstance(geom, shapely.LineString):
        return geom
    merged = shapely.line_merge(geom)
    if isinstance(merged, shapely.LineString):
        return merged
    return shapely.LineString(shapely.get_coordinates(geom))


def _grid_keys(xy: NDArray[np.float64], tolerance: float) -> NDArray[Any]:
    """One hashable key per point: its cell on a grid of ``tolerance`` metres."""
    cells = np.round(xy / tolerance).astype(np.int64)
    return np.array([f"{a} {b}" for a, b in cells], dtype=object)


__all__: Sequence[str] = (
    "DEFAULT_BUFFER_M",
    "NetworkFileError",
    "StreetNetwork",
    "network_distances",
    "metric_crs_for",
    "network_service_areas",
    "points_in_crs",
    "read_street_network",
)
