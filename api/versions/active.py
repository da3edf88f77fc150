"""The active boundaries: the version every request of this process answers from.

One holder per process. Its :attr:`ActiveBoundaries.current` is a snapshot (the version id and
its index, led by the roster's leaders of now) that a request reads once; a change builds the
new index first and then swaps the snapshot in one assignment, so a request never sees half
of a change (an STRtree is immutable: build a new one, then swap).

Every server watches the ``boundaries`` and ``roster`` change counters (one small query a
second, in a thread of its own): when another process activates a version or changes a
leader, this one reloads what changed, so all workers answer from the same version within
about a second (plus the time to build the new index). Indexes of versions other than the
active one (for ``?version=`` and ``?at=``) are kept in a small cache.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import shapely

from api.db import Database
from api.versions import store
from api.versions.roster import Roster
from geo.assign import BoundaryIndex
from geo.units import BoundarySet

log = logging.getLogger("wangge")


@dataclass(frozen=True)
class Snapshot:
    """A version and its index as requests see it (leaders: the roster's, now)."""

    version_id: int
    index: BoundaryIndex


class ActiveBoundaries:
    """The active version's index for this process, kept in step with the database."""

    def __init__(
        self,
        db: Database,
        *,
        snap_tolerance_m: float = 50.0,
        cache_size: int = 3,
        poll_s: float = 1.0,
    ) -> None:
        self.db = db
        self.snap_tolerance_m = snap_tolerance_m
        self.poll_s = poll_s
        self.roster = Roster([])
        self._snapshot: Snapshot | None = None
        self._seen: dict[str, int] = {}
        self._cache_size = cache_size
        self._sets: OrderedDict[int, BoundaryIndex] = OrderedDict()
        self._views: OrderedDict[tuple[int, tuple[int, ...]], BoundaryIndex] = OrderedDict()
        self._lock = threading.RLock()
        self._building: dict[int, threading.Lock] = {}
        self._listeners: list[Callable[[Snapshot], object]] = []
        self._swap_listeners: list[Callable[[Snapshot], object]] = []
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None

    # -- what requests read -----------------------------------------------------------------

    @property
    def current(self) -> Snapshot:
        snapshot = self._snapshot
        if snapshot is None:
            raise RuntimeError("no boundary version is loaded yet")
        return snapshot

    @property
    def index(self) -> BoundaryIndex:
        return self.current.index

    @property
    def bset(self) -> BoundarySet:
        return self.current.index.bset

    @property
    def version_id(self) -> int:
        return self.current.version_id

    @property
    def seen(self) -> dict[str, int]:
        """The change counters as of what this process answers from."""
        return dict(self._seen)

    @property
    def loaded(self) -> bool:
        return self._snapshot is not None

    def geometry(self, version_id: int) -> BoundaryIndex:
        """The index of a stored version with the leaders its file named (cached): the
        geometry that :meth:`view` puts the roster on. Built once per version at a time."""
        with self._lock:
            hit = self._sets.get(version_id)
            if hit is not None:
                self._sets.move_to_end(version_id)
                return hit
            building = self._building.setdefault(version_id, threading.Lock())
        with building:
            with self._lock:
                hit = self._sets.get(version_id)
            if hit is not None:
                return hit
            with self.db.session() as session:
                bset = store.load_set(session, version_id)
            index = BoundaryIndex(bset, snap_tolerance_m=self.snap_tolerance_m)
            self.keep(version_id, index)
            return index

    def keep(self, version_id: int, index: BoundaryIndex) -> None:
        """Cache a version's index (with its file's leaders), e.g. one just imported."""
        with self._lock:
            self._sets[version_id] = index
            self._sets.move_to_end(version_id)
            active = self._snapshot.version_id if self._snapshot else None
            while len(self._sets) > self._cache_size:
                oldest = next(v for v in self._sets if v != active)
                del self._sets[oldest]

    def view(self, version_id: int, *, at: datetime | None = None) -> BoundaryIndex:
        """A version's index led by the roster's leaders at a time (None: now)."""
        key = (version_id, self.roster.key(at))
        with self._lock:
            hit = self._views.get(key)
            if hit is not None:
                self._views.move_to_end(key)
                return hit
        index = self.geometry(version_id).with_leaders(self.roster.table(at))
        self._keep_view(key, index)
        return index

    def _keep_view(self, key: tuple[int, tuple[int, ...]], index: BoundaryIndex) -> None:
        with self._lock:
            self._views[key] = index
            self._views.move_to_end(key)
            while len(self._views) > 2 * self._cache_size:
                self._views.popitem(last=False)

    # -- changes ----------------------------------------------------------------------------

    def on_new_version(self, listener: Callable[[Snapshot], object]) -> None:
        """Call ``listener`` after each swap to another version (e.g. to place again the cases
        written meanwhile under the old one)."""
        self._listeners.append(listener)

    def on_swap(self, listener: Callable[[Snapshot], object]) -> None:
        """Call ``listener`` after each swap of the index answers come from (another version,
        or the same version led by another roster), e.g. to build what its pages need."""
        self._swap_listeners.append(listener)

    def load(self) -> None:
        """Read the active version and the roster from the database and answer from them."""
        with self.db.session() as session:
            seen = store.counters(session)
            active = store.active_version(session)
            roster = Roster.read(session)
        if active is None:
            raise RuntimeError("the database has no active boundary version")
        self.adopt(active.id, roster, seen)

    def adopt(
        self,
        version_id: int,
        roster: Roster,
        seen: dict[str, int],
        *,
        index: BoundaryIndex | None = None,
    ) -> None:
        """Answer from a version and a roster (just committed here, or read from the database):
        the new index (``index``, already led by ``roster``, or built here) first, then the
        swap."""
        with self._lock:
            previous = self._snapshot
            self.roster = roster
            if index is None:
                index = self.view(version_id)
            else:
                self._keep_view((version_id, roster.key()), index)
            index.prepare_snapping()  # built before any request is answered from it
            answer_each_kind(index)
            self._snapshot = Snapshot(version_id, index)
            self._seen = dict(seen)
        if previous is not None and previous.index is not index:
            for listener in self._swap_listeners:
                try:
                    listener(self.current)
                except Exception:
                    log.exception("after the swap of the boundary index")
        if previous is not None and previous.version_id != version_id:
            log.info("answering from boundary version %d (was %d)", version_id, previous.version_id)
            for listener in self._listeners:
                try:
                    listener(self.current)
                except Exception:
                    log.exception("after the swap to boundary version %d", version_id)

    def refresh(self) -> bool:
        """Reload what another process changed (one small query when nothing did); whether
        anything was reloaded."""
        with self.db.session() as session:
            seen = store.counters(session)
            if seen == self._seen:
                return False
            active = store.active_version(session)
            roster = Roster.read(session)
        if active is None:
            return False
        self.adopt(active.id, roster, seen)
        return True

    def watch(self) -> None:
        """Check the change counters every ``poll_s`` seconds in a thread of its own."""
        if self._watcher is not None:
            return

        def run() -> None:
            while not self._stop.wait(self.poll_s):
                try:
                    self.refresh()
                except Exception:  # a database hiccup must not stop the watching
                    log.exception("checking for boundary or roster changes")

        self._watcher = threading.Thread(target=run, name="wangge-boundaries", daemon=True)
        self._watcher.start()

    def close(self) -> None:
        self._stop.set()
        if self._watcher is not None:
            self._watcher.join(timeout=10)
            self._watcher = None


def answer_each_kind(index: BoundaryIndex) -> None:
    """Look up a point of each kind once (inside a unit, just outside the set, far outside;
    alone and together, in WGS84 and GCJ-02), so that whatever an index builds on first use
    is built before a request is answered from it, not during the first one."""
    units = index.bset.units.geometry
    inside = units.iloc[-1].representative_point()
    corners = shapely.get_coordinates(units.iloc[0])
    north = corners[corners[:, 1].argmax()]  # a northernmost corner: just north of it snaps
    lon = [inside.x, float(north[0]), float(north[0]) + 1.0]
    lat = [inside.y, float(north[1]) + index.snap_tolerance_m / 2 / 111_000, float(north[1])]
    for crs in ("wgs84", "gcj02"):
        for points in ([0], [1], [2], [0, 1, 2]):
            result = index.assign([lon[i] for i in points], [lat[i] for i in points], crs=crs)
            for i in range(len(result)):
                index.describe(result, i)
