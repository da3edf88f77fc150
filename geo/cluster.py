"""Batch assignment on Dask: a table split into partitions, each assigned on a worker.

Every worker builds the boundary index once (from a loader it receives, e.g. the boundary
files' paths, which every worker must be able to read) and keeps it for the partitions that
follow. The answers are those of :func:`geo.batch.assign_table`, row for row.

Without a scheduler address a local cluster is started (one process per core, one thread
each); with one (``tcp://host:8786``) the work goes to that cluster's workers.
"""

from __future__ import annotations

import os
import pickle
from collections.abc import Callable
from types import TracebackType
from typing import Any

import pandas as pd

from geo.assign import BoundaryIndex
from geo.batch import assign_table

#: The indexes built in this (worker) process, by their pickled loader.
_INDEXES: dict[bytes, BoundaryIndex] = {}
#: The column carrying each row's line and refusal through the partitions.
_LINE, _REFUSED = "__wangge_line", "__wangge_refused"


def tiny_index() -> BoundaryIndex:
    """One unit, 0.01 degrees square (an example loader: module-level, so picklable)."""
    import geopandas as gpd
    import shapely

    from geo.units import BoundarySet

    top = gpd.GeoDataFrame(
        {"code": ["A"], "name": ["Area"], "parent": [""]},
        geometry=[shapely.box(117.2, 39.1, 117.21, 39.11)],
        crs=4326,
    )
    return BoundaryIndex(BoundarySet.from_levels([("area", top)]))


def _index(loader: Callable[[], BoundaryIndex]) -> BoundaryIndex:
    """The loader's index, built on the first call in this process and kept.

    Example
    -------
    >>> _index(tiny_index) is _index(tiny_index)
    True
    >>> _assign_partition(pd.DataFrame({"lon": [117.205], "lat": [39.105]}), tiny_index,
    ...                   {})["status"].tolist()
    ['assigned']
    """
    key = pickle.dumps(loader)
    index = _INDEXES.get(key)
    if index is None:
        index = _INDEXES[key] = loader()
    return index


def _assign_partition(
    part: pd.DataFrame, loader: Callable[[], BoundaryIndex], options: dict[str, Any]
) -> pd.DataFrame:
    lines = part[_LINE].tolist() if _LINE in part.columns else None
    refused = part[_REFUSED].tolist() if _REFUSED in part.columns else None
    table = part.drop(columns=[c for c in (_LINE, _REFUSED) if c in part.columns])
    return assign_table(_index(loader), table, lines=lines, refused=refused, **options)


class DaskAssigner:
    """Assign tables on a Dask cluster (a local one unless ``scheduler`` is given).

    Parameters
    ----------
    loader : callable
        Builds the index; picklable (a module-level function or a ``functools.partial`` of
        one), run once on each worker.
    scheduler : str, optional
        The address of a running ``dask scheduler``.
    partition_rows : int, default 100000
        Rows per partition.
    """

    def __init__(
        self,
        loader: Callable[[], BoundaryIndex],
        *,
        scheduler: str | None = None,
        partition_rows: int = 100_000,
    ) -> None:
        from dask.distributed import Client, LocalCluster

        self.loader = loader
        self.partition_rows = max(int(partition_rows), 1)
        self._cluster = None
        if scheduler is None:
            self._cluster = LocalCluster(
                n_workers=max(os.cpu_count() or 1, 1),
                threads_per_worker=1,
                processes=True,
                dashboard_address=None,
            )
            self._client = Client(self._cluster)
        else:
            self._client = Client(scheduler)

    def __enter__(self) -> DaskAssigner:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        self._client.close()
        if self._cluster is not None:
            self._cluster.close()

    def assign_table(
        self,
        table: pd.DataFrame,
        *,
        lines: list[int] | None = None,
        refused: list[str] | None = None,
        **options: Any,
    ) -> pd.DataFrame:
        """:func:`geo.batch.assign_table` of the table, partition by partition on the
        cluster (``options``: its keyword arguments), in the table's order."""
        import dask
        import dask.dataframe as dd

        meta = assign_table(self.loader_index(), table.iloc[:0], **options)
        frame = table.reset_index(drop=True)
        if lines is not None:
            frame[_LINE] = list(lines)
        if refused is not None:
            frame[_REFUSED] = list(refused)
        parts = max(-(-len(frame) // self.partition_rows), 1)
        # the text stays as read (object columns), as in the in-process path
        with dask.config.set({"dataframe.convert-string": False}):
            dask_frame = dd.from_pandas(frame, npartitions=parts, sort=True)
            out = dask_frame.map_partitions(_assign_partition, self.loader, options, meta=meta)
            # each partition's answer comes back on its own and is joined here: computing the
            # frame would join them on one worker first (10,000,000 rows of chains and
            # leaders there exceed a worker's memory)
            pieces = self._client.gather(self._client.compute(out.to_delayed()))
            result = pd.concat(pieces) if pieces else meta
        result.index = table.index
        return result

    def loader_index(self) -> BoundaryIndex:
        """The index in this process (for the result's columns), built once."""
        return _index(self.loader)
