"""Batch assignment on a local Dask cluster gives the in-process answers, row for row."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd

from api.cli.boundaries import index_for_workers
from boundaries.demo import write_gpkg
from geo.batch import assign_table
from geo.cluster import DaskAssigner
from tests.geo.test_assign import STEP, _lattice_set

COLUMNS = ["code", "name", "parent", "leader_name", "leader_phone", "geometry"]


def test_dask_assigns_200k_rows_as_the_process_does(tmp_path):
    bset = _lattice_set()
    path = tmp_path / "lattice.gpkg"
    units = bset.units
    write_gpkg([(level, units[units["level"] == level][COLUMNS]) for level in bset.levels], path)
    loader = partial(index_for_workers, (str(path),), None, 50.0)
    rng = np.random.default_rng(7)
    n = 200_000
    span = STEP * 64
    lon = (117.0 + rng.uniform(-0.002, span + 0.002, n)).astype(object)
    lat = (39.0 + rng.uniform(-0.002, span + 0.002, n)).astype(object)
    on_grid = rng.random(n) < 0.25
    lon[on_grid] = 117.0 + rng.integers(0, 257, on_grid.sum()) * (STEP / 4)
    lat[on_grid] = 39.0 + rng.integers(0, 257, on_grid.sum()) * (STEP / 4)
    lon[::997] = "not a number"
    table = pd.DataFrame({"id": np.arange(n), "lon": lon, "lat": lat})
    lines = list(range(2, n + 2))
    expected = assign_table(loader(), table, lines=lines)
    with DaskAssigner(loader, partition_rows=50_000) as dask:
        got = dask.assign_table(table, lines=lines)
    assert set(expected["status"]) == {"assigned", "gap", "snapped", "unassigned", "invalid"}
    pd.testing.assert_frame_equal(got, expected)
