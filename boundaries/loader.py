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
GCJ-02 and BD-09 have no EPSG code. Everything is converted to WGS84 on load.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import geopandas as gpd
import pyogrio

from geo.crs import CoordSystem
from geo.errors import BoundaryFileError
from geo.units import BoundarySet

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


def write_boundary_set(bset: BoundarySet, path: str | Path) -> None:
    """Write a boundary set as a GeoPackage, one layer per level, top first, in WGS84."""
    path = Path(path)
    if path.exists():
        path.unlink()
    for level in bset.levels:
        frame = bset.units.iloc[bset.level_positions(level)]
        out = frame[["code", "name", "parent", "leader_name", "leader_phone", "leader_id"]].copy()
        out = gpd.GeoDataFrame(out, geometry=frame.geometry.values, crs=4326)
        out.to_file(path, layer=level, driver="GPKG", engine="pyogrio")
