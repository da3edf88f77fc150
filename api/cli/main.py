"""The ``wangge`` command line: serve, demo, validate, lookup and assign."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from api.cli.planning import register as register_planning
from api.settings import Settings
from geo.errors import WanggeError

app = typer.Typer(
    help="Wangge: geospatial grid management (boundaries, assignment, service).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
console = Console()
map_app = typer.Typer(
    help="Map pages written to files (offline, with their assets).", no_args_is_help=True
)
app.add_typer(map_app, name="map")
err_console = Console(stderr=True)

CrsOption = Annotated[
    str | None,
    typer.Option("--crs", help="Coordinate system: wgs84, gcj02, bd09 or EPSG:<code>"),
]


def _fail(exc: WanggeError) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {exc.message}")
    if exc.allowed:
        err_console.print(f"allowed: {exc.allowed}")
    return typer.Exit(2)


def _load(paths: list[Path] | None, crs: str | None, repair: bool = False):  # type: ignore[no-untyped-def]
    from boundaries.loader import read_boundary_set

    settings = Settings()
    files = paths or settings.boundary_paths
    return read_boundary_set(files, crs=crs or settings.boundaries_crs, repair=repair)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface to listen on")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on")] = None,
) -> None:
    """Run the HTTP service (boundaries from WANGGE_BOUNDARIES, default the demo set)."""
    import uvicorn

    from api.main import create_app

    settings = Settings()
    # Report writes are group-committed by one thread while request threads do the rest; a
    # shorter GIL switch interval (default 5 ms) lets that thread back in sooner, which raises
    # intake throughput and cuts its tail latency under load (see bench/intake.py).
    sys.setswitchinterval(0.001)
    uvicorn.run(
        create_app(settings),
        host=host or settings.host,
        port=port or settings.port,
        log_level="info",
    )


@app.command()
def demo(
    out: Annotated[
        Path | None, typer.Option(help="Output GeoPackage (default: the demo path)")
    ] = None,
    city: Annotated[
        bool, typer.Option("--city", help="All 16 Tianjin districts instead of Hexi")
    ] = False,
    microgrids: Annotated[int, typer.Option(help="With --city: micro-grids in total")] = 150_000,
    seed: Annotated[int, typer.Option(help="Random seed (same seed, same polygons)")] = 20231,
    if_missing: Annotated[
        bool, typer.Option("--if-missing", help="Do nothing if the output exists")
    ] = False,
    reports: Annotated[
        int,
        typer.Option(help="Demo reports to post into the database (Hexi only; 0 for none)"),
    ] = 2000,
) -> None:
    """Generate the demo boundary set: Hexi district's real streets and communities, split
    deterministically into about 1,441 grids and 13,989 micro-grids."""
    from boundaries.demo import build_city, build_hexi, write_gpkg

    settings = Settings()
    target = out or (
        settings.data_dir / "demo" / "tianjin.gpkg" if city else settings.demo_boundaries
    )
    if if_missing and target.exists():
        console.print(f"{target} exists; nothing to do")
        return
    target.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with console.status("generating boundaries..."):
        layers = build_city(seed=seed, microgrids_total=microgrids) if city else build_hexi(seed)
        tmp = target.with_suffix(".tmp.gpkg")
        write_gpkg(layers, tmp)
        tmp.replace(target)  # never leave a half-written file where the service looks
    table = Table(title=f"{target} ({time.perf_counter() - started:.1f} s)")
    table.add_column("level")
    table.add_column("units", justify="right")
    for level, frame in layers:
        table.add_row(level, f"{len(frame):,}")
    console.print(table)
    if reports and not city:
        _seed_demo(settings, target, reports, seed)


def _seed_demo(settings: Settings, boundaries: Path, count: int, seed: int) -> None:
    """Post demo reports through the intake path into the configured database."""
    from api.demo.planning import seed_planning
    from api.demo.seed import seed_reports
    from api.services import open_services

    started = time.perf_counter()
    services = open_services(settings.model_copy(update={"boundaries": str(boundaries)}))
    index, service = services.index, services.cases
    try:
        with console.status("storing demo facilities and population..."):
            planning = seed_planning(service.db.sessions, index.bset, seed=seed)
        console.print(
            f"{planning['facilities']} elderly-care centres; population of "
            f"{planning['residents']:,}, {planning['residents_60']:,} aged 60+, over "
            f"{planning['units']:,} units"
        )
        with console.status(f"posting {count:,} demo reports..."):
            statuses = seed_reports(service, count=count, seed=seed)
    finally:
        services.close()
    if not statuses:
        console.print("the database has reports already; no demo reports added")
        return
    table = Table(title=f"demo reports ({time.perf_counter() - started:.1f} s)")
    table.add_column("status")
    table.add_column("cases", justify="right")
    for status, number in sorted(statuses.items(), key=lambda kv: -kv[1]):
        table.add_row(status, f"{number:,}")
    console.print(table)


@app.command()
def validate(
    files: Annotated[list[Path], typer.Argument(help="A .gpkg, or one file per level, top first")],
    crs: CrsOption = None,
    repair: Annotated[
        bool, typer.Option("--repair", help="Repair invalid polygons with make_valid")
    ] = False,
    tolerance_m: Annotated[
        float, typer.Option(help="How far a unit may stick out of its parent (m)")
    ] = 1.0,
    min_area_m2: Annotated[float, typer.Option(help="Smallest overlap or gap reported (m²)")] = 1.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Check a boundary set; exit 1 if it has errors."""
    from geo.validate import validate_boundary_set

    try:
        bset = _load(files, crs, repair)
    except WanggeError as exc:
        raise _fail(exc) from None
    report = validate_boundary_set(bset, tolerance_m=tolerance_m, min_area_m2=min_area_m2)
    if as_json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        summary = Table(title=f"{bset.name}: {len(bset):,} units")
        summary.add_column("level")
        summary.add_column("units", justify="right")
        for level, count in report.units_per_level.items():
            summary.add_row(level, f"{count:,}")
        console.print(summary)
        if report.issues:
            issues = Table(title="issues", show_lines=False)
            for column in ("severity", "kind", "level", "codes", "area m²", "where", "message"):
                issues.add_column(column, justify="right" if column == "area m²" else "left")
            colour = {"error": "red", "warning": "yellow", "info": "blue"}
            for issue in report.issues[:500]:
                codes = ", ".join(issue.codes)
                issues.add_row(
                    f"[{colour[issue.severity]}]{issue.severity}[/]",
                    issue.kind,
                    issue.level or "",
                    codes if len(codes) < 40 else codes[:39] + "…",
                    f"{issue.area_m2:,.1f}" if issue.area_m2 is not None else "",
                    f"{issue.where[0]:.6f}, {issue.where[1]:.6f}" if issue.where else "",
                    issue.message,
                )
            console.print(issues)
            if len(report.issues) > 500:
                console.print(f"... and {len(report.issues) - 500} more (use --json)")
        console.print(
            f"{len(report.errors)} error(s), {len(report.warnings)} warning(s), "
            f"{len(report.issues) - len(report.errors) - len(report.warnings)} note(s)"
        )
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def lookup(
    lon: Annotated[float, typer.Argument(help="Longitude (or x)")],
    lat: Annotated[float, typer.Argument(help="Latitude (or y)")],
    crs: CrsOption = None,
    boundaries: Annotated[
        list[Path] | None, typer.Option(help="Boundary file(s); default WANGGE_BOUNDARIES")
    ] = None,
) -> None:
    """Print the chain of units containing a point and the responsible leader, as JSON."""
    from geo.assign import BoundaryIndex

    try:
        settings = Settings()
        index = BoundaryIndex(_load(boundaries, None), snap_tolerance_m=settings.snap_tolerance_m)
        result = index.assign([lon], [lat], crs=crs or "wgs84")
    except WanggeError as exc:
        raise _fail(exc) from None
    print(json.dumps(index.describe(result, 0), ensure_ascii=False, indent=2))


@app.command()
def assign(
    input_csv: Annotated[Path, typer.Argument(help="CSV with lon and lat columns")],
    output_csv: Annotated[Path, typer.Argument(help="Where to write the result")],
    boundaries: Annotated[
        list[Path] | None, typer.Option(help="Boundary file(s); default WANGGE_BOUNDARIES")
    ] = None,
    crs: Annotated[
        str, typer.Option(help="Coordinate system of the points: wgs84, gcj02, bd09, EPSG:n")
    ] = "wgs84",
    lon_column: Annotated[str, typer.Option(help="Name of the longitude column")] = "lon",
    lat_column: Annotated[str, typer.Option(help="Name of the latitude column")] = "lat",
    chunk_size: Annotated[int, typer.Option(help="Rows per batch")] = 200_000,
) -> None:
    """Assign every row of a CSV: one code column per level, the leader and the status.

    Rows with invalid coordinates are kept with status ``invalid`` and the reason.
    """
    from geo.assign import BoundaryIndex
    from geo.crs import invalid_lonlat, parse_crs

    try:
        parse_crs(crs)
        settings = Settings()
        index = BoundaryIndex(_load(boundaries, None), snap_tolerance_m=settings.snap_tolerance_m)
    except WanggeError as exc:
        raise _fail(exc) from None
    bset = index.bset
    codes = bset.units["code"].to_numpy(dtype=object)
    names = bset.units["name"].to_numpy(dtype=object)
    leader_name = bset.units["leader_name"].to_numpy(dtype=object)
    leader_phone = bset.units["leader_phone"].to_numpy(dtype=object)
    total = sum(1 for _ in input_csv.open("rb")) - 1
    counts: dict[str, int] = {}
    if output_csv.exists():
        output_csv.unlink()
    progress = Progress(
        TextColumn("assigning"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err_console,
    )
    with progress:
        task = progress.add_task("rows", total=max(total, 0))
        for chunk in pd.read_csv(input_csv, chunksize=chunk_size, dtype=str, keep_default_na=False):
            missing = [c for c in (lon_column, lat_column) if c not in chunk.columns]
            if missing:
                err_console.print(
                    f"[bold red]error:[/] no column(s) {missing} in {input_csv}; it has "
                    f"{list(chunk.columns)} (use --lon-column/--lat-column)"
                )
                raise typer.Exit(2)
            lon = pd.to_numeric(chunk[lon_column], errors="coerce").to_numpy(dtype=float)
            lat = pd.to_numeric(chunk[lat_column], errors="coerce").to_numpy(dtype=float)
            if parse_crs(crs).name in ("wgs84", "gcj02", "bd09"):
                bad, why = invalid_lonlat(lon, lat)
            else:
                bad = ~(np.isfinite(lon) & np.isfinite(lat))
                why = np.where(bad, "not a finite number", "")
            good = np.flatnonzero(~bad)
            out = chunk.copy()
            status = np.full(len(chunk), "invalid", dtype=object)
            reason = np.asarray(why, dtype=object)
            chain = np.full((len(chunk), len(bset.levels)), -1, dtype=np.intp)
            leader = np.full(len(chunk), -1, dtype=np.intp)
            distance = np.full(len(chunk), np.nan)
            if good.size:
                try:
                    result = index.assign(lon[good], lat[good], crs=crs)
                except WanggeError as exc:  # e.g. projected input that falls off the globe
                    raise _fail(exc) from None
                status[good] = result.status
                chain[good] = result.chain
                leader[good] = result.leader
                distance[good] = result.distance_m
                reason[good] = ""
                far = np.flatnonzero(result.status == "unassigned")
                distance[good[far]] = index.distance_to_set(result.lon[far], result.lat[far])
                for k in np.flatnonzero(result.status != "assigned"):
                    reason[good[k]] = index.explain(
                        str(result.status[k]), int(result.unit[k]), float(distance[good[k]])
                    )
            for d, level in enumerate(bset.levels):
                out[f"{level}_code"] = _take(codes, chain[:, d])
                out[f"{level}_name"] = _take(names, chain[:, d])
            out["leader_unit"] = _take(codes, leader)
            out["leader_name"] = _take(leader_name, leader)
            out["leader_phone"] = _take(leader_phone, leader)
            out["status"] = status
            out["distance_m"] = np.round(distance, 2)
            out["reason"] = reason
            out.to_csv(output_csv, mode="a", header=not output_csv.exists(), index=False)
            for value, count in zip(
                *np.unique(status.astype(str), return_counts=True), strict=True
            ):
                counts[str(value)] = counts.get(str(value), 0) + int(count)
            progress.advance(task, len(chunk))
    table = Table(title=f"{output_csv}")
    table.add_column("status")
    table.add_column("rows", justify="right")
    for value, count in sorted(counts.items()):
        table.add_row(value, f"{count:,}")
    console.print(table)


@map_app.command("density")
def map_density(
    out: Annotated[Path, typer.Option(help="The HTML file to write")] = Path("density.html"),
    level: Annotated[str, typer.Option(help="Level of the choropleth")] = "grid",
    category: Annotated[list[str] | None, typer.Option(help="Only these categories")] = None,
    status: Annotated[list[str] | None, typer.Option(help="Only these statuses")] = None,
    days: Annotated[float | None, typer.Option(help="Only cases of the last N days")] = None,
    phones: Annotated[bool, typer.Option(help="Put leaders' phones in the popups")] = False,
) -> None:
    """Write the density map as served at /maps/density, with its scripts and styles copied
    beside it (static/maps/), so the page opens from the file with no network."""
    from datetime import UTC, datetime, timedelta

    from api.pages.coverage import FILE_ASSET_BASE, write_page
    from api.pages.density import DensityQuery, density_page, parse_statuses
    from api.services import load_index, open_services

    settings = Settings()
    try:
        index = load_index(settings)
        index.bset.depth_of(level)
        statuses = parse_statuses(status)
    except WanggeError as exc:
        raise _fail(exc) from None
    services = open_services(settings, index=index, writer=False)
    service = services.cases
    since = datetime.now(UTC) - timedelta(days=days) if days else None
    try:
        html = density_page(
            service,
            DensityQuery(
                level=level, categories=tuple(category or ()), statuses=statuses, since=since
            ),
            None,
            asset_base=FILE_ASSET_BASE,
            tiles=settings.tiles_url,
            tiles_attribution=settings.tiles_attribution,
            case_url="#{id}",
            show_phones=phones,
            display_tz=settings.display_tz,
        )
    finally:
        services.close()
    write_page(html, out)
    console.print(
        f"wrote {out} ({len(html) / 1e6:.2f} MB) and its files under {out.parent / FILE_ASSET_BASE}"
    )


def _take(values: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """values[positions], with None where a position is -1."""
    out = np.full(len(positions), None, dtype=object)
    ok = positions >= 0
    out[ok] = values[positions[ok]]
    return out


keys_app = typer.Typer(help="API keys: create, list, revoke.", no_args_is_help=True)
db_app = typer.Typer(help="The database: migrations.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.add_typer(db_app, name="db")
register_planning(app)


def _factory():  # type: ignore[no-untyped-def]
    from api.db.engine import make_engine, migrate, session_factory

    engine = make_engine(Settings().database)
    migrate(engine)
    return session_factory(engine)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Create or migrate the database to the newest schema (WANGGE_DATABASE_URL)."""
    _factory()
    console.print(f"database at {Settings().database.split('@')[-1]} is up to date")


@keys_app.command("create")
def keys_create(
    role: Annotated[str, typer.Option(help="reporter, grid_worker, dispatcher, planner, admin")],
    unit: Annotated[
        str | None, typer.Option(help="The unit a grid worker serves (its code)")
    ] = None,
    name: Annotated[str, typer.Option(help="Who or what the key is for")] = "",
) -> None:
    """Create an API key; the key is printed alone on the last line (and never stored)."""
    from api.access.keys import create_key
    from api.access.policy import Role

    if role not in {r.value for r in Role}:
        err_console.print(f"[bold red]error:[/] unknown role {role!r}")
        err_console.print("allowed: " + ", ".join(r.value for r in Role))
        raise typer.Exit(2)
    if role == Role.GRID_WORKER and not unit:
        err_console.print("[bold red]error:[/] a grid worker's key needs --unit CODE")
        raise typer.Exit(2)
    with _factory()() as session:
        row, key = create_key(session, role, unit_code=unit, name=name)
    err_console.print(f"key {row.id} for role {row.role}" + (f", unit {unit}" if unit else ""))
    print(key)


@keys_app.command("list")
def keys_list() -> None:
    """List keys (never the keys themselves)."""
    from sqlalchemy import select

    from api.db.models import ApiKey

    table = Table()
    for column in ("id", "role", "unit", "name", "created", "revoked"):
        table.add_column(column)
    with _factory()() as session:
        for row in session.scalars(select(ApiKey).order_by(ApiKey.id)):
            table.add_row(
                str(row.id),
                row.role,
                row.unit_code or "",
                row.name,
                f"{row.created_at:%Y-%m-%d %H:%M}",
                f"{row.revoked_at:%Y-%m-%d %H:%M}" if row.revoked_at else "",
            )
    console.print(table)


@keys_app.command("revoke")
def keys_revoke(
    key_id: Annotated[int, typer.Argument(help="The key's id (wangge keys list)")],
) -> None:
    """Revoke a key."""
    from datetime import UTC, datetime

    from api.db.models import ApiKey

    with _factory()() as session:
        row = session.get(ApiKey, key_id)
        if row is None:
            err_console.print(f"[bold red]error:[/] no key {key_id}")
            raise typer.Exit(2)
        row.revoked_at = row.revoked_at or datetime.now(UTC)
        session.commit()
    console.print(f"key {key_id} revoked")


def main() -> None:
    """Entry point of the ``wangge`` console script."""
    app()


if __name__ == "__main__":
    main()
