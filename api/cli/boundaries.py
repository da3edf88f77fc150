"""Boundary files and points: ``wangge validate``, ``wangge lookup``, ``wangge assign``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from api.cli.common import CrsOption, console, err_console, fail, read_boundaries
from api.settings import Settings
from geo.errors import WanggeError


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
        bset = read_boundaries(files, crs, repair=repair)
    except WanggeError as exc:
        raise fail(exc) from None
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
        index = BoundaryIndex(
            read_boundaries(boundaries), snap_tolerance_m=settings.snap_tolerance_m
        )
        result = index.assign([lon], [lat], crs=crs or "wgs84")
    except WanggeError as exc:
        raise fail(exc) from None
    print(json.dumps(index.describe(result, 0), ensure_ascii=False, indent=2))


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
    from geo.batch import assign_table
    from geo.crs import parse_crs

    try:
        parse_crs(crs)
        settings = Settings()
        index = BoundaryIndex(
            read_boundaries(boundaries), snap_tolerance_m=settings.snap_tolerance_m
        )
    except WanggeError as exc:
        raise fail(exc) from None
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
            try:
                out = assign_table(
                    index, chunk, lon_column=lon_column, lat_column=lat_column, crs=crs
                )
            except KeyError as exc:
                err_console.print(
                    f"[bold red]error:[/] {exc.args[0]} in {input_csv} "
                    "(use --lon-column/--lat-column)"
                )
                raise typer.Exit(2) from None
            except WanggeError as exc:  # e.g. projected input that falls off the globe
                raise fail(exc) from None
            out.to_csv(output_csv, mode="a", header=not output_csv.exists(), index=False)
            for value, count in out["status"].value_counts().items():
                counts[str(value)] = counts.get(str(value), 0) + int(count)
            progress.advance(task, len(chunk))
    table = Table(title=f"{output_csv}")
    table.add_column("status")
    table.add_column("rows", justify="right")
    for value, count in sorted(counts.items()):
        table.add_row(value, f"{count:,}")
    console.print(table)
