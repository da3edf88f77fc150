"""``wangge demo``: the Hexi demo boundaries, and its reports and planning data."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from api.cli.common import console
from api.settings import Settings


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
    from api.demo.cases import seed_reports
    from api.demo.planning import seed_planning
    from api.demo.volunteers import seed_volunteers
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
        with console.status("storing demo volunteer teams and their orders..."):
            orders = seed_volunteers(service.db.sessions, services.boundaries, seed=seed)
        if orders:
            console.print(
                "volunteer orders: "
                + ", ".join(f"{n:,} {status}" for status, n in orders.most_common())
            )
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
