"""Database tables (SQLAlchemy 2 ORM). Migrations live in api/db/migrations (alembic)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    JSON,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, deferred, mapped_column
from sqlalchemy.types import TypeDecorator


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every database (SQLite stores naive text: UTC is assumed)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: pass an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime}


class Category(Base):
    """A kind of problem residents report, with its service-level deadline and department."""

    __tablename__ = "categories"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    sla_hours: Mapped[float] = mapped_column(Float)
    department: Mapped[str] = mapped_column(String(100))
    duplicate_radius_m: Mapped[float | None] = mapped_column(Float, nullable=True)


class ApiKey(Base):
    """A client's key: only its SHA-256 is stored; the prefix finds it."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    prefix: Mapped[str] = mapped_column(String(16), unique=True, index=True)
    key_hash: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(20))
    unit_code: Mapped[str | None] = mapped_column(String(64), nullable=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)


class BrowserSession(Base):
    """A browser signed in with a key. Its cookie holds a random id (signed); the database holds
    the id's SHA-256, so a session can end before it expires: at sign-out, or when its key is
    revoked. Every worker reads this table (briefly cached), so an ended session is refused
    everywhere within about a second."""

    __tablename__ = "browser_sessions"

    id_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"), index=True)
    created_at: Mapped[datetime] = mapped_column()
    expires_at: Mapped[datetime] = mapped_column(index=True)
    revoked_at: Mapped[datetime | None] = mapped_column(nullable=True)


class Report(Base):
    """A geotagged report (a case) and where it stands."""

    __tablename__ = "reports"
    # the PostGIS geometry is computed by the database; never fetch it after an insert
    __mapper_args__ = {"eager_defaults": False}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    category: Mapped[str] = mapped_column(ForeignKey("categories.code"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str | None] = mapped_column(String(500), nullable=True)
    reporter_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    reporter_phone: Mapped[str | None] = mapped_column(String(50), nullable=True)
    submitted_by: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"), nullable=True)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    input_crs: Mapped[str] = mapped_column(String(20))
    input_lon: Mapped[float] = mapped_column(Float)
    input_lat: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20), index=True)
    assignment: Mapped[str] = mapped_column(String(12))
    distance_m: Mapped[float | None] = mapped_column(Float, nullable=True)
    unit_code: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    leader_unit: Mapped[str | None] = mapped_column(String(64), nullable=True)
    leader_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    leader_phone: Mapped[str | None] = mapped_column(String(50), nullable=True)
    boundary_set: Mapped[str] = mapped_column(String(500))
    department: Mapped[str | None] = mapped_column(String(100), nullable=True)
    duplicate_of: Mapped[int | None] = mapped_column(ForeignKey("reports.id"), nullable=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime] = mapped_column()
    due_at: Mapped[datetime] = mapped_column(index=True)
    resolved_at: Mapped[datetime | None] = mapped_column(nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(nullable=True)
    rating: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rating_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    #: The boundary version the current assignment was made under (None: before versions).
    boundary_version_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    #: The responsible leader's own id (a staff number), with the name and phone above.
    leader_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    # Only on PostGIS (the migration adds it there): a point computed from lon/lat, with a GiST
    # index for bounding-box queries. Deferred, so SQLite never selects it.
    geom: Mapped[Any] = deferred(
        mapped_column(
            Geometry("POINT", srid=4326, spatial_index=False),
            Computed("ST_SetSRID(ST_MakePoint(lon, lat), 4326)", persisted=True),
        )
    )

    __table_args__ = (Index("ix_reports_lon_lat", "lon", "lat"),)


class ReportUnit(Base):
    """The chain of units a report was assigned to, one row per level (for 'everything below')."""

    __tablename__ = "report_units"

    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), primary_key=True)
    depth: Mapped[int] = mapped_column(Integer, primary_key=True)
    level: Mapped[str] = mapped_column(String(64))
    code: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))


class ReportEvent(Base):
    """One change to a report. Append-only: the database refuses updates and deletes."""

    __tablename__ = "report_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    at: Mapped[datetime] = mapped_column()
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: What happened: a lifecycle ``transition``, or what the service did to an open case when
    #: the boundaries or the leaders changed (``rerouted``, ``leader_changed``).
    kind: Mapped[str] = mapped_column(String(20), default="transition", server_default="transition")


class Photo(Base):
    """A photo attached to a report, stored under the media directory with metadata stripped."""

    __tablename__ = "photos"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    path: Mapped[str] = mapped_column(String(500))
    content_type: Mapped[str] = mapped_column(String(50))
    bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))


class IdempotencyRecord(Base):
    """The first response to a request with an Idempotency-Key, per client."""

    __tablename__ = "idempotency_keys"

    client: Mapped[str] = mapped_column(String(64), primary_key=True)
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column()


# -- planning: care facilities and the population base table ---------------------------------


class Facility(Base):
    """A care facility (an elderly-care centre, a clinic...), held in WGS84 with the location
    as it was given (coordinate system included), like a report's."""

    __tablename__ = "facilities"
    __mapper_args__ = {"eager_defaults": False}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    type: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(200))
    capacity: Mapped[int | None] = mapped_column(Integer, nullable=True)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    input_crs: Mapped[str] = mapped_column(String(20))
    input_lon: Mapped[float] = mapped_column(Float)
    input_lat: Mapped[float] = mapped_column(Float)
    #: Where the row came from: "api", "import:<file name>" or "demo".
    source: Mapped[str] = mapped_column(String(200), default="api")
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()
    # Only on PostGIS, as for reports: a point computed from lon/lat with a GiST index.
    geom: Mapped[Any] = deferred(
        mapped_column(
            Geometry("POINT", srid=4326, spatial_index=False),
            Computed("ST_SetSRID(ST_MakePoint(lon, lat), 4326)", persisted=True),
        )
    )


class PopulationUnit(Base):
    """Residents of a unit (any level, by code): one row of the population base table.

    Keyed by code and not tied to a boundary version: a code that disappears when grids are
    redrawn is left out of coverage (and counted there) rather than deleted.
    """

    __tablename__ = "population_units"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    residents: Mapped[int] = mapped_column(Integer)
    residents_60: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(200), default="")
    updated_at: Mapped[datetime] = mapped_column()


class PopulationPoint(Base):
    """Residents at a point (a building or a household), in WGS84 with the input as given."""

    __tablename__ = "population_points"
    __mapper_args__ = {"eager_defaults": False}

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    input_crs: Mapped[str] = mapped_column(String(20))
    input_lon: Mapped[float] = mapped_column(Float)
    input_lat: Mapped[float] = mapped_column(Float)
    residents: Mapped[int] = mapped_column(Integer)
    residents_60: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column()
    geom: Mapped[Any] = deferred(
        mapped_column(
            Geometry("POINT", srid=4326, spatial_index=False),
            Computed("ST_SetSRID(ST_MakePoint(lon, lat), 4326)", persisted=True),
        )
    )


class PlanningVersion(Base):
    """A counter per planning table ("facilities", "population"), bumped in the same
    transaction as every change to it: servers key their coverage caches on these, so a
    change made by another process (``wangge facilities import``) is seen at once."""

    __tablename__ = "planning_versions"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)


# -- boundary versions and the leader roster -------------------------------------------------


class BoundaryVersion(Base):
    """One imported grid map: a draft until activated; exactly one is active at a time.

    Like MapIt's generations, a version is a whole boundary set that lookups answer from once
    it is active; unlike them, activating one also re-routes the open cases (api.versions).
    Rolling back is activating an older version again.
    """

    __tablename__ = "boundary_versions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    source_name: Mapped[str] = mapped_column(String(500))
    source_sha256: Mapped[str] = mapped_column(String(64))
    #: The coordinate system the file was declared in (stored geometry is WGS84).
    source_crs: Mapped[str] = mapped_column(String(40))
    levels: Mapped[list[str]] = mapped_column(JSON)
    unit_counts: Mapped[dict[str, int]] = mapped_column(JSON)
    bounds: Mapped[list[float]] = mapped_column(JSON)
    imported_by: Mapped[str] = mapped_column(String(200))
    imported_at: Mapped[datetime] = mapped_column()
    #: ``draft``, ``active`` or ``retired`` (api.versions.store.STATES).
    state: Mapped[str] = mapped_column(String(10), index=True)
    activated_at: Mapped[datetime | None] = mapped_column(nullable=True)
    retired_at: Mapped[datetime | None] = mapped_column(nullable=True)
    #: geo.validate's report (``ValidationReport.to_dict()``), and its counts for quick checks.
    validation: Mapped[dict[str, Any]] = mapped_column(JSON)
    error_count: Mapped[int] = mapped_column(Integer)
    warning_count: Mapped[int] = mapped_column(Integer)


class BoundaryUnit(Base):
    """A unit of one boundary version.

    Units are stored per version, not MapIt-style over a range of generations (valid from
    ``generation_low`` to ``generation_high``). A range assumes versions follow each other in
    one line; here a draft is compared with whatever is active when it is activated, and a
    rollback activates an older version again, so the order of activations is not the order
    of imports. A version held whole is read with one query, diffed against any other, and
    activated or rolled back by a change of state; what it costs is room (about 1 KB a
    micro-grid, 150 MB for a city-scale version), which a city redrawing its map every year or
    two can afford.
    """

    __tablename__ = "boundary_units"
    __mapper_args__ = {"eager_defaults": False}

    version_id: Mapped[int] = mapped_column(ForeignKey("boundary_versions.id"), primary_key=True)
    #: Row of the unit in its set (levels top first, then file order): how it is read back.
    position: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(64))
    depth: Mapped[int] = mapped_column(Integer)
    parent: Mapped[str] = mapped_column(String(64))
    #: The leader the file named (it seeds the roster of a unit that has none on activation).
    leader_name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    leader_phone: Mapped[str | None] = mapped_column(String(50), nullable=True)
    leader_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    properties: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: The polygon in WGS84 as WKB, on every database (what the service reads back).
    wkb: Mapped[bytes] = mapped_column(LargeBinary)
    # Only on PostGIS (the migration adds it there): the geometry computed from the WKB, with
    # a GiST index, for spatial SQL and GIS clients. Deferred, so SQLite never selects it.
    geom: Mapped[Any] = deferred(
        mapped_column(
            Geometry("GEOMETRY", srid=4326, spatial_index=False),
            Computed("ST_GeomFromWKB(wkb, 4326)", persisted=True),
        )
    )

    __table_args__ = (Index("ix_boundary_units_version_code", "version_id", "code", unique=True),)


class BoundaryActivation(Base):
    """Each time a version became active: what ``/lookup?at=`` reads, and what it moved."""

    __tablename__ = "boundary_activations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("boundary_versions.id"), index=True)
    previous_version_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    activated_at: Mapped[datetime] = mapped_column(index=True)
    activated_by: Mapped[str] = mapped_column(String(200))
    #: Open cases: moved to another unit, kept, left without a unit (and the other counts).
    counts: Mapped[dict[str, int]] = mapped_column(JSON)


class LeaderAppointment(Base):
    """A person appointed to lead a unit (by code, in every version) from ``since`` until
    ``until`` (None: still in office). Apart from the geometry: leaders change weekly, the map
    every year or two."""

    __tablename__ = "leader_appointments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    unit_code: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str | None] = mapped_column(String(200), nullable=True)
    phone: Mapped[str | None] = mapped_column(String(50), nullable=True)
    person_id: Mapped[str | None] = mapped_column(String(100), nullable=True)
    since: Mapped[datetime] = mapped_column()
    until: Mapped[datetime | None] = mapped_column(nullable=True)
    #: Who recorded it: a key's name, ``cli``, or ``version <id>`` for a file's seed.
    appointed_by: Mapped[str] = mapped_column(String(200))
    ended_by: Mapped[str | None] = mapped_column(String(200), nullable=True)
    source: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column()


class ChangeCounter(Base):
    """A counter per shared state (``boundaries``: the active version; ``roster``: the
    leaders), bumped in the transaction of every change. Each server reads them once a second
    and reloads what changed, so every worker answers from the same version; bumping one first
    also serialises concurrent changes (a row lock on PostgreSQL, the write lock on SQLite)."""

    __tablename__ = "change_counters"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[int] = mapped_column(Integer, default=0)


# -- the dispatcher's screen (migration 0008): indexes the density map's aggregates read ----
Index("ix_report_units_level_code", ReportUnit.level, ReportUnit.code)
Index("ix_reports_status_created_at", Report.status, Report.created_at)
Index("ix_reports_status_due_at", Report.status, Report.due_at)
