"""Gi* itself on a tiny hand-made lattice: the z-scores are esda's own and the textbook's."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from api.analytics.compiled import G_Local, libpysal
from api.analytics.hotspots import classify, gi_star
from api.analytics.weights import LevelWeights


def lattice(rows: int, cols: int) -> LevelWeights:
    w = libpysal.weights.lat2W(rows, cols, rook=False)
    n = rows * cols
    codes = np.array([f"C{i}" for i in range(n)], dtype=object)
    return LevelWeights("cell", np.arange(n), codes, codes, w, np.zeros(n, dtype=bool))


def textbook_gi_star(y: np.ndarray, w: libpysal.weights.W) -> np.ndarray:
    """Getis and Ord (1992) Gi* with binary weights, the unit included."""
    n = len(y)
    full = w.full()[0] + np.eye(n)
    mean, s = y.mean(), np.sqrt((y**2).mean() - y.mean() ** 2)
    wsum = full.sum(axis=1)
    num = full @ y - mean * wsum
    den = s * np.sqrt((n * (full**2).sum(axis=1) - wsum**2) / (n - 1))
    return num / den


def test_z_scores_equal_esda_and_the_formula() -> None:
    weights = lattice(4, 4)
    y = np.array([9, 8, 1, 0, 7, 6, 1, 1, 1, 0, 2, 1, 0, 1, 1, 2], dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = G_Local(y, weights.w, transform="B", star=True, permutations=0).Zs
    ours = gi_star(y, weights, permutations=99)
    assert np.allclose(ours.z, expected, atol=1e-4)
    assert np.allclose(ours.z, textbook_gi_star(y, weights.w), atol=1e-4)
    assert ours.z[0] > 2 and ours.z[15] < 0
    assert np.all((ours.p > 0) & (ours.p <= 1))


def test_a_hot_corner_is_hot_and_a_flat_field_is_not() -> None:
    weights = lattice(10, 10)
    rng = np.random.default_rng(5)
    flat = rng.poisson(2.0, 100).astype(float)
    assert not any(str(c).startswith("hot") for c in gi_star(flat, weights).classes)
    corner = flat.copy()
    corner[[0, 1, 2, 10, 11, 12, 20, 21, 22]] += 12
    result = gi_star(corner, weights, permutations=999)
    assert str(result.classes[11]) in {"hot_99", "hot_95"}


@pytest.mark.parametrize(
    ("z", "p", "expected"),
    [
        (5.0, 0.001, "hot_99"),  # far out and confirmed by the permutations
        (-5.0, 0.001, "cold_99"),  # the mirror
        (5.0, 0.2, "not_significant"),  # the permutations do not confirm it
        (0.1, 0.001, "not_significant"),  # z near zero
    ],
)
def test_classes(z: float, p: float, expected: str) -> None:
    zs = np.concatenate([[z], np.zeros(9)])
    ps = np.concatenate([[p], np.full(9, 0.5)])
    assert classify(zs, ps)[0][0] == expected


def test_an_island_is_never_classed() -> None:
    """A unit touching no other keeps no neighbours: no z-score, never hot, whatever its count."""
    w = libpysal.weights.lat2W(5, 5, rook=False)
    neighbors = {k: list(v) for k, v in w.neighbors.items()}
    neighbors[25] = []  # drawn apart from the lattice
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        island_w = libpysal.weights.W(neighbors, silence_warnings=True)
    islands = np.zeros(26, dtype=bool)
    islands[list(island_w.islands)] = True
    assert islands.tolist() == [False] * 25 + [True]
    codes = np.array([f"C{i}" for i in range(26)], dtype=object)
    weights = LevelWeights("cell", np.arange(26), codes, codes, island_w, islands)
    y = np.ones(26)
    y[[0, 1, 2, 5, 6, 7, 10, 11, 12]] = 15
    y[25] = 15  # as many as the hot corner
    result = gi_star(y, weights, permutations=999)
    assert np.isnan(result.z[25]) and np.isnan(result.p[25])
    assert result.classes[25] == "not_significant"
    assert str(result.classes[6]) == "hot_99"


def test_weights_are_built_once_per_version_and_level(tiny_gpkg) -> None:
    from api.analytics.weights import WeightsCache
    from boundaries.loader import read_boundary_set

    bset = read_boundary_set(tiny_gpkg)
    cache = WeightsCache(size=2)
    first = cache.get(1, bset, "microgrid")
    assert cache.get(1, bset, "microgrid") is first  # cached
    assert cache.get(2, bset, "microgrid") is not first  # another version: its own
    assert sorted(first.codes) == ["M1", "M2", "M3", "M5"]
    assert set(first.w.neighbors[list(first.codes).index("M5")]) == {
        list(first.codes).index("M2"),
        list(first.codes).index("M3"),
    }
    cache.get(3, bset, "microgrid")
    assert (1, "microgrid") not in cache  # the least recently used was dropped


def test_permutation_p_values_are_esdas() -> None:
    """The compiled permutations draw esda's ids and give esda's own p_sim."""
    weights = lattice(12, 12)
    y = np.random.default_rng(8).poisson(3.0, 144).astype(float)
    y[[0, 1, 12, 13]] += 9
    jittered = y + np.random.default_rng(2).uniform(0, 1e-6, 144)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = G_Local(
            jittered, weights.w, transform="B", star=True, permutations=999, seed=7, n_jobs=1
        )
    from api.analytics.permutations import gi_star_p_sim

    ours = gi_star_p_sim(jittered, weights, np.ones(144), theirs.Gs, permutations=999, seed=7)
    assert np.allclose(ours, theirs.p_sim, atol=1e-6)
    assert ours.min() < 0.01 < ours.max()


def _queen_by_libpysal(geoms) -> dict[int, list[int]]:
    import geopandas as gpd

    from api.analytics.compiled import Queen

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        w = Queen.from_dataframe(gpd.GeoDataFrame(geometry=geoms), use_index=False)
    return {i: sorted(w.neighbors[i]) for i in range(len(geoms))}


def test_shared_vertices_are_libpysals_queen(tiny_gpkg) -> None:
    import shapely

    from api.analytics.weights import shared_vertices
    from boundaries.loader import read_boundary_set

    cells = [shapely.box(x, y, x + 1, y + 1) for x in range(6) for y in range(5)]
    geoms = [
        *cells[:7],  # a row and a bit: edges and corners shared
        *cells[9:],  # two cells left out: a gap
        shapely.box(10, 10, 11, 11),  # an island
        shapely.box(20, 20, 23, 23).difference(shapely.box(21, 21, 22, 22)),  # a ring ...
        shapely.box(21, 21, 22, 22),  # ... and the unit filling its hole
        shapely.MultiPolygon([shapely.box(6, 0, 7, 1), shapely.box(30, 30, 31, 31)]),
    ]
    bset = read_boundary_set(tiny_gpkg)
    for case in (np.array(geoms, dtype=object), bset.units.geometry.to_numpy()):
        ours = {k: sorted(v) for k, v in shared_vertices(case).items()}
        assert ours == _queen_by_libpysal(case)
