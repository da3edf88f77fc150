"""Tests for geo.partition: pieces tile the polygon exactly, are valid, and are seeded."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from geo.errors import InvalidGeometry
from geo.partition import apportion, partition_coverage, partition_polygon

# Metric coordinates near Tianjin in UTM 50N, so float noise is that of real use.
X0, Y0 = 510_000.0, 4_330_000.0


def _shift(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(geom, lambda xy: xy + (X0, Y0))


SQUARE = _shift(shapely.box(0, 0, 1000, 1000))
L_SHAPE = _shift(
    shapely.Polygon([(0, 0), (1000, 0), (1000, 300), (300, 300), (300, 1000), (0, 1000)])
)
WITH_HOLE = _shift(
    shapely.Polygon(
        [(0, 0), (1000, 0), (1000, 1000), (0, 1000)],
        holes=[[(300, 300), (700, 300), (700, 700), (300, 700)]],
    )
)
TWO_ISLANDS = _shift(
    shapely.MultiPolygon([shapely.box(0, 0, 400, 400), shapely.box(600, 100, 1100, 700)])
)
STRIP = _shift(shapely.box(0, 0, 5000, 40))
COMB = _shift(
    shapely.Polygon(
        [
            (0, 0),
            (900, 0),
            (900, 800),
            (700, 800),
            (700, 100),
            (500, 100),
            (500, 800),
            (300, 800),
            (300, 100),
            (100, 100),
            (100, 800),
            (0, 800),
        ]
    )
)

CASES = [
    pytest.param(SQUARE, 12, id="convex-square"),  # the plain case
    pytest.param(L_SHAPE, 9, id="concave-L"),  # cells cut by the inner corner
    pytest.param(WITH_HOLE, 10, id="hole"),  # no piece may cover the hole
    pytest.param(TWO_ISLANDS, 7, id="multipolygon"),  # a piece may span both islands
    pytest.param(SQUARE, 1, id="n=1"),  # returns the polygon itself
    pytest.param(SQUARE, 2, id="n=2"),  # a single Voronoi edge
    pytest.param(STRIP, 20, id="thin-strip"),  # 125:1 strip, seeds nearly collinear
    pytest.param(COMB, 15, id="comb"),  # narrow teeth cut cells into fragments
    pytest.param(SQUARE, 2000, id="n-large"),  # many small pieces
]


def _overlap_area(pieces: np.ndarray) -> float:
    """Total area shared by any two pieces."""
    left, right = shapely.STRtree(pieces).query(pieces, predicate="intersects")
    pairs = left < right
    shared = shapely.intersection(pieces[left[pairs]], pieces[right[pairs]])
    return float(shapely.area(shared).sum())


@pytest.mark.parametrize(("polygon", "n"), CASES)
def test_pieces_tile_the_polygon(polygon: shapely.Geometry, n: int) -> None:
    pieces = np.array(partition_polygon(polygon, n, np.random.default_rng(3)), dtype=object)

    assert len(pieces) == n
    assert shapely.is_valid(pieces).all()
    assert not shapely.is_empty(pieces).any()
    assert np.isin(shapely.get_type_id(pieces), (3, 6)).all()  # Polygon or MultiPolygon
    assert _overlap_area(pieces) < 1e-6 * polygon.area
    assert shapely.area(pieces).sum() == pytest.approx(polygon.area, rel=1e-9)
    union = shapely.union_all(pieces)
    assert union.area == pytest.approx(polygon.area, rel=1e-9)
    assert shapely.symmetric_difference(union, polygon).area < 1e-9 * polygon.area
    assert shapely.coverage_is_valid(pieces)  # neighbours share vertices exactly


@pytest.mark.parametrize(("polygon", "n"), CASES)
def test_same_seed_same_pieces_other_seed_other_pieces(polygon: shapely.Geometry, n: int) -> None:
    first = shapely.to_wkb(partition_polygon(polygon, n, np.random.default_rng(11)))
    again = shapely.to_wkb(partition_polygon(polygon, n, np.random.default_rng(11)))
    other = shapely.to_wkb(partition_polygon(polygon, n, np.random.default_rng(12)))

    assert list(first) == list(again)
    if n > 1:
        assert list(first) != list(other)


def test_n_equal_one_returns_the_polygon_itself() -> None:
    assert partition_polygon(L_SHAPE, 1, np.random.default_rng(0))[0] is L_SHAPE


def test_pieces_are_roughly_even_and_wiggly() -> None:
    pieces = np.array(partition_polygon(SQUARE, 50, np.random.default_rng(5)), dtype=object)
    area = shapely.area(pieces)
    straight = np.array(
        partition_polygon(SQUARE, 50, np.random.default_rng(5), wiggle=0.0), dtype=object
    )

    assert area.std() / area.mean() < 0.5
    # Bent edges are segmentized, straight Voronoi pieces are not.
    bent_vertices = shapely.get_num_coordinates(pieces).sum()
    assert bent_vertices > 3 * shapely.get_num_coordinates(straight).sum()


def test_coverage_pieces_match_across_parents() -> None:
    # Two squares sharing an edge: new edges meeting it become vertices on both sides.
    left = _shift(shapely.box(0, 0, 1000, 1000))
    right = _shift(shapely.box(1000, 0, 2000, 1000))
    pieces, owner = partition_coverage([left, right], [6, 9], np.random.default_rng(2))

    assert owner.tolist() == [0] * 6 + [1] * 9
    assert shapely.coverage_is_valid(pieces)
    assert shapely.area(pieces[owner == 0]).sum() == pytest.approx(left.area, rel=1e-9)
    assert shapely.area(pieces[owner == 1]).sum() == pytest.approx(right.area, rel=1e-9)
    # Independent partitions would leave T-junctions on the shared edge.
    alone = np.concatenate(
        [
            partition_polygon(left, 6, np.random.default_rng(2)),
            partition_polygon(right, 9, np.random.default_rng(3)),
        ]
    )
    assert not shapely.coverage_is_valid(alone)


@pytest.mark.parametrize(
    ("polygon", "error"),
    [
        (shapely.Polygon([(0, 0), (1, 1), (1, 0), (0, 1)]), "invalid"),  # bow-tie
        (shapely.Polygon(), "not a non-empty polygon"),  # empty
        (shapely.LineString([(0, 0), (1, 1)]), "not a non-empty polygon"),  # not polygonal
    ],
)
def test_bad_polygons_are_refused(polygon: shapely.Geometry, error: str) -> None:
    with pytest.raises(InvalidGeometry, match=error):
        partition_polygon(polygon, 3, np.random.default_rng(0))


def test_overlapping_parents_are_refused() -> None:
    a = _shift(shapely.box(0, 0, 1000, 1000))
    b = _shift(shapely.box(500, 0, 1500, 1000))
    with pytest.raises(InvalidGeometry, match="not tiled"):
        partition_coverage([a, b], [4, 4], np.random.default_rng(0))


@pytest.mark.parametrize("counts", [[0], [2, -1], [1.5]])
def test_bad_counts_are_refused(counts: list[float]) -> None:
    with pytest.raises(ValueError, match="counts"):
        partition_coverage([SQUARE] * len(counts), counts, np.random.default_rng(0))


@pytest.mark.parametrize(
    ("weights", "total", "minimum", "expected"),
    [
        ([3.0, 1.0, 1.0], 10, 0, [6, 2, 2]),  # exact proportions
        ([3.0, 1.0, 1.0], 10, 1, [5, 3, 2]),  # minimums first, the rest 4.2/1.4/1.4
        ([1.0, 1.0, 1.0], 10, 0, [4, 3, 3]),  # tie on the remainder: the first one wins
        ([100.0, 0.0], 5, 1, [4, 1]),  # a zero weight still gets its minimum
        ([5.0, 5.0], 2, 1, [1, 1]),  # total equals the minimums
        ([0.5, 0.3, 0.2], 7, 0, [4, 2, 1]),  # largest remainders get the leftovers
    ],
)
def test_apportion(weights: list[float], total: int, minimum: int, expected: list[int]) -> None:
    shares = apportion(weights, total, minimum=minimum)
    assert shares.tolist() == expected
    assert shares.sum() == total


def test_apportion_refuses_a_total_below_the_minimums() -> None:
    with pytest.raises(ValueError, match="less than minimum"):
        apportion([1.0, 2.0, 3.0], 2)
