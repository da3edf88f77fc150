"""Vector tiles of the boundary levels: MVT per tile, TileJSON per level, a cache per version.

A level's tiles start at the zoom where a typical unit spans a few pixels (``minzoom``,
:func:`geo.tiles.min_zoom_for`); below it a tile would hold thousands of specks. A tile
without case counts depends only on the boundary version, so it is encoded once and kept
(in memory, up to ``WANGGE_TILE_CACHE_BYTES``) with its ETag; a tile with counts (for the
roles that may see them) is made from the same drawn geometries, which are kept too, and the
counts read for each request: encoded once for the same counts, and answered 304 when its
content has not changed.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import shapely
from numpy.typing import NDArray

from api.standards.errors import TileOutOfRange
from api.standards.levels import Level, Levels, levels_of
from api.versions.active import Snapshot
from geo.crs import wgs84_to_gcj02
from geo.tiles import (
    MAX_ZOOM,
    check_tile,
    encode_tile,
    min_zoom_for,
    tile_geometries,
    tile_lonlat_bounds,
    to_mercator,
)

MEDIA_TYPE = "application/vnd.mapbox-vector-tile"
#: The properties of every unit in a tile; ``cases`` and ``open_cases`` join them for the
#: roles that see case counts.
FIELDS = {
    "code": "String",
    "name": "String",
    "level": "String",
    "parent": "String",
    "leader_name": "String",
}
COUNT_FIELDS = {"cases": "Number", "open_cases": "Number"}
#: Counts for some unit codes: code -> (cases, open cases).
CountsFor = Callable[[list[str]], Mapping[str, tuple[int, int]]]


@dataclass(frozen=True)
class Tile:
    data: bytes
    etag: str

    @classmethod
    def of(cls, data: bytes, version: str) -> Tile:
        digest = hashlib.sha256(version.encode() + b"\n" + data).hexdigest()[:20]
        return cls(data, f'"{digest}"')


@dataclass(frozen=True)
class Drawn:
    """A tile's units as drawn: their indices in the level and geometries in grid units."""

    units: NDArray[np.intp]
    geometries: NDArray[np.object_]

    @property
    def size(self) -> int:
        return sum(len(shapely.to_wkb(g)) for g in self.geometries) + 8 * len(self.units)


class LevelTiles:
    """One level's geometries in Web Mercator, its zoom range and unit properties; with
    ``gcj02`` the geometries are shifted to GCJ-02 first (for base maps in GCJ-02)."""

    def __init__(self, levels: Levels, level: Level, gcj02: bool = False) -> None:
        self.level = level
        self.gcj02 = gcj02
        units = levels.bset.units.iloc[level.positions]
        self.codes: list[str] = units["code"].tolist()
        self.properties: list[dict[str, Any]] = [
            {
                "code": row.code,
                "name": row.name,
                "level": row.level,
                "parent": row.parent or None,
                "leader_name": row.leader_name,
            }
            for row in units.itertuples()
        ]

    @cached_property
    def mercator(self) -> NDArray[np.object_]:
        geometries = self.level.geometries
        if self.gcj02:
            geometries = shapely.transform(geometries, _to_gcj02)
        return to_mercator(geometries)

    @cached_property
    def minzoom(self) -> int:
        minx, miny, maxx, maxy = shapely.bounds(self.mercator).T
        # metres on the ground: Web Mercator stretches by 1/cos(latitude)
        lat = np.radians(shapely.get_y(shapely.centroid(self.level.geometries)))
        return min_zoom_for(np.maximum(maxx - minx, maxy - miny) * np.cos(lat))

    def draw(self, z: int, x: int, y: int) -> Drawn:
        """The units meeting the tile (with its buffer), as drawn in it."""
        check_tile(z, x, y)
        if z < self.minzoom:
            raise TileOutOfRange(
                f"level {self.level.name} has no tiles at zoom {z}",
                allowed=f"zoom {self.minzoom} to {MAX_ZOOM} (see the TileJSON's minzoom)",
            )
        minlon, minlat, maxlon, maxlat = tile_lonlat_bounds(z, x, y)
        pad_x, pad_y = (maxlon - minlon) / 64, (maxlat - minlat) / 64  # the tile's buffer
        if self.gcj02:  # the units drawn here lie that far off in WGS84 (the shift varies
            # by less than a metre per kilometre: a bigger buffer covers it)
            dx, dy = _gcj02_offset((minlon + maxlon) / 2, (minlat + maxlat) / 2)
            minlon, maxlon, minlat, maxlat = minlon - dx, maxlon - dx, minlat - dy, maxlat - dy
            pad_x, pad_y = pad_x + abs(dx) / 10 + 1e-5, pad_y + abs(dy) / 10 + 1e-5
        near = self.level.in_bbox((minlon - pad_x, minlat - pad_y, maxlon + pad_x, maxlat + pad_y))
        kept, geometries = tile_geometries(self.mercator[near], z, x, y)
        return Drawn(near[kept], geometries)

    def encode(self, drawn: Drawn, counts: Mapping[str, tuple[int, int]] | None) -> bytes:
        properties = [self.properties[i] for i in drawn.units]
        if counts is not None:
            with_counts = []
            for props in properties:
                total, opened = counts.get(props["code"], (0, 0))
                with_counts.append({**props, "cases": total, "open_cases": opened})
            properties = with_counts
        return encode_tile(self.level.name, drawn.geometries, properties)


class TileSet:
    """The tiles of one boundary version, with a cache bounded in bytes."""

    def __init__(self, levels: Levels, cache_bytes: int) -> None:
        self.levels = levels
        self.cache_bytes = cache_bytes
        self._levels: dict[str, LevelTiles] = {}
        self._cache: OrderedDict[tuple[Any, ...], tuple[int, Any]] = OrderedDict()
        self._held = 0
        self._lock = threading.Lock()

    def level(self, name: str, crs: str = "wgs84") -> LevelTiles:
        level = self.levels.level(name)  # UnknownLevel names the levels
        key = name if crs == "wgs84" else f"{name}@{crs}"
        with self._lock:
            found = self._levels.get(key)
            if found is None:
                found = self._levels[key] = LevelTiles(self.levels, level, crs == "gcj02")
        return found

    def tile(
        self,
        name: str,
        z: int,
        x: int,
        y: int,
        counts_for: CountsFor | None,
        crs: str = "wgs84",
    ) -> Tile:
        """The tile, with case counts when ``counts_for`` is given; its geometry in GCJ-02
        with ``crs="gcj02"`` (Web Mercator of the shifted coordinates)."""
        tiles = self.level(name, crs)
        if counts_for is None:
            return self._kept(("tile", crs, name, z, x, y), lambda: self._plain(tiles, z, x, y))
        drawn: Drawn = self._kept(
            ("drawn", crs, name, z, x, y), lambda: self._drawn(tiles, z, x, y)
        )
        codes = [tiles.codes[i] for i in drawn.units]
        counts = counts_for(codes)
        # the same counts make the same tile: encoded once (counts change a few tiles at a time)
        seen = np.array([counts.get(code, (0, 0)) for code in codes], dtype=np.int64)
        digest = hashlib.blake2b(seen.tobytes(), digest_size=16).hexdigest()
        return self._kept(
            ("counted", crs, name, z, x, y, digest),
            lambda: self._counted(tiles, drawn, counts),
        )

    def prepare(self, crs: str = "wgs84") -> TileSet:
        """Build now what every tile of every level needs (the units in Web Mercator, their
        zooms and trees), which is otherwise built by the first tile of a level: seconds at
        city scale, better spent before requests come."""
        for name in self.levels.bset.levels:
            tiles = self.level(name, crs)
            tiles.mercator  # noqa: B018 - cached
            tiles.minzoom  # noqa: B018 - cached
        return self

    def tilejson(self, name: str, url: str, *, with_counts: bool) -> dict[str, Any]:
        """The TileJSON 3.0 document of a level's tiles."""
        tiles = self.level(name)
        minlon, minlat, maxlon, maxlat = tiles.level.bounds
        fields = {**FIELDS, **(COUNT_FIELDS if with_counts else {})}
        return {
            "tilejson": "3.0.0",
            "name": name,
            "description": f"Units of level {name} of boundary set {self.levels.bset.name}",
            "version": "1.0.0",
            "scheme": "xyz",
            "tiles": [url],
            "minzoom": tiles.minzoom,
            "maxzoom": MAX_ZOOM,
            "bounds": [minlon, minlat, maxlon, maxlat],
            "center": [(minlon + maxlon) / 2, (minlat + maxlat) / 2, tiles.minzoom],
            "vector_layers": [
                {
                    "id": name,
                    "fields": fields,
                    "minzoom": tiles.minzoom,
                    "maxzoom": MAX_ZOOM,
                }
            ],
        }

    def _plain(self, tiles: LevelTiles, z: int, x: int, y: int) -> tuple[int, Tile]:
        tile = Tile.of(tiles.encode(tiles.draw(z, x, y), None), self.levels.version)
        return len(tile.data), tile

    def _counted(
        self, tiles: LevelTiles, drawn: Drawn, counts: Mapping[str, tuple[int, int]]
    ) -> tuple[int, Tile]:
        tile = Tile.of(tiles.encode(drawn, counts), self.levels.version)
        return len(tile.data), tile

    def _drawn(self, tiles: LevelTiles, z: int, x: int, y: int) -> tuple[int, Drawn]:
        drawn = tiles.draw(z, x, y)
        return drawn.size, drawn

    def _kept(self, key: tuple[Any, ...], make: Callable[[], tuple[int, Any]]) -> Any:
        """A cached value, made (outside the lock) and kept within the byte budget if new."""
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit[1]
        size, value = make()
        with self._lock:
            if key not in self._cache and size <= self.cache_bytes:
                self._cache[key] = (size, value)
                self._held += size
                while self._held > self.cache_bytes:
                    _, (old, _) = self._cache.popitem(last=False)
                    self._held -= old
        return value


def _to_gcj02(coords: NDArray[np.float64]) -> NDArray[np.float64]:
    lon, lat = wgs84_to_gcj02(coords[:, 0], coords[:, 1])
    return np.column_stack([lon, lat])


def _gcj02_offset(lon: float, lat: float) -> tuple[float, float]:
    """How far GCJ-02 moves a point here, in degrees (dlon, dlat)."""
    glon, glat = wgs84_to_gcj02(np.array([lon]), np.array([lat]))
    return float(glon[0]) - lon, float(glat[0]) - lat


_LOCK = threading.Lock()


def tile_set(levels: Levels, cache_bytes: int) -> TileSet:
    """The tiles of this boundary version (made once, kept with its levels)."""
    with _LOCK:
        found = levels.extras.get("tiles")
        if found is None:
            found = levels.extras["tiles"] = TileSet(levels, cache_bytes)
    assert isinstance(found, TileSet)
    return found


def prepare_tiles(snapshot: Snapshot, cache_bytes: int) -> None:
    """Build what the tiles of the index answers come from need (:meth:`TileSet.prepare`)."""
    tile_set(levels_of(snapshot.index), cache_bytes).prepare()


def prepare_tiles_later(snapshot: Snapshot, cache_bytes: int) -> threading.Thread:
    """:func:`prepare_tiles` in the background, for an index swapped in while serving (a
    tile asked for meanwhile waits for the part it needs, built once)."""
    thread = threading.Thread(
        target=prepare_tiles, args=(snapshot, cache_bytes), name="prepare-tiles", daemon=True
    )
    thread.start()
    return thread
