"""Settings for the service, read from the environment with the WANGGE_ prefix."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
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
    #: Most points accepted by one POST /lookup/batch.
    batch_max_points: int = Field(10_000, ge=1)
    #: Largest request body accepted, in bytes (413 beyond).
    max_body_bytes: int = Field(5_000_000, ge=1_024)
    host: str = "127.0.0.1"
    port: int = 8000

    @property
    def demo_boundaries(self) -> Path:
        return self.data_dir / "demo" / "hexi.gpkg"

    @property
    def boundary_paths(self) -> list[Path]:
        if not self.boundaries.strip():
            return [self.demo_boundaries]
        return [Path(p.strip()) for p in self.boundaries.split(",") if p.strip()]
