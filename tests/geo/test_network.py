"""Street networks and walking service areas: hand-made networks and the real Cambridge streets."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from shapely import LineString

from geo.coverage import coverage_by_unit, service_areas, suggest_sites
from geo.errors import NetworkFileError
from geo.network import StreetNetwork, network_distances, network_service_areas, read_street_network
from tests.geo.conftest import CAMBRIDGE, METRIC_CRS

# -- hand-made networks, in metres (EPSG:32650) -----------------------------------------------


def lines(*coords, **columns) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame(columns, geometry=[LineString(c) for c in coords], crs=METRIC_CRS)


def points(*xy) -> gpd.GeoSeries:
    return gpd.GeoSeries([shapely.Point(p) for p in xy], crs=METRIC_CRS)


# (lines, id columns or None, expected nodes, expected edges)
BUILD = [
    # a T-junction: shared line ends make one node
    pytest.param(lines([(0, 0), (100, 0)], [(100, 0), (200, 0)], [(100, 0), (100, 100)]),
                 None, 4, 3, id="t-junction"),
    # ends 0.2 m apart are one node at the default 0.5 m tolerance
    pytest.param(lines([(0, 0), (100, 0)], [(100.2, 0), (200, 0)]), None, 3, 2,
                 id="ends-within-tolerance"),
    # ends 2 m apart are two nodes
    pytest.param(lines([(0, 0), (100, 0)], [(102, 0), (200, 0)]), None, 4, 2,
                 id="ends-apart"),
    # with ids, the ids say what meets, even where the drawn ends are 2 m apart
    pytest.param(lines([(0, 0), (100, 0)], [(102, 0), (200, 0)], a=[1, 2], b=[2, 3]),
                 ("a", "b"), 3, 2, id="ids-join"),
    # a line listed the other way round (from 3 at its end) is turned to match its node ids
    pytest.param(lines([(0, 0), (100, 0)], [(100, 0), (200, 0)], a=[1, 3], b=[2, 2]),
                 ("a", "b"), 3, 2, id="ids-reversed-line"),
    # a row without ids joins the node at its line end
    pytest.param(lines([(0, 0), (100, 0)], [(100, 0), (200, 0)], a=[1, None], b=[2, None]),
                 ("a", "b"), 3, 2, id="missing-ids"),
    # a multi-line street is merged into one edge
    pytest.param(gpd.GeoSeries([shapely.MultiLineString([[(0, 0), (50, 0)], [(50, 0), (90, 0)]])],
                               crs=METRIC_CRS), None, 2, 1, id="multiline-merged"),
]  # fmt: skip


@pytest.mark.parametrize("frame, ids, nodes, edges", BUILD)
def test_build_from_lines(frame, ids, nodes, edges):
    from_column, to_column = ids or (None, None)
    net = StreetNetwork.from_lines(frame, from_column=from_column, to_column=to_column)
    assert (net.num_nodes, net.num_edges) == (nodes, edges)
    # every edge runs from its u node to its v node
    starts = shapely.get_coordinates(shapely.get_point(net.edge_geometry, 0))
    ends = shapely.get_coordinates(shapely.get_point(net.edge_geometry, -1))
    assert np.hypot(*(starts - net.node_xy[net.edge_u]).T).max() < 3.0
    assert np.hypot(*(ends - net.node_xy[net.edge_v]).T).max() < 3.0


def test_reversed_line_reaches_from_the_right_end():
    # 1 -> 2 drawn forwards; 3 -> 2 drawn from node 2's end (from 2 to 3): a facility at
    # node 1 walks 150 m, so 50 m past node 2 towards node 3
    net = StreetNetwork.from_lines(
        lines([(0, 0), (100, 0)], [(100, 0), (200, 0)], a=[1, 3], b=[2, 2]),
        from_column="a",
        to_column="b",
    )
    pieces = net.reachable_streets(shapely.Point(0, 0), 150)
    # the first street whole, 50 m of the second, and the first again as the facility's own
    assert shapely.length(pieces).sum() == pytest.approx(100 + 50 + 100)
    reached = shapely.union_all(pieces)
    assert reached.bounds == pytest.approx((0, 0, 150, 0))


RING = [[(0, 0), (100, 0)], [(100, 0), (100, 100)], [(100, 100), (0, 100)], [(0, 100), (0, 0)]]

# (lines, facility, distance budget, expected length of the streets reached, incl. the walk)
REACH = [
    # 10 m to the street, then 200 m along it
    pytest.param([[(0, 0), (1000, 0)]], (0, 10), 210, 210, id="walk-to-street"),
    # from the middle of a street, 100 m each way
    pytest.param([[(0, 0), (1000, 0)]], (500, 0), 100, 200, id="mid-street"),
    # round a 400 m ring from a corner: 150 m each way
    pytest.param(RING, (0, 0), 150, 300, id="ring-partial"),
    # 250 m each way: the far side is reached from both ends, so the whole ring
    pytest.param(RING, (0, 0), 250, 400, id="ring-whole"),
    # the nearest street is further than the budget: nothing
    pytest.param([[(0, 0), (1000, 0)]], (0, 500), 400, 0, id="street-out-of-reach"),
    # crossing lines without a shared end are not joined (a bridge)
    pytest.param([[(0, 0), (200, 0)], [(100, -100), (100, 100)]], (0, 0), 500, 200,
                 id="bridge-not-joined"),
]  # fmt: skip


@pytest.mark.parametrize("coords, facility, budget, reached", REACH)
def test_reachable_streets(coords, facility, budget, reached):
    net = StreetNetwork.from_lines(lines(*coords))
    pieces = net.reachable_streets(shapely.Point(facility), budget)
    # the union, so the piece a facility's own street adds is not counted twice
    total = shapely.length(shapely.union_all(pieces)) if len(pieces) else 0.0
    assert total == pytest.approx(reached, abs=1e-6)


def test_network_area_is_a_band_inside_the_circle():
    net = StreetNetwork.from_lines(lines([(0, 0), (1000, 0)]))
    [area] = network_service_areas(net, points((500, 0)), 300, buffer_m=20)
    # 600 m of street with 20 m each side; the round ends beyond 300 m are clipped off
    assert area.bounds == pytest.approx((200, -20, 800, 20), abs=1e-6)
    [circle] = service_areas(points((500, 0)), minutes=300 / 50, speed_m_per_min=50)
    assert area.difference(circle).area == pytest.approx(0, abs=1e-6)
    [empty] = network_service_areas(net, points((0, 500)), 300)
    assert empty.is_empty


def test_network_distances_to_nodes():
    net = StreetNetwork.from_lines(lines([(0, 0), (100, 0)], [(100, 0), (100, 300)]))
    distances = network_distances(net, points((30, 0), (100, 290)), 250)
    by_node = dict(zip(map(tuple, net.node_xy.round(3)), distances, strict=True))
    assert by_node == {(0, 0): 30, (100, 0): 70, (100, 300): 10}


def test_bad_network_input():
    with pytest.raises(NetworkFileError):
        StreetNetwork.from_lines(lines([(0, 0), (1, 0)], a=[1]), from_column="a")
    with pytest.raises(NetworkFileError):
        StreetNetwork.from_lines(gpd.GeoSeries([shapely.box(0, 0, 1, 1)], crs=METRIC_CRS))
    with pytest.raises(NetworkFileError):
        StreetNetwork.from_lines(gpd.GeoSeries([LineString([(0, 0), (1, 0)])]))


# -- Cambridge, MA: 23 elderly facilities, 2,643 street segments, 1,044 census blocks ----------
#
# "A block lies within 1,200 m of a facility" here means: its representative point (a point
# inside it, shapely's point_on_surface) lies in a service area. The same rule serves both
# modes, and each network area lies inside the circle of the same radius, so the circles can
# never reach fewer blocks. 1,200 m = 15 minutes at 80 m per minute.

WALK = {"minutes": 15, "speed_m_per_min": 80}


@pytest.fixture(scope="module")
def streets() -> StreetNetwork:
    return read_street_network(
        CAMBRIDGE / "TRANS_Centerlines.geojson", from_column="FromNode", to_column="ToNode"
    )


@pytest.fixture(scope="module")
def elderly() -> gpd.GeoDataFrame:
    return gpd.read_file(CAMBRIDGE / "LANDMARK_ElderlyFacilities.geojson", engine="pyogrio")


def test_cambridge_network(streets):
    assert (streets.num_nodes, streets.num_edges) == (1872, 2643)
    assert streets.edge_length.sum() == pytest.approx(251_594, rel=1e-4)  # 251.6 km
    sizes = sorted(map(len, nx.connected_components(streets.graph)), reverse=True)
    assert sizes == [1870, 2]
    # without the id columns, shared line ends give the same graph
    by_ends = read_street_network(CAMBRIDGE / "TRANS_Centerlines.geojson")
    assert (by_ends.num_nodes, by_ends.num_edges) == (1872, 2643)


@pytest.mark.slow
def test_cambridge_blocks_within_1200_m(cambridge, streets, elderly):
    circle = coverage_by_unit(cambridge, "block", elderly, **WALK)
    network = coverage_by_unit(cambridge, "block", elderly, mode="network", network=streets, **WALK)
    blocks_circle = circle.summary["units_served"]
    blocks_network = network.summary["units_served"]
    assert len(circle.units) == 1044
    assert blocks_circle == pytest.approx(1025, abs=3)
    assert blocks_network == pytest.approx(887, abs=5)
    assert blocks_circle >= blocks_network
    # every block reached along the streets is reached by the circles
    assert not (network.units["served"] & ~circle.units["served"]).any()
    # each network area lies in its circle, at about 46% of its area
    areas_network = network.service_areas.to_numpy()
    areas_circle = circle.service_areas.to_numpy()
    assert shapely.area(shapely.difference(areas_network, areas_circle)).max() < 1e-6
    assert shapely.area(areas_network).sum() / shapely.area(areas_circle).sum() == pytest.approx(
        0.457, abs=0.01
    )
    # by land area: 96.6% of the blocks' area is within 1,200 m in a straight line, 69.9% along
    # the streets (50 m each side)
    share = {
        mode: r.summary["covered_area_m2"] / r.summary["area_m2"]
        for mode, r in (("circle", circle), ("network", network))
    }
    assert share == pytest.approx({"circle": 0.966, "network": 0.699}, abs=0.005)


@pytest.mark.slow
def test_cambridge_blocks_by_nearest_node(cambridge, streets, elderly):
    """The other rule: a block is within reach when the street node nearest its centroid is
    reached within 1,200 m. It counts more blocks, since it ignores how far the block's inside
    is from that node (110 blocks have their representative point over 50 m from any street)."""
    distances = network_distances(streets, elderly, 1200)
    blocks = cambridge.metric_geometries[cambridge.level_positions("block")]
    nodes = shapely.points(streets.node_xy)
    nearest = shapely.STRtree(nodes).query_nearest(shapely.centroid(blocks), all_matches=False)
    assert np.isfinite(distances[nearest[1]]).sum() == pytest.approx(998, abs=5)
    reps = shapely.point_on_surface(blocks)
    off_street = shapely.STRtree(streets.edge_geometry).query_nearest(
        reps, return_distance=True, all_matches=False
    )[1]
    assert (off_street > 50).sum() == pytest.approx(110, abs=3)


@pytest.mark.slow
def test_cambridge_people_within_1200_m(precincts, streets, elderly):
    bset, population = precincts
    total = 118_403  # Cambridge, 2020 census
    circle = coverage_by_unit(bset, "precinct", elderly, population, **WALK)
    network = coverage_by_unit(
        bset, "precinct", elderly, population, mode="network", network=streets, **WALK
    )
    assert circle.summary["residents"] == network.summary["residents"] == total
    # people spread evenly over each precinct's area
    assert circle.summary["covered"] == pytest.approx(115_851, rel=0.005)  # 97.8%
    assert network.summary["covered"] == pytest.approx(95_722, rel=0.005)  # 80.8%
    for result in (circle, network):
        assert result.gaps["residents"].sum() == pytest.approx(result.summary["uncovered"])
    # wards hold the sum of their precincts
    wards = coverage_by_unit(
        bset, "ward", elderly, population, mode="network", network=streets, **WALK
    )
    assert wards.summary["covered"] == pytest.approx(network.summary["covered"])
    # one new site along the streets: it covers people nobody covered before
    [site] = suggest_sites(network, 1).itertuples()
    assert 0 < site.gain <= network.summary["uncovered"]


def test_graphml_reads_the_same_network(tmp_path, streets, elderly):
    """An OSMnx-style GraphML (lon/lat nodes, WKT edge geometry) of the Cambridge streets."""
    raw = gpd.read_file(CAMBRIDGE / "TRANS_Centerlines.geojson", engine="pyogrio")
    lonlat = gpd.GeoSeries(gpd.points_from_xy(*streets.node_xy.T), crs=streets.crs).to_crs(4326)
    graph = nx.MultiGraph(crs="epsg:4326")
    for node, point in zip(streets.node_ids, lonlat, strict=True):
        graph.add_node(str(node), x=str(point.x), y=str(point.y))
    edges = gpd.GeoSeries(streets.edge_geometry, crs=streets.crs).to_crs(4326)
    for u, v, line in zip(streets.edge_u, streets.edge_v, edges, strict=True):
        graph.add_edge(str(streets.node_ids[u]), str(streets.node_ids[v]), geometry=line.wkt)
    path = tmp_path / "cambridge.graphml"
    nx.write_graphml(graph, path)
    assert len(raw) == 2643
    read = read_street_network(path)
    assert (read.num_nodes, read.num_edges) == (streets.num_nodes, streets.num_edges)
    assert read.edge_length.sum() == pytest.approx(streets.edge_length.sum(), rel=1e-6)
    facility = elderly.iloc[:1]
    ours = network_service_areas(streets, facility, 800).iloc[0]
    theirs = network_service_areas(read, facility, 800).iloc[0]
    assert ours.symmetric_difference(theirs).area < 1e-3 * ours.area
