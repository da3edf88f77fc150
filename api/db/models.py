"""Database tables (SQLAlchemy 2 ORM). Migrations live in api/db/migrations (alembic)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from geoalchemy2 import Geometry
from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Computed,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, deferred, mapped_column
from sqlalchemy.types import TypeDecorator

from geo.grid import grid_cell


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
    #: The volunteer team of a team lead's key (its orders, volunteers and their points).
    team_id: Mapped[int | None] = mapped_column(Integer, nullable=True)


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


#: Side in metres of each report's stored heat cell (changing it needs a migration).
HEAT_CELL_M = 75.0


def _heat_cell(context: Any) -> tuple[int, int]:
    """A new report's heat cell, from its lon and lat, whatever writes the row."""
    row = context.get_current_parameters()
    return grid_cell(row["lon"], row["lat"], HEAT_CELL_M)


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
    #: searched through ix_reports_status_created_at and ix_reports_status_due_at (below)
    status: Mapped[str] = mapped_column(String(20))
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
    #: Its cell of geo.grid, set when written (it never moves): see api.db.heat.
    heat_x: Mapped[int | None] = mapped_column(default=lambda c: _heat_cell(c)[0])
    heat_y: Mapped[int | None] = mapped_column(default=lambda c: _heat_cell(c)[1])
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
    #: found through ix_report_units_level_code (below; api.cases.units)
    code: Mapped[str] = mapped_column(String(64))
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


# -- state shared by several workers (migration 0007) ----------------------------------------


class RateCount(Base):
    """Requests one worker admitted for one key in one minute (``minute``: minutes since the
    epoch). A key's rate is the sum over the workers, so its limit holds however many serve
    it; each worker writes only its own rows, a few times a second, off the request path."""

    __tablename__ = "rate_counts"

    key_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    minute: Mapped[int] = mapped_column(Integer, primary_key=True, index=True)
    worker: Mapped[str] = mapped_column(String(32), primary_key=True)
    count: Mapped[int] = mapped_column(Integer)


#: Each worker follows the reports changed since it last looked (its duplicate index): their
#: ids and statuses read from this index alone, not from the table's rows.
Index("ix_reports_updated_at_status", Report.updated_at, Report.status)
#: Open311 finds a token's report by the key alone (the primary key begins with the client).
Index("ix_idempotency_keys_key", IdempotencyRecord.key)


# -- volunteer services: service types, teams, volunteers, orders, points, the exchange ------


class ServiceType(Base):
    """A service residents may order (理发, 助餐, ...), with the points earned per hour of it."""

    __tablename__ = "service_types"

    code: Mapped[str] = mapped_column(String(64), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(100))
    points_per_hour: Mapped[float] = mapped_column(Float)
    #: Dispatched at once to the best candidate with free capacity, without a dispatcher.
    auto_dispatch: Mapped[bool] = mapped_column(Boolean, default=False)


class VolunteerTeam(Base):
    """A volunteer team: the services it offers, where it serves (units by code, everything
    below them included, and/or a base with a radius) and how many orders a day it takes."""

    __tablename__ = "volunteer_teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str] = mapped_column(String(200), default="")
    services: Mapped[list[str]] = mapped_column(JSON, default=list)
    units: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: The base in WGS84 (converted from the system it was given in), and the reach around it.
    lon: Mapped[float | None] = mapped_column(Float, nullable=True)
    lat: Mapped[float | None] = mapped_column(Float, nullable=True)
    radius_m: Mapped[float | None] = mapped_column(Float, nullable=True)
    capacity_per_day: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column()


class Volunteer(Base):
    """A volunteer of a team; name and phone are personal data (api.access.policy)."""

    __tablename__ = "volunteers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    team_id: Mapped[int] = mapped_column(ForeignKey("volunteer_teams.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str | None] = mapped_column(String(50), nullable=True)
    skills: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column()


class ServiceOrder(Base):
    """A resident's order for a service (点单), placed in the units like a report."""

    __tablename__ = "service_orders"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    service: Mapped[str] = mapped_column(ForeignKey("service_types.code"), index=True)
    description: Mapped[str] = mapped_column(Text, default="")
    lon: Mapped[float] = mapped_column(Float)
    lat: Mapped[float] = mapped_column(Float)
    input_crs: Mapped[str] = mapped_column(String(40))
    input_lon: Mapped[float] = mapped_column(Float)
    input_lat: Mapped[float] = mapped_column(Float)
    #: The chain of units the place lies in, top first (codes), and the deepest of them.
    units: Mapped[list[str]] = mapped_column(JSON, default=list)
    unit_code: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    assignment: Mapped[str] = mapped_column(String(20))
    boundary_version_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    wanted_from: Mapped[datetime] = mapped_column()
    wanted_until: Mapped[datetime] = mapped_column()
    status: Mapped[str] = mapped_column(String(20), index=True)
    team_id: Mapped[int | None] = mapped_column(
        ForeignKey("volunteer_teams.id"), nullable=True, index=True
    )
    ordered_by: Mapped[int] = mapped_column(Integer)
    stars: Mapped[int | None] = mapped_column(Integer, nullable=True)
    rating_comment: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(index=True)
    updated_at: Mapped[datetime] = mapped_column()


class ServiceOrderEvent(Base):
    """One step of an order. Append-only: the database refuses updates and deletes."""

    __tablename__ = "service_order_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("service_orders.id"), index=True)
    at: Mapped[datetime] = mapped_column()
    actor: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20))
    action: Mapped[str] = mapped_column(String(20))
    from_status: Mapped[str | None] = mapped_column(String(20), nullable=True)
    to_status: Mapped[str] = mapped_column(String(20))
    note: Mapped[str] = mapped_column(Text, default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class PointsEntry(Base):
    """One line of a volunteer's points ledger (credit, redemption, correction). Append-only:
    the database refuses updates and deletes; the balance is their sum."""

    __tablename__ = "points_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), index=True)
    at: Mapped[datetime] = mapped_column()
    kind: Mapped[str] = mapped_column(String(20))
    points: Mapped[float] = mapped_column(Float)
    order_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    redemption_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    hours: Mapped[float | None] = mapped_column(Float, nullable=True)
    reason: Mapped[str] = mapped_column(Text, default="")
    author: Mapped[str] = mapped_column(String(200))


class PointsBalance(Base):
    """A volunteer's balance, the sum of the ledger kept beside it: redemptions take points with
    a conditional UPDATE (``balance >= cost``), so concurrent ones can never overdraw it."""

    __tablename__ = "points_balances"

    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), primary_key=True)
    balance: Mapped[float] = mapped_column(Float, default=0.0)


class ExchangeItem(Base):
    """An item of the points exchange (积分兑换): its price in points and the stock left."""

    __tablename__ = "exchange_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(200))
    points: Mapped[float] = mapped_column(Float)
    stock: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column()


class Redemption(Base):
    """Points exchanged for items: the stock and the balance were taken in its transaction."""

    __tablename__ = "redemptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    volunteer_id: Mapped[int] = mapped_column(ForeignKey("volunteers.id"), index=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("exchange_items.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer)
    points: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime] = mapped_column()
    author: Mapped[str] = mapped_column(String(200))


# -- webhooks: subscriptions, the event outbox, deliveries (api.webhooks) --------------------


class WebhookSubscription(Base):
    """A receiver of events: its URL, its filters and the secret its requests are signed with.

    The secret is stored as it was given out (it must be kept to compute signatures); the
    database is the service's own, as its API keys' hashes are.
    """

    __tablename__ = "webhook_subscriptions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(100))
    events: Mapped[list[str]] = mapped_column(JSON)
    #: Unit codes: a case in one of them or below matches (empty: every unit).
    units: Mapped[list[str]] = mapped_column(JSON)
    categories: Mapped[list[str]] = mapped_column(JSON)
    #: The role whose view of personal data the events carry (api.access.policy).
    role: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(200), default="", server_default="")
    paused: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column()
    updated_at: Mapped[datetime] = mapped_column()


class WebhookEvent(Base):
    """One event in the outbox, written in the transaction of the change that caused it."""

    __tablename__ = "webhook_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    event_id: Mapped[str] = mapped_column(String(36), unique=True)
    type: Mapped[str] = mapped_column(String(64))
    occurred_at: Mapped[datetime] = mapped_column(index=True)
    #: What the event is about ("report:12"): the events of one entity reach a receiver in order.
    entity: Mapped[str | None] = mapped_column(String(100), nullable=True)
    #: The unit codes the entity lies in, top first (subscriptions filter on them).
    units: Mapped[list[str]] = mapped_column(JSON)
    category: Mapped[str | None] = mapped_column(String(64), nullable=True)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: Personal data, added to ``data`` only for subscriptions whose role may see it.
    private: Mapped[dict[str, Any]] = mapped_column(JSON)
    #: Whether the deliveries of the matching subscriptions have been made.
    fanned_out: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    __table_args__ = (Index("ix_webhook_events_fanned_out", "fanned_out", "id"),)


class WebhookDelivery(Base):
    """One event for one subscription: pending (maybe leased by a worker), delivered or dead."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    subscription_id: Mapped[int] = mapped_column(
        ForeignKey("webhook_subscriptions.id", ondelete="CASCADE")
    )
    event_pk: Mapped[int] = mapped_column(ForeignKey("webhook_events.id"))
    entity: Mapped[str | None] = mapped_column(String(100), nullable=True)
    state: Mapped[str] = mapped_column(String(10))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_at: Mapped[datetime] = mapped_column()
    #: A worker delivering it holds it until then (a worker killed mid-delivery lets it go).
    lease_until: Mapped[datetime | None] = mapped_column(nullable=True)
    leased_by: Mapped[str | None] = mapped_column(String(40), nullable=True)
    last_attempt_at: Mapped[datetime | None] = mapped_column(nullable=True)
    last_status_code: Mapped[int | None] = mapped_column(Integer, nullable=True)
    last_latency_ms: Mapped[float | None] = mapped_column(Float, nullable=True)
    last_error: Mapped[str | None] = mapped_column(String(500), nullable=True)
    last_response: Mapped[str | None] = mapped_column(String(500), nullable=True)
    delivered_at: Mapped[datetime | None] = mapped_column(nullable=True)
    created_at: Mapped[datetime] = mapped_column()

    __table_args__ = (
        UniqueConstraint("subscription_id", "event_pk", name="uq_webhook_delivery"),
        CheckConstraint("state IN ('pending', 'delivered', 'dead')", "ck_webhook_deliveries_state"),
        Index("ix_webhook_deliveries_due", "state", "next_at"),
        Index("ix_webhook_deliveries_order", "subscription_id", "entity", "event_pk"),
    )


class WebhookOverdue(Base):
    """A case whose report.overdue event has been recorded (once per case)."""

    __tablename__ = "webhook_overdue"

    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), primary_key=True)
    emitted_at: Mapped[datetime] = mapped_column()


# -- the dispatcher's screen (migration 0008): indexes the density map's aggregates read ----
Index("ix_report_units_level_code", ReportUnit.level, ReportUnit.code)
Index("ix_reports_status_created_at", Report.status, Report.created_at)
Index("ix_reports_status_due_at", Report.status, Report.due_at)
