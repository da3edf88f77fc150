"""The compiled reach pass against the networkx reference: hand-made cases, a random street
grid and the real Cambridge streets and elderly facilities."""

from __future__ import annotations

import geopandas as gpd
import networkx as nx
import numpy as np
import pytest
import shapely
from shapely import LineString

from geo import reach
from geo.coverage import coverage_by_unit
from geo.network import (
    StreetNetwork,
    network_distances,
    network_service_areas,
    points_in_crs,
    read_street_network,
)
from geo.strokes import stroke_lines
from tests.geo.conftest import CAMBRIDGE, METRIC_CRS


def reference(net: StreetNetwork, points: np.ndarray, budget: float) -> np.ndarray:
    """One networkx Dijkstra per end of each facility's street (the path before scipy)."""
    edge, along, gap = net.snap(points)
    return np.array(
        [
            reach.networkx_node_distances(net, int(e), float(a), float(g), budget)
            for e, a, g in zip(edge, along, gap, strict=True)
        ]
    ).reshape(len(points), net.num_nodes)


def compiled(net: StreetNetwork, points: np.ndarray, budget: float) -> np.ndarray:
    edge, along, gap = net.snap(points)
    out = np.full((len(points), net.num_nodes), np.nan)
    for start, block in reach.reach_blocks(net, edge, along, gap, budget):
        out[start : start + len(block)] = block
    return out


def assert_same_distances(ours: np.ndarray, theirs: np.ndarray) -> None:
    assert ours.shape == theirs.shape
    assert (np.isfinite(ours) == np.isfinite(theirs)).all()
    finite = np.isfinite(theirs)
    np.testing.assert_allclose(ours[finite], theirs[finite], rtol=0, atol=1e-6)


#: How far the joined drawing of an area may lie from the piece-by-piece one: the arcs of the
#: 50 m bands are polygons of 16 segments a quarter, whose corners fall elsewhere when pieces
#: are joined before they are buffered; each drawing is within a sagitta of the true arc.
ARC_SLACK_M = 2 * 50.0 * (1 - np.cos(np.pi / 64)) + 1e-3


def assert_same_area(ours: shapely.Geometry, theirs: shapely.Geometry) -> None:
    """The same area but for the drawing of arcs: every difference hugs today's boundary."""
    diff = shapely.symmetric_difference(ours, theirs)
    assert diff.area <= 1e-4 * theirs.area
    corners = shapely.points(shapely.get_coordinates(diff))
    assert shapely.distance(corners, shapely.boundary(theirs)).max(initial=0.0) <= ARC_SLACK_M


def reference_area(
    net: StreetNetwork, point: shapely.Point, budget: float, buffer_m: float = 50.0
) -> shapely.Geometry:
    """The service area as built before: networkx distances, every piece buffered and joined."""
    [edge], [along], [gap] = net.snap(np.array([point], dtype=object))
    if gap > budget:
        return shapely.Polygon()
    dist = reach.networkx_node_distances(net, int(edge), float(along), float(gap), budget)
    pieces = reach.street_pieces(net, point, int(edge), float(along), float(gap), dist, budget)
    band = shapely.union_all(shapely.buffer(pieces, buffer_m, quad_segs=16))
    return shapely.intersection(band, shapely.buffer(point, budget, quad_segs=16))


def lines(*coords) -> gpd.GeoSeries:
    return gpd.GeoSeries([LineString(c) for c in coords], crs=METRIC_CRS)


# -- hand-made cases ----------------------------------------------------------------------------


def test_facility_on_a_node_reaches_it_at_zero():
    # an explicit zero-length join is an edge of the sparse graph, not a missing one
    net = StreetNetwork.from_lines(lines([(0, 0), (100, 0)], [(100, 0), (100, 100)]))
    pts = np.array([shapely.Point(100, 0), shapely.Point(0, 0)], dtype=object)
    ours = compiled(net, pts, 100)
    assert_same_distances(ours, reference(net, pts, 100))
    by_node = dict(zip(map(tuple, net.node_xy.round(3)), ours[0], strict=True))
    assert by_node == {(0, 0): 100, (100, 0): 0, (100, 100): 100}


def test_facilities_do_not_join_streets():
    # two streets 2 m apart and a facility in the gap, nearer the first: neither it nor a
    # facility on the first street reaches the second (facility nodes are joined one way)
    net = StreetNetwork.from_lines(lines([(0, 0), (100, 0)], [(102, 0), (200, 0)]))
    pts = np.array([shapely.Point(100.9, 0), shapely.Point(50, 0)], dtype=object)
    ours = compiled(net, pts, 500)
    assert_same_distances(ours, reference(net, pts, 500))
    assert np.isinf(ours).sum(axis=1).tolist() == [2, 2]


def test_loop_street_and_budget_edge():
    # a closed loop of 400 m from one node, and a facility 10 m off it: exactly on budget
    # the far node is reached, a hair under it is not
    ring = [(0, 0), (100, 0), (100, 100), (0, 100), (0, 0)]
    net = StreetNetwork.from_lines(lines(ring, [(0, 0), (-50, 0)]))
    pts = np.array([shapely.Point(50, -10)], dtype=object)
    for budget in (10 + 50 + 50, 10 + 50 + 50 - 1e-9, 10 + 50, 5):
        assert_same_distances(compiled(net, pts, budget), reference(net, pts, budget))


def test_blocks_give_the_same_answer(monkeypatch):
    net = StreetNetwork.from_lines(lines(*[[(x, 0), (x + 100, 0)] for x in range(0, 1000, 100)]))
    pts = np.array([shapely.Point(x, 5) for x in range(0, 1000, 37)], dtype=object)
    whole = compiled(net, pts, 300)
    monkeypatch.setattr(reach, "BLOCK_VALUES", 1)  # one facility per block
    assert_same_distances(compiled(net, pts, 300), whole)
    assert_same_distances(whole, reference(net, pts, 300))


def test_no_facilities():
    net = StreetNetwork.from_lines(lines([(0, 0), (100, 0)]))
    none = gpd.GeoSeries([], crs=METRIC_CRS)
    assert len(network_service_areas(net, none, 100)) == 0
    assert np.isinf(network_distances(net, none, 100)).all()


def assert_same_lines(joined: np.ndarray, pieces: np.ndarray) -> None:
    """The joined lines run over exactly the pieces: as long, and nowhere off them."""
    assert shapely.length(joined).sum() == pytest.approx(shapely.length(pieces).sum(), abs=1e-6)
    if len(pieces):
        assert shapely.hausdorff_distance(
            shapely.union_all(joined), shapely.union_all(pieces)
        ) == pytest.approx(0, abs=1e-6)


def joined_and_pieces(net: StreetNetwork, point: shapely.Point, budget: float):
    """A facility's reached pieces as street_pieces cuts them (no walk, no own street), and as
    stroke_lines joins them."""
    [edge], [along], [gap] = net.snap(np.array([point], dtype=object))
    dist = compiled(net, np.array([point], dtype=object), budget)[0]
    reached = reach._reached_edges(net, dist, budget)
    pieces = reach.street_pieces(net, point, int(edge), float(along), float(gap), dist, budget)
    walk = 1 if gap > 0 else 0
    return stroke_lines(net, *reached), pieces[walk:-1] if gap <= budget else pieces


# (streets, facility, budget, lines joined): one commented row per case
JOINED = [
    # a straight street of three edges, reached whole: one line
    ([[(0, 0), (100, 0)], [(100, 0), (200, 0)], [(200, 0), (300, 0)]], (150, 0), 400, 1),
    # the same, cut 50 m past both far nodes: still one line
    ([[(0, 0), (100, 0)], [(100, 0), (200, 0)], [(200, 0), (300, 0)]], (150, 0), 100, 1),
    # a crossing: the straight pairs go on through the node, two lines
    ([[(-100, 0), (0, 0)], [(0, 0), (100, 0)], [(0, -100), (0, 0)], [(0, 0), (0, 100)]],
     (50, 0), 300, 2),
    # an L: the only pair at the corner turns it, one line
    ([[(0, 0), (100, 0)], [(100, 0), (100, 100)]], (50, 0), 500, 1),
    # a loop street from one node and a stub: the stub goes on straight into the loop, one line
    ([[(0, 0), (100, 0), (100, 100), (0, 100), (0, 0)], [(0, 0), (-50, 0)]], (50, -10), 500, 1),
    # a street cut from both ends, not reached in its middle: two lines
    ([[(0, 0), (100, 0)], [(100, 0), (400, 0)], [(400, 0), (500, 0)], [(0, 0), (0, 300)],
      [(0, 300), (500, 300)], [(500, 300), (500, 0)]], (50, 0), 700, 2),
    # reached at a node with nothing left to walk: no line at all
    ([[(0, 0), (100, 0)], [(100, 0), (200, 0)]], (100, 10), 10, 0),
]  # fmt: skip


@pytest.mark.parametrize("streets, facility, budget, count", JOINED)
def test_stroke_lines_join_the_pieces(streets, facility, budget, count):
    net = StreetNetwork.from_lines(lines(*streets))
    joined, pieces = joined_and_pieces(net, shapely.Point(facility), budget)
    assert len(joined) == count
    assert_same_lines(joined, pieces)


# -- a random street grid --------------------------------------------------------------------


@pytest.fixture(scope="module")
def grid() -> StreetNetwork:
    """12 x 12 crossings, jittered, 5% of the streets missing, some bent; seeded."""
    rng = np.random.default_rng(7)
    side = 12
    xy = np.stack(np.meshgrid(np.arange(side) * 90.0, np.arange(side) * 110.0), -1).reshape(-1, 2)
    xy += rng.uniform(-20, 20, xy.shape)
    ids = np.arange(side * side).reshape(side, side)
    pairs = np.concatenate(
        [np.column_stack([ids[:-1].ravel(), ids[1:].ravel()]),
         np.column_stack([ids[:, :-1].ravel(), ids[:, 1:].ravel()])]
    )  # fmt: skip
    pairs = pairs[rng.random(len(pairs)) >= 0.05]
    mids = (xy[pairs[:, 0]] + xy[pairs[:, 1]]) / 2 + rng.uniform(-10, 10, (len(pairs), 2))
    streets = [LineString([xy[a], m, xy[b]]) for (a, b), m in zip(pairs, mids, strict=True)]
    return StreetNetwork.from_lines(gpd.GeoSeries(streets, crs=METRIC_CRS))


@pytest.mark.parametrize("budget", [60.0, 250.0, 700.0, 5000.0])
def test_grid_distances_match_networkx(grid, budget):
    rng = np.random.default_rng(int(budget))
    pts = shapely.points(rng.uniform(-100, 1300, (40, 2)))
    ours = compiled(grid, pts, budget)
    assert_same_distances(ours, reference(grid, pts, budget))
    # the nearest facility in one multi-source pass is the least of the per-facility ones
    nearest = network_distances(grid, gpd.GeoSeries(pts, crs=METRIC_CRS), budget)
    assert_same_distances(nearest, np.min(ours, axis=0))


def test_grid_stroke_lines_join_the_pieces(grid):
    rng = np.random.default_rng(11)
    for point in shapely.points(rng.uniform(-100, 1300, (30, 2))):
        assert_same_lines(*joined_and_pieces(grid, point, float(rng.uniform(50, 900))))


def test_grid_areas_match_the_reference(grid):
    rng = np.random.default_rng(3)
    pts = shapely.points(rng.uniform(0, 1000, (12, 2)))
    ours = network_service_areas(grid, gpd.GeoSeries(pts, crs=METRIC_CRS), 400).to_numpy()
    for area, point in zip(ours, pts, strict=True):
        theirs = reference_area(grid, point, 400)
        assert theirs.area > 0
        assert_same_area(area, theirs)


# -- Cambridge: 23 elderly facilities on 2,643 street segments ------------------------------


@pytest.fixture(scope="module")
def streets() -> StreetNetwork:
    return read_street_network(
        CAMBRIDGE / "TRANS_Centerlines.geojson", from_column="FromNode", to_column="ToNode"
    )


@pytest.fixture(scope="module")
def elderly() -> gpd.GeoDataFrame:
    return gpd.read_file(CAMBRIDGE / "LANDMARK_ElderlyFacilities.geojson", engine="pyogrio")


def test_street_matrix_is_the_networkx_graph(streets):
    matrix = streets.street_matrix
    graph = nx.from_scipy_sparse_array(matrix, edge_attribute="length")
    assert graph.number_of_edges() == streets.graph.number_of_edges()
    for u, v, length in streets.graph.edges(data="length"):
        assert graph[u][v]["length"] == length


def test_cambridge_strokes_chain_the_edges(streets):
    s = streets.strokes
    by = np.lexsort((s.position, s.stroke))
    stroke, position = s.stroke[by], s.position[by]
    # every edge in one stroke, at places 0, 1, 2, ... along it
    starts = np.r_[True, stroke[1:] != stroke[:-1]]
    first_place = np.flatnonzero(starts)[np.cumsum(starts) - 1]
    np.testing.assert_array_equal(position, np.arange(len(by)) - first_place)
    # each edge leaves by the node the next one enters by
    enter = np.where(s.forward, streets.edge_u, streets.edge_v)[by]
    leave = np.where(s.forward, streets.edge_v, streets.edge_u)[by]
    np.testing.assert_array_equal(leave[:-1][~starts[1:]], enter[1:][~starts[1:]])
    assert stroke.max() + 1 < streets.num_edges / 2  # strokes are long: 2,643 edges in 746
    rng = np.random.default_rng(5)
    low, high = streets.node_xy.min(axis=0), streets.node_xy.max(axis=0)
    for point in shapely.points(rng.uniform(low, high, (20, 2))):
        assert_same_lines(*joined_and_pieces(streets, point, 1200.0))


@pytest.mark.parametrize("budget", [400.0, 1200.0])
def test_cambridge_distances_match_networkx(streets, elderly, budget):
    pts = points_in_crs(elderly, streets.crs)
    ours = compiled(streets, pts, budget)
    theirs = reference(streets, pts, budget)
    assert_same_distances(ours, theirs)
    assert np.isfinite(ours).sum() > 10 * len(pts)  # not a trivial agreement
    nearest = network_distances(streets, elderly, budget)
    assert_same_distances(nearest, np.min(theirs, axis=0))


@pytest.mark.slow
def test_cambridge_areas_and_coverage_match_the_reference(cambridge, streets, elderly):
    pts = points_in_crs(elderly, streets.crs)
    ours = network_service_areas(streets, elderly, 1200).to_numpy()
    theirs = np.array([reference_area(streets, p, 1200) for p in pts], dtype=object)
    for area, reference_one in zip(ours, theirs, strict=True):
        assert_same_area(area, reference_one)
    # the coverage answers built on them: the blocks served and the covered area
    result = coverage_by_unit(
        cambridge, "block", elderly, mode="network", network=streets, minutes=15,
        speed_m_per_min=80,
    )  # fmt: skip
    blocks = cambridge.metric_geometries[cambridge.level_positions("block")]
    served = np.zeros(len(blocks), dtype=bool)
    hit = shapely.STRtree(theirs).query(shapely.point_on_surface(blocks), predicate="intersects")
    served[hit[0]] = True
    np.testing.assert_array_equal(result.units["served"].to_numpy(), served)
    covered = shapely.area(shapely.intersection(blocks, shapely.union_all(theirs))).sum()
    assert result.summary["covered_area_m2"] == pytest.approx(covered, rel=1e-6)


@pytest.mark.slow
@pytest.mark.parametrize("budget", [400.0, 1200.0])
def test_cambridge_people_covered_match_the_reference(precincts, streets, elderly, budget):
    """Each precinct's people covered and uncovered, spread over its area: the same, to a
    twentieth of a resident, on the areas drawn piece by piece."""
    bset, population = precincts
    result = coverage_by_unit(
        bset, "precinct", elderly, population, mode="network", network=streets,
        minutes=budget / 80, speed_m_per_min=80,
    )  # fmt: skip
    pts = points_in_crs(elderly, streets.crs)
    theirs = shapely.union_all([reference_area(streets, p, budget) for p in pts])
    crs = result.service_areas.crs
    theirs = gpd.GeoSeries([theirs], crs=streets.crs).to_crs(crs).iloc[0]
    units = result.units
    geoms = bset.units.set_index("code").geometry.loc[units["code"]]
    geoms = gpd.GeoSeries(geoms.to_numpy(), crs=bset.units.crs).to_crs(crs).to_numpy()
    residents = population.set_index("code")["residents"].loc[units["code"]].to_numpy()
    uncovered = residents * shapely.area(shapely.difference(geoms, theirs)) / shapely.area(geoms)
    assert 0.1 * residents.sum() < uncovered.sum() < 0.9 * residents.sum()  # not all or none
    np.testing.assert_allclose(units["uncovered"], uncovered, rtol=0, atol=0.05)
    np.testing.assert_allclose(units["covered"], residents - uncovered, rtol=0, atol=0.05)
    assert round(result.summary["covered"]) == round(float(residents.sum() - uncovered.sum()))
