"""Reading a boundary file handed in for a new version: a GeoPackage, a zip of GeoJSON or
Shapefile files (one per level), or a single GeoJSON file, checked before anything is stored.

A zip is unpacked into a private folder under fixed limits (files, bytes unpacked), entry
names flattened, so neither a crafted path nor a zip bomb gets out. Its levels are ordered by
their numeric prefixes when every file has one (``1_district.geojson``), else by the parent
codes: the top level has none, each level's parents are the units of the level above.

The coordinates must be able to be what the file (or ``crs``) declares: numbers in the
millions read as longitude and latitude are metres of a projected system, and the answer says
so and names the systems usual in China, instead of storing a map of nowhere.
"""

from __future__ import annotations

import hashlib
import re
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import numpy as np
import pyogrio
import pyproj

from boundaries.loader import read_boundary_set
from geo.crs import parse_crs
from geo.errors import BoundaryFileError, UnknownCRS
from geo.units import BoundarySet

SUPPORTED = (
    "a GeoPackage (.gpkg, one layer per level, top first), a .zip of GeoJSON or Shapefile "
    "files (one per level), or one .geojson file"
)
LEVEL_FILES = (".geojson", ".json", ".shp")
SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg", ".qix", ".sbn", ".sbx")
#: Most entries a zip may hold, and the ratio of unpacked to packed bytes allowed.
MAX_ZIP_ENTRIES = 200
MAX_UNPACK_RATIO = 5
PROJECTED_HINT = (
    "a projected system given as crs, e.g. EPSG:4547 (CGCS2000 / 3-degree Gauss-Kruger CM "
    "117E, usual for Tianjin), EPSG:32650 (WGS 84 / UTM zone 50N) or EPSG:3857"
)
_ORDER_PREFIX = re.compile(r"^(\d+)[_\-. ](.+)$")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_version_file(path: Path, *, crs: str | None = None) -> BoundarySet:
    """The boundary set in a file (its name as the client gave it), its coordinates checked.

    Raises BoundaryFileError (a 422) for anything that cannot be read as a boundary set.
    """
    name = path.name
    suffix = path.suffix.lower()
    if crs is not None:
        parse_crs(crs)  # an unknown system is refused before the file is read
    if suffix == ".zip":
        with _unpacked(path, name) as files:
            return _read_checked(files, crs, name)
    if suffix in (".gpkg", ".geojson", ".json"):
        return _read_checked([path], crs, name)
    raise BoundaryFileError(f"cannot read {name!r} as boundaries", allowed=SUPPORTED)


def safe_file_name(name: str | None) -> str:
    """A client's file name reduced to a plain name to keep an upload under (level names of a
    single GeoJSON file come from it)."""
    base = Path((name or "").replace("\\", "/")).name
    base = re.sub(r"[^\w.\-]+", "_", base).strip("._") or "upload"
    return base[-120:]


def _read_checked(files: list[Path], crs: str | None, name: str) -> BoundarySet:
    for file in files:
        _check_declared_coordinates(file, crs, name)
    bset = read_boundary_set(files, crs=crs)
    minx, miny, maxx, maxy = bset.bounds
    if not (np.isfinite([minx, miny, maxx, maxy]).all() and -180 <= minx <= maxx <= 180):
        raise BoundaryFileError(
            f"{name}: the coordinates converted from {bset.source_crs} to longitude/latitude "
            f"fall off the globe ({minx:.6g}..{maxx:.6g}, {miny:.6g}..{maxy:.6g})",
            allowed="the coordinate system the file was drawn in, as crs: " + PROJECTED_HINT,
        )
    if not -90 <= miny <= maxy <= 90:
        raise BoundaryFileError(
            f"{name}: latitudes {miny:.6g}..{maxy:.6g} are outside [-90, 90]",
            allowed="the coordinate system the file was drawn in, as crs: " + PROJECTED_HINT,
        )
    return replace(bset, name=name)


def _check_declared_coordinates(file: Path, crs: str | None, name: str) -> None:
    """Refuse coordinates that cannot be in the declared system, saying which would fit."""
    try:
        layers = [str(row[0]) for row in pyogrio.list_layers(file)]
        for layer in layers:
            info = pyogrio.read_info(file, layer=layer, force_total_bounds=True)
            bounds = info.get("total_bounds")
            declared = crs or info.get("crs")
            if bounds is None or declared is None:
                continue
            _check_layer_bounds(tuple(float(b) for b in bounds), str(declared), name, layer)
    except (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError) as exc:
        raise BoundaryFileError(f"cannot read {name}: {exc}", allowed=SUPPORTED) from None


def _check_layer_bounds(bounds: tuple[float, ...], declared: str, name: str, layer: str) -> None:
    minx, miny, maxx, maxy = bounds
    if not np.isfinite(bounds).all():
        return  # an empty layer: the validator reports it
    try:
        system = parse_crs(declared)
    except UnknownCRS:
        return  # the loader says what is wrong with it
    geographic = (
        system.is_geographic_named or pyproj.CRS.from_epsg(system.epsg or 4326).is_geographic
    )
    largest = max(abs(minx), abs(maxx), abs(miny), abs(maxy))
    if geographic and (max(abs(minx), abs(maxx)) > 180 or max(abs(miny), abs(maxy)) > 90):
        raise BoundaryFileError(
            f"{name} layer {layer!r}: coordinates up to {largest:,.0f} cannot be longitude and "
            f"latitude in {system}; numbers this large are metres of a projected system",
            allowed=PROJECTED_HINT,
            bounds=list(bounds),
            declared_crs=str(system),
        )
    if not geographic and largest <= 360:
        raise BoundaryFileError(
            f"{name} layer {layer!r}: coordinates within {largest:g} of the origin look like "
            f"degrees, but {system} is a projected system in metres",
            allowed="crs=wgs84 (or gcj02, bd09) for longitude/latitude",
            bounds=list(bounds),
            declared_crs=str(system),
        )


@contextmanager
def _unpacked(path: Path, name: str) -> Iterator[list[Path]]:
    """The level files of a zip, unpacked flat into a private folder, in level order."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise BoundaryFileError(
            f"{name} is not a readable zip file: {exc}", allowed=SUPPORTED
        ) from None
    with archive, tempfile.TemporaryDirectory(prefix="wangge-upload-") as folder:
        members = [
            m
            for m in archive.infolist()
            if not m.is_dir()
            and not Path(m.filename).name.startswith((".", "__MACOSX"))
            and "__MACOSX" not in m.filename
        ]
        if len(members) > MAX_ZIP_ENTRIES:
            raise BoundaryFileError(
                f"{name} holds {len(members)} files", allowed=f"at most {MAX_ZIP_ENTRIES} files"
            )
        budget = max(path.stat().st_size, 1 << 20) * MAX_UNPACK_RATIO
        too_big = BoundaryFileError(
            f"{name} unpacks to more than {budget:,} bytes",
            allowed=f"a zip that unpacks to at most {MAX_UNPACK_RATIO} times its size",
        )
        if sum(m.file_size for m in members) > budget:
            raise too_big
        out = Path(folder)
        seen: set[str] = set()
        written = 0
        for member in members:
            flat = Path(member.filename).name  # no folders: nothing lands outside `out`
            suffix = Path(flat).suffix.lower()
            if suffix not in (*LEVEL_FILES, *SHAPEFILE_PARTS, ".gpkg"):
                continue
            if flat.lower() in seen:
                raise BoundaryFileError(
                    f"{name} holds two files named {flat}", allowed="one file per level name"
                )
            seen.add(flat.lower())
            with archive.open(member) as source, (out / flat).open("wb") as target:
                # count what is really unpacked: a zip's declared sizes can lie
                for block in iter(lambda: source.read(1 << 20), b""):
                    written += len(block)
                    if written > budget:
                        raise too_big
                    target.write(block)
        packages = sorted(p for p in out.iterdir() if p.suffix.lower() == ".gpkg")
        levels = sorted(p for p in out.iterdir() if p.suffix.lower() in LEVEL_FILES)
        if packages and not levels and len(packages) == 1:
            yield packages
            return
        if not levels or packages:
            raise BoundaryFileError(
                f"{name} holds no level files"
                if not levels
                else f"{name} mixes a GeoPackage with other files",
                allowed="GeoJSON (.geojson) or Shapefile (.shp with .shx, .dbf, .prj) files, "
                "one per level",
            )
        yield _in_level_order(levels, name)


def _in_level_order(files: list[Path], name: str) -> list[Path]:
    """Level files top first: by numeric prefix if every file has one, else by parent codes.

    A prefix is dropped from the level's name (``2_grid.geojson`` is the level ``grid``).
    """
    prefixed = [_ORDER_PREFIX.match(f.stem) for f in files]
    if all(prefixed):
        order = sorted(range(len(files)), key=lambda i: int(prefixed[i].group(1)))  # type: ignore[union-attr]
        renamed = []
        for i in order:
            match = prefixed[i]
            assert match is not None
            target = files[i].with_name(match.group(2) + files[i].suffix)
            for part in files[i].parent.glob(files[i].stem + ".*"):
                part.rename(part.with_name(match.group(2) + part.suffix))
            renamed.append(target)
        return renamed
    codes: dict[Path, tuple[set[str], set[str]]] = {}
    for file in files:
        try:
            frame = pyogrio.read_dataframe(file, columns=["code", "parent"], read_geometry=False)
        except Exception as exc:  # pyogrio raises several kinds for unreadable files
            raise BoundaryFileError(
                f"cannot read {file.name} in {name}: {exc}", allowed=SUPPORTED
            ) from None
        if "code" not in frame.columns or "parent" not in frame.columns:
            raise BoundaryFileError(
                f"{file.name} in {name} lacks the code or parent column",
                allowed="columns code, name, parent in every level file",
            )
        parents = {str(p) for p in frame["parent"].dropna() if str(p).strip()}
        codes[file] = ({str(c) for c in frame["code"].dropna()}, parents)
    ordered: list[Path] = []
    remaining = list(files)
    above: set[str] = set()
    while remaining:
        # the top level has no parents; below, most parents are units of the level above (the
        # validator reports the orphans)
        fits = [
            f
            for f in remaining
            if (not ordered and not codes[f][1])
            or (ordered and len(codes[f][1] & above) > len(codes[f][1]) / 2)
        ]
        if len(fits) != 1:
            raise BoundaryFileError(
                f"cannot tell the order of the levels in {name} from their parent codes",
                allowed="files named with their order, top first: 1_district.geojson, "
                "2_grid.geojson, ...",
            )
        ordered.append(fits[0])
        remaining.remove(fits[0])
        above = codes[fits[0]][0]
    return ordered
