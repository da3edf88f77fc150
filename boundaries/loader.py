"""Read boundary sets from files: a GeoPackage with one layer per level, or one file per level.

Format
------
* GeoPackage: one layer per level, layers in order from the top level down. Each layer has the
  columns ``code``, ``name``, ``parent`` (the code of the containing unit; empty at the top) and
  optionally ``leader_name``, ``leader_phone``, ``leader_id``; other columns are kept as free
  properties. The layer name is the level name.
* GeoJSON or Shapefile: one file per level, given in order from the top; the file's stem is the
  level name unless ``level_names`` says otherwise.

The coordinate system comes from the file's CRS and can be overridden (``crs="gcj02"``), since
GCJ-02 and BD-09 have no EPSG code. Everything is converted to WGS84 on load; coordinates that
cannot be in the system they are read in (feet read as degrees) are refused.

:func:`read_boundary_set` reads a set as it is (``wangge validate`` reports on it);
:func:`load_boundary_set` is the one path for a set that will answer lookups (the service, the
CLI's lookup and assignment): it also runs the quick checks and refuses a set whose errors would
make answers wrong.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd
import pyogrio

from geo.crs import CoordSystem
from geo.errors import BoundaryFileError
from geo.units import LEADER_COLUMNS, REQUIRED_COLUMNS, BoundarySet
from geo.validate import ValidationReport, check_for_use

#: Shapefile cuts field names to 10 characters.
_SHAPEFILE_NAMES = {"leader_nam": "leader_name", "leader_pho": "leader_phone"}

SUPPORTED = ".gpkg (one layer per level), or .geojson/.json/.shp files, one per level, top first"


def _read_layer(path: Path, layer: str | None = None) -> gpd.GeoDataFrame:
    try:
        frame = gpd.read_file(path, layer=layer, engine="pyogrio")
        renames = {
            short: full
            for short, full in _SHAPEFILE_NAMES.items()
            if short in frame.columns and full not in frame.columns
        }
        return frame.rename(columns=renames) if renames else frame
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, ValueError) as exc:
        raise BoundaryFileError(
            f"cannot read {path.name}{f' layer {layer!r}' if layer else ''}: {exc}",
            allowed=SUPPORTED,
        ) from None


def read_boundary_set(
    paths: str | Path | Sequence[str | Path],
    *,
    crs: str | CoordSystem | None = None,
    level_names: Sequence[str] | None = None,
    repair: bool = False,
) -> BoundarySet:
    """Read a boundary set from a GeoPackage or from one GeoJSON/Shapefile per level.

    Parameters
    ----------
    paths : path or sequence of paths
        One ``.gpkg`` file, or several single-level files in order from the top.
    crs : str, optional
        Override the files' coordinate system: ``wgs84``, ``gcj02``, ``bd09`` or ``EPSG:<code>``.
    level_names : sequence of str, optional
        Names for the levels; default the GeoPackage layer names or the files' stems.
    repair : bool, default False
        Repair invalid polygons with make_valid (see :meth:`BoundarySet.from_levels`).

    Returns
    -------
    BoundarySet
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    files = [Path(p) for p in paths]
    if not files:
        raise BoundaryFileError("no boundary files given", allowed=SUPPORTED)
    for f in files:
        if not f.exists():
            raise BoundaryFileError(f"boundary file {f} does not exist", allowed=SUPPORTED)
    if len(files) == 1 and files[0].suffix.lower() == ".gpkg":
        try:
            names = [str(row[0]) for row in pyogrio.list_layers(files[0])]
        except pyogrio.errors.DataSourceError as exc:
            raise BoundaryFileError(
                f"cannot read {files[0].name}: {exc}", allowed=SUPPORTED
            ) from None
        layers = [(name, _read_layer(files[0], name)) for name in names]
    else:
        if any(f.suffix.lower() == ".gpkg" for f in files):
            raise BoundaryFileError(
                "give a GeoPackage alone (its layers are the levels)", allowed=SUPPORTED
            )
        layers = [(f.stem, _read_layer(f)) for f in files]
    if level_names is not None:
        if len(level_names) != len(layers):
            raise BoundaryFileError(
                f"{len(level_names)} level names for {len(layers)} layers",
                allowed="one level name per layer",
            )
        layers = [(name, frame) for name, (_, frame) in zip(level_names, layers, strict=True)]
    return BoundarySet.from_levels(
        layers, crs=crs, name=", ".join(f.name for f in files), repair=repair
    )


def load_boundary_set(
    paths: str | Path | Sequence[str | Path],
    *,
    crs: str | CoordSystem | None = None,
    level_names: Sequence[str] | None = None,
    repair: bool = False,
) -> tuple[BoundarySet, ValidationReport]:
    """Read a boundary set that will answer lookups, refusing it if its answers would be wrong.

    The set is read with :func:`read_boundary_set` and checked with
    :func:`geo.validate.check_for_use` (codes, geometry types and validity, hierarchy; no
    measuring, so it stays quick on 150,000 units). Repeated codes and units that are no polygon
    make lookups answer wrongly (a point in one unit gets the code of another): such a set is
    refused. The other issues found come back in the report, for the caller to warn about.

    Parameters
    ----------
    paths, crs, level_names, repair
        As for :func:`read_boundary_set`.

    Returns
    -------
    (BoundarySet, ValidationReport)
        The set, and the report of the quick checks (``report.checks == "load"``).

    Raises
    ------
    BoundaryFileError
        As :func:`read_boundary_set`; and with code ``boundary_set_refused`` when the checks
        find errors that make answers wrong, naming them, with the report in ``details``.
    """
    bset = read_boundary_set(paths, crs=crs, level_names=level_names, repair=repair)
    report = check_for_use(bset)
    refusing = report.refusing
    if refusing:
        raise BoundaryFileError(
            f"{bset.name}: {len(refusing):,} error(s) would make lookups answer wrongly: "
            + "; ".join(i.message for i in refusing[:3])
            + (f"; and {len(refusing) - 3:,} more" if len(refusing) > 3 else ""),
            allowed="codes unique in the set and a polygon or multipolygon for every unit "
            "(wangge validate FILE lists every issue)",
            code="boundary_set_refused",
            report=report.to_dict(),
        )
    return bset, report


def write_boundary_set(bset: BoundarySet, path: str | Path) -> None:
    """Write a boundary set as a GeoPackage, one layer per level, top first, in WGS84.

    The free properties become columns again (nested values as JSON text), so a set read back
    is the set written.
    """
    path = Path(path)
    if path.exists():
        path.unlink()
    for level in bset.levels:
        frame = bset.units.iloc[bset.level_positions(level)]
        out = frame[[*REQUIRED_COLUMNS, *LEADER_COLUMNS]].copy()
        properties = pd.DataFrame.from_records(frame["properties"].tolist(), index=frame.index)
        for column in properties.columns:
            if column not in out.columns:
                out[column] = properties[column].map(_plain)
        out = gpd.GeoDataFrame(out, geometry=frame.geometry.values, crs=4326)
        out.to_file(path, layer=level, driver="GPKG", engine="pyogrio")


def _plain(value: Any) -> Any:
    """A property value a GeoPackage column can hold: lists and objects as JSON text."""
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False)
    return value
