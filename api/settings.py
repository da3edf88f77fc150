"""Settings for the service, read from the environment with the WANGGE_ prefix."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Boundaries, assignment and request limits (WANGGE_BOUNDARIES, WANGGE_SNAP_TOLERANCE_M...)."""

    model_config = SettingsConfigDict(env_prefix="WANGGE_", extra="ignore")

    #: Where generated and stored data lives (demo boundaries, later the database and media).
    data_dir: Path = Path("var")
    #: Boundary file(s): a GeoPackage, or GeoJSON/Shapefile paths separated by commas, top first.
    #: Empty means the demo set under data_dir (``wangge demo`` builds it).
    boundaries: str = ""
    #: Coordinate system of the boundary files when they carry none or the wrong one
    #: (wgs84, gcj02, bd09 or EPSG:<code>).
    boundaries_crs: str | None = None
    #: Points outside every unit but this close (metres) are snapped to the nearest unit.
    snap_tolerance_m: float = Field(50.0, ge=0, le=10_000)
    #: SQLAlchemy URL of the database; empty means a SQLite file under data_dir. PostgreSQL
    #: with PostGIS: postgresql+psycopg://user:password@host/db
    database_url: str = ""
    #: Where photos are stored (default data_dir/media).
    media_dir: Path | None = None
    #: Photos per report, and the largest photo accepted (bytes).
    max_photos: int = Field(3, ge=0, le=20)
    max_photo_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    #: The largest photo accepted in pixels (width x height), read from its header before it
    #: is decoded: a small file can hold a huge image, and decoding costs 1-4 bytes a pixel.
    max_photo_pixels: int = Field(40_000_000, ge=1)
    #: Category catalogue (JSON list of {code, name_zh, name_en, sla_hours, department,
    #: duplicate_radius_m?}); empty means the built-in catalogue.
    categories_file: Path | None = None
    #: Volunteer service catalogue (JSON list of {code, name_zh, name_en, points_per_hour,
    #: auto_dispatch?}); empty means the built-in one.
    service_types_file: Path | None = None
    #: Open reports of the same category this close (m) and this recent (h) are possible
    #: duplicates (a category can set its own radius).
    duplicate_radius_m: float = Field(50.0, gt=0)
    duplicate_window_hours: float = Field(72.0, gt=0)
    #: A rating below this reopens a resolved case; at or above it closes the case.
    reopen_below_rating: int = Field(3, ge=1, le=6)
    #: Where new reports are turned into SQL and committed: ``process``, a child process fed
    #: batches over a pipe (the server's event loop keeps its interpreter lock and one core to
    #: itself), or ``thread``, a thread of the server (what tests in one process use).
    writer: Literal["process", "thread"] = "process"
    #: Requests per minute allowed per API key (429 beyond).
    rate_limit_per_minute: int = Field(1200, ge=1)
    #: Count each key's requests across every server process on the database (set for its
    #: workers by ``wangge serve --workers N``; set it for several servers on one database).
    rate_limit_shared: bool = False
    #: Signs the browser session cookie. No default: when unset, a random secret is made at
    #: start-up (sessions then end when the service restarts).
    session_secret: str | None = None
    #: How long a browser session lasts after signing in.
    session_hours: float = Field(12.0, gt=0, le=24 * 30)
    # -- the browser's edge: sign-in origins, the cookie's Secure flag, trusted proxies --------
    #: Origins (scheme://host[:port], comma-separated) besides the service's own from which the
    #: sign-in form may be posted; any other Origin (or Referer) is refused (login CSRF).
    allowed_origins: str = ""
    #: The Secure flag of the session cookie: auto (when the request came over HTTPS, as a
    #: trusted proxy says), always (a service reached over HTTPS only) or never.
    cookie_secure: Literal["auto", "always", "never"] = "auto"
    #: Proxies whose X-Forwarded-Proto and X-Forwarded-For are believed: comma-separated IP
    #: addresses or networks, "*" for any. From anyone else these headers are ignored.
    forwarded_allow_ips: str = "127.0.0.1,::1"
    #: Base map tiles for the map pages: a URL template ({z}/{x}/{y}); none draws the
    #: boundaries on a plain background.
    tiles_url: str | None = None
    tiles_attribution: str | None = None
    #: Time zone of the times shown on map pages, and whose calendar days volunteer teams'
    #: daily capacity is counted in.
    display_tz: str = "Asia/Shanghai"
    #: Coordinate system of the base tiles: "gcj02" for Amap or Tencent tiles (the overlays,
    #: held in WGS84, are then drawn shifted to GCJ-02 to line up with them).
    tiles_crs: Literal["wgs84", "gcj02"] = "wgs84"
    #: Serve POST /bench/noop (the baseline of bench/intake.py).
    bench_noop: bool = False
    #: Most points accepted by one POST /lookup/batch.
    batch_max_points: int = Field(10_000, ge=1)
    #: Largest request body accepted, in bytes (413 beyond).
    max_body_bytes: int = Field(2_000_000, ge=1_024)
    #: Largest boundary file accepted by POST /boundaries/versions (bytes, 413 beyond).
    max_boundary_upload_bytes: int = Field(200 * 1024 * 1024, ge=1_024)
    #: Street network for coverage in network mode (GET /coverage?mode=network): street centre
    #: lines (GeoJSON, Shapefile, GeoPackage) or an OSMnx GraphML file. Read on first use.
    street_network: Path | None = None
    host: str = "127.0.0.1"
    port: int = 8000

    # -- standards: Open311 GeoReport v2, OGC API - Features, vector tiles ------------------
    #: Answer the Open311 GET routes without a key, with no personal data (FixMyStreet's
    #: model); a key, when sent, still gets its role's view. POST always needs a key.
    open311_public_read: bool = False
    #: The jurisdiction_id Open311 clients send; when set, any other value is refused (400).
    open311_jurisdiction_id: str | None = None
    #: Encoded vector tiles kept in memory for the active boundary version, in bytes.
    tile_cache_bytes: int = Field(64 * 1024 * 1024, ge=0)

    # -- webhooks: signed events from the outbox (api.webhooks) ------------------------------
    #: Hosts webhook targets may be on: comma-separated names or addresses, "*.example.org"
    #: for a domain's subdomains. Empty: none, except loopback when serving the demo set.
    webhook_allowed_hosts: str = ""
    #: Time-outs of a delivery (seconds): to connect, and to wait for each read or write.
    webhook_connect_timeout_s: float = Field(3.0, gt=0, le=60)
    webhook_read_timeout_s: float = Field(10.0, gt=0, le=300)
    #: At most this much of a receiver's answer is read (bytes); the rest is dropped.
    webhook_max_response_bytes: int = Field(64 * 1024, ge=256, le=10 * 1024 * 1024)
    #: Failed attempts before a delivery is dead (replay brings it back).
    webhook_max_attempts: int = Field(15, ge=1, le=100)
    #: Backoff after the n-th failure: base * 2**(n-1) seconds, jittered, at most the max.
    webhook_retry_base_s: float = Field(5.0, gt=0, le=3600)
    webhook_retry_max_s: float = Field(86_400.0, gt=0)
    #: How often the dispatcher looks for work committed by other processes (seconds).
    webhook_poll_s: float = Field(1.0, gt=0, le=60)
    #: How long a worker holds a delivery it is making (then another may take it over).
    webhook_lease_s: float = Field(60.0, gt=0, le=3600)
    #: Deliveries made at once by one process, and at once to one subscription.
    webhook_workers: int = Field(16, ge=1, le=64)
    webhook_per_subscription: int = Field(4, ge=1, le=64)
    #: Deliveries of one subscription claimed beyond its threads, kept in order until one is free.
    webhook_backlog_per_subscription: int = Field(32, ge=0, le=1000)
    #: Days a settled webhook event and its deliveries are kept (then removed, hourly).
    webhook_retention_days: float = Field(30.0, gt=0, le=3650)
    #: How often open cases past their due time are looked for (report.overdue).
    webhook_overdue_check_s: float = Field(30.0, gt=0)
    #: Run the dispatcher in this process (off: events are recorded, others deliver them).
    webhook_dispatch: bool = True

    @field_validator("display_tz")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (an IANA name: Asia/Shanghai)") from None
        return value

    @property
    def demo_boundaries(self) -> Path:
        return self.data_dir / "demo" / "hexi.gpkg"

    @property
    def database(self) -> str:
        return self.database_url or f"sqlite:///{self.data_dir / 'wangge.db'}"

    @property
    def media(self) -> Path:
        return self.media_dir or self.data_dir / "media"

    @property
    def max_upload_bytes(self) -> int:
        """Largest multipart body: the photos plus room for the form fields."""
        return self.max_photos * self.max_photo_bytes + 1024 * 1024

    @property
    def allowed_origin_list(self) -> list[str]:
        return [o.strip().rstrip("/").lower() for o in self.allowed_origins.split(",") if o.strip()]

    @property
    def webhook_hosts(self) -> list[str]:
        """The allowed webhook hosts; loopback alone when the demo set is served and none
        are configured."""
        hosts = [h.strip().lower() for h in self.webhook_allowed_hosts.split(",") if h.strip()]
        if not hosts and not self.boundaries.strip():
            return ["127.0.0.1", "localhost", "::1"]
        return hosts

    @property
    def boundary_paths(self) -> list[Path]:
        if not self.boundaries.strip():
            return [self.demo_boundaries]
        return [Path(p.strip()) for p in self.boundaries.split(",") if p.strip()]
