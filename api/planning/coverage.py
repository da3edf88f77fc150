"""Coverage for planners: the :class:`Planning` service and its cache.

:class:`Planning` computes :func:`geo.coverage.coverage_by_unit` for the stored facilities of
a type and the stored population, and keeps the answers in memory keyed by the parameters and
by the data versions (:mod:`api.planning.store`): a counter per table bumped in the same
transaction as every change, by the API or by the command line of another process. A change
is therefore seen on the next request and the stale answers are dropped.
"""

from __future__ import annotations

import hashlib
import math
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import geopandas as gpd
import shapely

from api.db import Database
from api.planning.errors import NetworkNotConfigured
from api.planning.facilities import DEFAULT_FACILITY_TYPE, check_facility_type, facilities_frame
from api.planning.payload import coverage_payload, suggestion_payload
from api.planning.population import (
    POPULATION_SOURCES,
    population_for_coverage,
    units_without_population,
)
from api.planning.store import FACILITIES, POPULATION, data_versions, now_utc
from geo.assign import BoundaryIndex
from geo.coverage import (
    CIRCLE,
    DEFAULT_MINUTES,
    DEFAULT_SPEED_M_PER_MIN,
    NETWORK,
    CoverageResult,
    coverage_by_unit,
    suggest_sites,
)
from geo.crs import points_to_wgs84
from geo.errors import InvalidServiceParameters, NetworkFileError
from geo.network import StreetNetwork, read_street_network
from geo.units import BoundarySet

#: Ranges of the coverage parameters (minutes of walking, metres per minute, new sites).
MINUTES_RANGE = (1.0, 120.0)
SPEED_RANGE = (10.0, 200.0)
K_RANGE = (1, 50)
#: Most candidate sites per request; in network mode each needs its own network area.
MAX_CANDIDATES = 20_000
MAX_NETWORK_CANDIDATES = 500
#: The level coverage is reported at unless one is asked for (else the deepest level).
DEFAULT_LEVEL = "community"


@dataclass(frozen=True)
class CoverageParams:
    """What a coverage answer depends on, besides the data."""

    facility_type: str = DEFAULT_FACILITY_TYPE
    minutes: float = DEFAULT_MINUTES
    speed: float = DEFAULT_SPEED_M_PER_MIN
    level: str | None = None
    mode: str = CIRCLE
    population: str | None = None  # "units", "points" or None: units if any, else points

    @classmethod
    def of(
        cls,
        facility_type: str,
        minutes: float,
        speed: float | None,
        level: str | None,
        mode: str,
        population: str | None = None,
    ) -> CoverageParams:
        """Parameters as requests and commands give them (no speed: the default speed)."""
        return cls(
            facility_type=facility_type,
            minutes=minutes,
            speed=DEFAULT_SPEED_M_PER_MIN if speed is None else speed,
            level=level,
            mode=mode,
            population=population,
        )


@dataclass(frozen=True, eq=False)
class CoverageEntry:
    """A computed coverage, its facilities and the serialised API answer."""

    params: CoverageParams
    level: str
    result: CoverageResult
    facilities: gpd.GeoDataFrame
    summary: dict[str, Any]
    payload: bytes
    etag: str
    bset: BoundarySet  # the set it was computed on (the version active then)


def check_parameters(
    minutes: float, speed: float, mode: str, population: str | None, k: int | None = None
) -> None:
    """Refuse parameters outside the service's ranges (the API's query checks say the same)."""
    checks = [
        ("minutes", minutes, MINUTES_RANGE),
        ("speed", speed, SPEED_RANGE),
    ]
    if k is not None:
        checks.append(("k", k, K_RANGE))
    for name, value, (low, high) in checks:
        if not (isinstance(value, int | float) and math.isfinite(value) and low <= value <= high):
            unit = {"minutes": "minutes", "speed": "metres per minute", "k": "sites"}[name]
            raise InvalidServiceParameters(
                f"{name} {value!r} is out of range", allowed=f"{low:g} to {high:g} {unit}"
            )
    if mode not in (CIRCLE, NETWORK):
        raise InvalidServiceParameters(f"unknown mode {mode!r}", allowed="circle, network")
    if population is not None and population not in POPULATION_SOURCES:
        raise InvalidServiceParameters(
            f"unknown population source {population!r}", allowed="units, points"
        )


class _Snapshot(Protocol):
    @property
    def version_id(self) -> int: ...

    @property
    def index(self) -> BoundaryIndex: ...


class BoundarySource(Protocol):
    """Where the boundaries come from: the active version (``api.versions.ActiveBoundaries``),
    which another version may replace between two requests."""

    @property
    def current(self) -> _Snapshot: ...


class Planning:
    """Coverage of the stored facilities and population over the active boundaries (or one
    fixed set) and a database, the answers cached per parameters, boundary version and data
    version (at most ``cache_size``).

    Population is keyed by unit code: after a new version is activated, units whose code is
    unchanged keep theirs; new units have none until it is imported (the answer counts them).
    """

    def __init__(
        self,
        boundaries: BoundarySet | BoundarySource,
        db: Database,
        *,
        street_network: Path | None = None,
        cache_size: int = 8,
    ) -> None:
        self._boundaries = boundaries
        self.db = db
        # an empty WANGGE_STREET_NETWORK reads as Path("."): not configured
        configured = street_network is not None and str(street_network) not in ("", ".")
        self.street_network = street_network if configured else None
        self.cache_size = cache_size
        self._cache: OrderedDict[tuple[Any, ...], CoverageEntry] = OrderedDict()
        self._lock = threading.Lock()
        self._computing: dict[tuple[Any, ...], threading.Lock] = {}
        self._network: StreetNetwork | None = None
        self._network_lock = threading.Lock()
        #: Computations done (not served from the cache), for tests and logs.
        self.computed = 0

    @property
    def bset(self) -> BoundarySet:
        """The boundary set answers are computed on now."""
        return self._versioned()[0]

    def _versioned(self) -> tuple[BoundarySet, int | None]:
        """The set and its version, read together (None: a fixed set)."""
        source = self._boundaries
        if isinstance(source, BoundarySet):
            return source, None
        snapshot = source.current
        return snapshot.index.bset, snapshot.version_id

    # -- parameters -------------------------------------------------------------------------

    def resolve_level(self, level: str | None, bset: BoundarySet | None = None) -> str:
        """The level asked for (checked), else "community" if the set has it, else the deepest."""
        bset = bset or self.bset
        if level is None:
            return DEFAULT_LEVEL if DEFAULT_LEVEL in bset.levels else bset.levels[-1]
        bset.depth_of(level)
        return level

    def network(self) -> StreetNetwork:
        """The configured street network, read on first use."""
        if self.street_network is None:
            raise NetworkNotConfigured(
                "network mode needs a street network, and none is configured",
                allowed="mode=circle; or set WANGGE_STREET_NETWORK to a file of street centre "
                "lines (GeoJSON, Shapefile, GeoPackage) or an OSMnx GraphML file and restart",
            )
        with self._network_lock:
            if self._network is None:
                if not self.street_network.exists():
                    raise NetworkFileError(
                        f"the street network {self.street_network} (WANGGE_STREET_NETWORK) "
                        "does not exist",
                        allowed="a readable .graphml, GeoJSON, Shapefile or GeoPackage file",
                    )
                self._network = read_street_network(self.street_network)
            return self._network

    def invalidate(self) -> None:
        """Drop every cached answer (after a change made through this process)."""
        with self._lock:
            self._cache.clear()

    # -- coverage ---------------------------------------------------------------------------

    def coverage(self, params: CoverageParams) -> CoverageEntry:
        """The coverage for these parameters and the current data, from the cache if fresh."""
        check_parameters(params.minutes, params.speed, params.mode, params.population)
        bset, boundary_version = self._versioned()
        level = self.resolve_level(params.level, bset)
        network = self.network() if params.mode == NETWORK else None
        with self.db.session() as session:
            check_facility_type(session=session, facility_type=params.facility_type)
            versions = data_versions(session=session)
        key = (
            params.facility_type,
            float(params.minutes),
            float(params.speed),
            level,
            params.mode,
            params.population,
            boundary_version if boundary_version is not None else id(bset),
            versions[FACILITIES],
            versions[POPULATION],
        )
        with self._lock:
            hit = self._cache.get(key)
            if hit is not None:
                self._cache.move_to_end(key)
                return hit
            computing = self._computing.setdefault(key, threading.Lock())
        with computing:  # one computation per key at a time; the others wait for it
            try:
                with self._lock:
                    hit = self._cache.get(key)
                if hit is not None:
                    return hit
                entry = self._compute(bset, params, level, network, key, versions)
                self._keep(key, entry)
            finally:
                with self._lock:
                    self._computing.pop(key, None)
        return entry

    def _keep(self, key: tuple[Any, ...], entry: CoverageEntry) -> None:
        """Cache an answer and drop the answers on older data (never served again); an answer
        on data older than one already cached is not kept."""
        facilities_v, population_v = key[-2:]
        with self._lock:
            if any(k[-2] > facilities_v or k[-1] > population_v for k in self._cache):
                return
            for old in [k for k in self._cache if k[-2] < facilities_v or k[-1] < population_v]:
                del self._cache[old]
            self._cache[key] = entry
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)

    def _compute(
        self,
        bset: BoundarySet,
        params: CoverageParams,
        level: str,
        network: StreetNetwork | None,
        key: tuple[Any, ...],
        versions: dict[str, int],
    ) -> CoverageEntry:
        with self.db.session() as session:
            facilities = facilities_frame(session=session, facility_type=params.facility_type)
            source, population, ignored = population_for_coverage(
                session=session, bset=bset, source=params.population
            )
        without = (
            units_without_population(bset, population["code"].tolist())
            if source == "units" and population is not None
            else None
        )
        if source in ("units", "points") and population is not None and len(population) == 0:
            population = None
        result = coverage_by_unit(
            bset,
            level,
            facilities,
            population,
            minutes=params.minutes,
            speed_m_per_min=params.speed,
            mode=params.mode,
            network=network,
        )
        self.computed += 1
        # parameters first, then the totals
        first = ("level", "mode", "minutes", "speed_m_per_min", "distance_m")
        summary: dict[str, Any] = {"facility_type": params.facility_type}
        summary.update({key: result.summary[key] for key in first})
        summary.update(result.summary)
        summary.update(
            {
                "population_source": source,
                "population_rows_ignored": ignored,
                "units_without_population": without,
                "boundary_set": bset.name,
                "data_version": versions,
                "computed_at": now_utc().isoformat(),
            }
        )
        payload = coverage_payload(result, summary)
        etag = '"' + hashlib.sha256(repr((bset.name, key)).encode()).hexdigest()[:32] + '"'
        return CoverageEntry(params, level, result, facilities, summary, payload, etag, bset)

    def suggest(
        self,
        params: CoverageParams,
        k: int,
        candidates: Sequence[tuple[float, float]] | None = None,
        crs: str = "wgs84",
    ) -> dict[str, Any]:
        """Up to ``k`` new sites covering the most uncovered 60+ residents (greedy MCLP)."""
        check_parameters(params.minutes, params.speed, params.mode, params.population, k)
        frame: gpd.GeoDataFrame | None = None
        if candidates is not None:
            limit = MAX_NETWORK_CANDIDATES if params.mode == NETWORK else MAX_CANDIDATES
            if not 1 <= len(candidates) <= limit:
                raise InvalidServiceParameters(
                    f"{len(candidates)} candidate(s) given", allowed=f"1 to {limit} candidates"
                )
            lon, lat, _ = points_to_wgs84(
                [c[0] for c in candidates], [c[1] for c in candidates], crs
            )
            frame = gpd.GeoDataFrame(
                {"code": [f"candidates[{i}]" for i in range(len(candidates))]},
                geometry=gpd.points_from_xy(lon, lat),
                crs=4326,
            )
        entry = self.coverage(params)
        bset = entry.bset
        if frame is None and params.mode == NETWORK:
            # a network area per micro-grid would take minutes: the level's units stand in
            positions = bset.level_positions(entry.level)
            frame = gpd.GeoDataFrame(
                {"code": bset.codes[positions]},
                geometry=shapely.point_on_surface(bset.units.geometry.to_numpy()[positions]),
                crs=4326,
            )
        sites = suggest_sites(entry.result, k, candidates=frame)
        names = bset.units["name"].to_numpy(dtype=object)
        unit_pos = bset.positions(
            [u if u is not None else "" for u in sites["unit"].to_numpy(dtype=object)]
        )
        if candidates is not None:
            described = "given"
        else:
            described = f"{entry.level if params.mode == NETWORK else bset.levels[-1]} units"
        return suggestion_payload(
            entry.summary,
            sites,
            [None if pos < 0 else str(names[pos]) for pos in unit_pos.tolist()],
            k=k,
            candidates=described,
        )
