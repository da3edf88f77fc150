"""The compiled kernel against shapely: random polygons, points anywhere, on vertices and on
edges; and the kernel working from a read-only package folder."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import shapely
from hypothesis import given, settings
from hypothesis import strategies as st

from geo.kernel import AMBIGUOUS, FOUND, OUT, PointKernel

ROOT = Path(__file__).resolve().parents[2]


def _star(rng: np.random.Generator, cx: float, cy: float, r: float, snap: float | None):
    """A simple star-shaped polygon around (cx, cy), coordinates on a lattice if ``snap``."""
    k = int(rng.integers(3, 12))
    angles = np.sort(rng.uniform(0, 2 * np.pi, k))
    radii = rng.uniform(0.2 * r, r, k)
    xs, ys = cx + radii * np.cos(angles), cy + radii * np.sin(angles)
    if snap:
        xs, ys = np.round(xs / snap) * snap, np.round(ys / snap) * snap
    polygon = shapely.make_valid(shapely.Polygon(np.column_stack([xs, ys])))
    polygon = shapely.get_parts(polygon)
    polygon = polygon[shapely.get_type_id(polygon) == 3]
    return shapely.multipolygons(polygon) if polygon.size else None


def _case(seed: int, snap: float | None, holes: bool):
    rng = np.random.default_rng(seed)
    polygons = []
    while len(polygons) < int(rng.integers(1, 9)) or not polygons:
        cx, cy = 117.2 + rng.uniform(0, 0.01), 39.1 + rng.uniform(0, 0.01)
        p = _star(rng, cx, cy, rng.uniform(0.0005, 0.004), snap)
        if p is not None and not p.is_empty:
            if holes and rng.random() < 0.5:
                p = p.difference(shapely.buffer(shapely.Point(cx, cy), p.area**0.5 / 6))
            polygons.append(p)
    return rng, np.array(polygons, dtype=object)


def _points(rng: np.random.Generator, polygons, n: int):
    minx, miny, maxx, maxy = shapely.total_bounds(polygons)
    coords = shapely.get_coordinates(polygons)
    a, b = coords[:-1], coords[1:]
    t = rng.random((len(a), 1))
    on_edges = a + t * (b - a)
    mids = (a + b) / 2
    anywhere = np.column_stack(
        [rng.uniform(minx - 1e-3, maxx + 1e-3, n), rng.uniform(miny - 1e-3, maxy + 1e-3, n)]
    )
    return coords, np.concatenate([on_edges, mids, anywhere])


def _expected(polygons, ranks, x, y):
    hits = shapely.intersects_xy(polygons[:, None], x[None, :], y[None, :])
    best = np.where(hits, ranks[:, None], np.iinfo(np.int64).max).argmin(axis=0)
    return np.where(hits.any(axis=0), best, -1)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    snap=st.sampled_from([None, 1 / 1024, 1 / 256]),
    holes=st.booleans(),
)
def test_kernel_agrees_with_shapely(seed, snap, holes):
    rng, polygons = _case(seed, snap, holes)
    ranks = rng.permutation(len(polygons))
    minx, miny, maxx, maxy = shapely.total_bounds(polygons)
    frame = shapely.box(minx - 1, miny - 1, maxx + 1, maxy + 1)
    kernel = PointKernel(frame, frame, [(polygons, np.arange(len(polygons)), ranks)])
    vertices, others = _points(rng, polygons, 300)
    for pts, exact in ((vertices, True), (others, False)):
        x, y = np.ascontiguousarray(pts[:, 0]), np.ascontiguousarray(pts[:, 1])
        unit, kind = kernel.locate(x, y)
        # the batch path (sorted by cell, in runs on every core) and the one-point entry agree
        sorted_unit, sorted_kind = kernel.locate(x, y, runs=3)
        assert np.array_equal(sorted_unit, unit) and np.array_equal(sorted_kind, kind)
        for k in range(0, x.size, 37):
            assert kernel.locate_point(float(x[k]), float(y[k])) == (unit[k], kind[k])
        want = _expected(polygons, ranks, x, y)
        decided = kind != AMBIGUOUS
        if exact and len(polygons) == 1:  # its own vertices are recognised exactly
            assert decided.all()
        assert np.array_equal(np.where(kind[decided] == FOUND, unit[decided], -1), want[decided])
        assert decided.mean() > 0.5


def test_points_outside_every_layer_are_out():
    square = shapely.box(0, 0, 1, 1)
    kernel = PointKernel(square, square, [(np.array([square]), np.array([7]), np.array([0]))])
    unit, kind = kernel.locate(np.array([0.0, 1.0, 1.0000001, -5.0]), np.array([0, 1, 1, 0.5]))
    assert unit.tolist() == [7, 7, -1, -1]
    assert kind.tolist()[:2] == [FOUND, FOUND] and kind.tolist()[2:] == [OUT, OUT]


def test_kernel_runs_from_a_read_only_package(tmp_path):
    copy = tmp_path / "pkg"
    shutil.copytree(ROOT / "geo", copy / "geo", ignore=shutil.ignore_patterns("__pycache__"))
    # read-only for a normal user; a file where the cache folder would go stops root too
    (copy / "geo" / "__pycache__").write_text("")
    for path in [copy, *copy.rglob("*")]:
        path.chmod(0o555 if path.is_dir() else 0o444)
    script = (
        "import numpy as np, shapely; from geo.kernel import PointKernel, _CACHE; "
        "s = shapely.box(0, 0, 1, 1); "
        "k = PointKernel(s, s, [(np.array([s]), np.array([0]), np.array([0]))]); "
        "print(_CACHE, k.locate(np.array([0.5]), np.array([0.5]))[0].tolist())"
    )
    try:
        env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
        out = subprocess.run(
            [sys.executable, "-c", script], cwd=copy, env=env, capture_output=True, text=True
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.split() == ["False", "[0]"]
        assert (copy / "geo" / "__pycache__").is_file()
    finally:
        for path in [copy, *copy.rglob("*")]:
            path.chmod(0o755)
