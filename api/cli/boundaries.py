"""Boundary files and points: ``wangge validate``, ``wangge lookup``, ``wangge assign``."""

from __future__ import annotations

import json
from enum import StrEnum
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

from api.cli.common import (
    BoundariesCrsOption,
    BoundariesOption,
    CrsOption,
    console,
    err_console,
    fail,
    read_boundaries,
)
from api.settings import Settings
from geo.errors import TableFileError, WanggeError

if TYPE_CHECKING:
    from geo.tables import CsvTable

#: ``wangge lookup -87.648 41.770``: click takes "-87.648" for an option unless unknown options
#: are passed on as arguments (the float type then reads them).
COORDINATE_ARGUMENTS: dict[str, Any] = {"ignore_unknown_options": True}


def validate(
    files: Annotated[list[Path], typer.Argument(help="A .gpkg, or one file per level, top first")],
    crs: CrsOption = None,
    repair: Annotated[
        bool, typer.Option("--repair", help="Repair invalid polygons with make_valid")
    ] = False,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out", help="Write the set as read (repaired with --repair) to this .gpkg, in WGS84"
        ),
    ] = None,
    tolerance_m: Annotated[
        float, typer.Option(help="How far a unit may stick out of its parent (m)")
    ] = 1.0,
    min_area_m2: Annotated[float, typer.Option(help="Smallest overlap or gap reported (m²)")] = 1.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Check a boundary set; exit 1 if it has errors."""
    from boundaries.loader import write_boundary_set
    from geo.validate import validate_boundary_set

    try:
        if out is not None:
            _check_output(out, files, suffix=".gpkg")
        bset = read_boundaries(files, crs, repair=repair, check=False)
    except WanggeError as exc:
        raise fail(exc) from None
    report = validate_boundary_set(bset, tolerance_m=tolerance_m, min_area_m2=min_area_m2)
    if as_json:
        print(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        _print_report(bset.name, len(bset), report)
    if out is not None:
        try:
            write_boundary_set(bset, out)
        except OSError as exc:
            raise fail(TableFileError(f"cannot write {out}: {exc.strerror}")) from None
        err_console.print(
            f"{len(bset):,} units written to {out}"
            + (f", {len(bset.repaired):,} of them repaired" if repair else "")
        )
    if not report.ok:
        raise typer.Exit(1)


def _print_report(name: str, units: int, report: Any) -> None:
    """The units per level, then the issues (the first 500), then the counts."""
    summary = Table(title=f"{escape(name)}: {units:,} units")
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
            area = issue.area_m2
            issues.add_row(
                f"[{colour[issue.severity]}]{issue.severity}[/]",
                issue.kind,
                issue.level or "",
                escape(codes if len(codes) < 40 else codes[:39] + "…"),
                "" if area is None else f"{area:,.1f}" if area >= 0.05 else f"{area:.2g}",
                f"{issue.where[0]:.6f}, {issue.where[1]:.6f}" if issue.where else "",
                escape(issue.message),
            )
        console.print(issues)
        if len(report.issues) > 500:
            console.print(f"... and {len(report.issues) - 500} more (use --json)")
    console.print(
        f"{len(report.errors)} error(s), {len(report.warnings)} warning(s), "
        f"{len(report.issues) - len(report.errors) - len(report.warnings)} note(s)"
    )


class Engine(StrEnum):
    """Where ``wangge assign`` runs."""

    process = "process"
    dask = "dask"


def lookup(
    lon: Annotated[float, typer.Argument(help="Longitude (or x); negative values as they are")],
    lat: Annotated[float, typer.Argument(help="Latitude (or y)")],
    crs: CrsOption = None,
    boundaries: BoundariesOption = None,
    boundaries_crs: BoundariesCrsOption = None,
) -> None:
    """Print the chain of units containing a point and the responsible leader, as JSON."""
    from geo.assign import BoundaryIndex

    try:
        settings = Settings()
        index = BoundaryIndex(
            read_boundaries(boundaries, boundaries_crs), snap_tolerance_m=settings.snap_tolerance_m
        )
        result = index.assign([lon], [lat], crs=crs or "wgs84")
    except WanggeError as exc:
        raise fail(exc) from None
    print(json.dumps(index.describe(result, 0), ensure_ascii=False, indent=2))


def _check_output(out: Path, inputs: list[Path], *, suffix: str | None = None) -> None:
    """Refuse an output that cannot be written, or that would overwrite an input."""
    if suffix is not None and out.suffix.lower() != suffix:
        raise TableFileError(f"{out} does not end in {suffix}", allowed=f"a {suffix} file")
    if not out.parent.is_dir():
        raise TableFileError(
            f"cannot write {out}: the folder {out.parent} does not exist",
            allowed="a file in an existing folder",
        )
    if out.is_dir():
        raise TableFileError(f"cannot write {out}: it is a folder", allowed="a file name")
    if any(out.resolve() == p.resolve() for p in inputs):
        raise TableFileError(
            f"{out} is also an input: it would be overwritten", allowed="another file name"
        )


def assign(
    input_csv: Annotated[Path, typer.Argument(help="CSV with lon and lat columns")],
    output_csv: Annotated[Path, typer.Argument(help="Where to write the result")],
    boundaries: BoundariesOption = None,
    crs: Annotated[
        str, typer.Option(help="Coordinate system of the points: wgs84, gcj02, bd09, EPSG:n")
    ] = "wgs84",
    boundaries_crs: BoundariesCrsOption = None,
    lon_column: Annotated[str, typer.Option(help="Name of the longitude column")] = "lon",
    lat_column: Annotated[str, typer.Option(help="Name of the latitude column")] = "lat",
    encoding: Annotated[
        str | None,
        typer.Option(help="Encoding of the CSV (default: UTF-8 with or without BOM, or GB 18030)"),
    ] = None,
    chunk_size: Annotated[int, typer.Option(min=1, help="Rows per batch")] = 200_000,
    engine: Annotated[
        Engine, typer.Option(help="process: in this process; dask: on a Dask cluster")
    ] = Engine.process,
    scheduler: Annotated[
        str | None,
        typer.Option(help="Dask scheduler address (tcp://host:8786); default a local cluster"),
    ] = None,
) -> None:
    """Assign every row of a CSV: one code column per level, the leader and the status.

    Rows with invalid coordinates, or with more or fewer fields than the header, are kept with
    status ``invalid`` and the reason, which names the row's line in the file.
    """
    from geo.assign import BoundaryIndex
    from geo.crs import parse_crs
    from geo.tables import CsvTable

    try:
        parse_crs(crs)
        _check_output(output_csv, [input_csv])
        table = CsvTable(input_csv, encoding=encoding)
    except WanggeError as exc:
        raise fail(exc) from None
    with table:
        try:
            _check_columns(table, lon_column, lat_column)
            settings = Settings()
            if engine is Engine.dask:
                from geo.cluster import DaskAssigner

                files = tuple(str(p.resolve()) for p in (boundaries or settings.boundary_paths))
                loader = partial(
                    index_for_workers,
                    files,
                    boundaries_crs or settings.boundaries_crs,
                    settings.snap_tolerance_m,
                )
                with DaskAssigner(loader, scheduler=scheduler) as dask:
                    index = dask.loader_index()
                    counts = _assign_rows(
                        index, table, output_csv, crs, lon_column, lat_column, chunk_size, dask
                    )
            else:
                index = BoundaryIndex(
                    read_boundaries(boundaries, boundaries_crs),
                    snap_tolerance_m=settings.snap_tolerance_m,
                )
                counts = _assign_rows(
                    index, table, output_csv, crs, lon_column, lat_column, chunk_size
                )
        except WanggeError as exc:
            raise fail(exc) from None
    rows = sum(counts.values())
    summary = Table(title=f"{escape(str(output_csv))}: {rows:,} rows ({table.encoding} read)")
    summary.add_column("status")
    summary.add_column("rows", justify="right")
    for value, count in sorted(counts.items()):
        summary.add_row(value, f"{count:,}")
    console.print(summary)


def index_for_workers(files: tuple[str, ...], crs: str | None, snap_tolerance_m: float) -> Any:
    """The boundary index a Dask worker builds (once) from the boundary files."""
    from boundaries.loader import load_boundary_set
    from geo.assign import BoundaryIndex

    bset, _ = load_boundary_set(list(files), crs=crs)
    return BoundaryIndex(bset, snap_tolerance_m=snap_tolerance_m)


def _check_columns(table: CsvTable, lon_column: str, lat_column: str) -> None:
    """The coordinate columns are in the header, once each."""
    where = f"{table.path.name} line {table.header_line} (the header)"
    missing = [c for c in (lon_column, lat_column) if c not in table.header]
    if missing:
        raise TableFileError(
            f"{where} has no column(s) {missing}; it has {table.header}",
            allowed="a lon and a lat column (name them with --lon-column/--lat-column)",
        )
    repeated = sorted({c for c in (lon_column, lat_column) if table.header.count(c) > 1})
    if repeated:
        raise TableFileError(
            f"{where} has the column(s) {repeated} more than once",
            allowed="one lon and one lat column",
        )


def _assign_rows(
    index: Any,
    table: CsvTable,
    output_csv: Path,
    crs: str,
    lon_column: str,
    lat_column: str,
    chunk_size: int,
    dask: Any = None,
) -> dict[str, int]:
    """Assign the table chunk by chunk into a temporary file, moved into place at the end
    (each chunk on the cluster of ``dask``, a :class:`geo.cluster.DaskAssigner`, if given)."""
    import pandas as pd

    from geo.batch import assign_table

    # Excel takes a file without a byte-order mark for the local code page: keep the mark
    # for whoever sent one, or a file that was not UTF-8
    out_encoding = "utf-8" if table.encoding == "utf-8" else "utf-8-sig"
    part = output_csv.with_name(output_csv.name + ".part")
    counts: dict[str, int] = {}
    progress = Progress(
        TextColumn("assigning"),
        BarColumn(),
        DownloadColumn(),
        TimeRemainingColumn(),
        console=err_console,
    )
    columns = list(range(len(table.header)))
    try:
        with part.open("w", encoding=out_encoding, newline="") as sink, progress:
            task = progress.add_task("bytes", total=table.size)
            first = True
            for chunk in table.chunks(chunk_size):
                frame = pd.DataFrame(chunk.rows, columns=columns, dtype=object)
                frame.columns = pd.Index(table.header, dtype=object)
                options = {"lon_column": lon_column, "lat_column": lat_column, "crs": crs}
                if dask is not None:
                    out = dask.assign_table(
                        frame, lines=list(chunk.lines), refused=list(chunk.problems), **options
                    )
                else:
                    out = assign_table(
                        index, frame, lines=chunk.lines, refused=chunk.problems, **options
                    )
                out.to_csv(sink, header=first, index=False)
                first = False
                for value, count in out["status"].value_counts().items():
                    counts[str(value)] = counts.get(str(value), 0) + int(count)
                progress.update(task, completed=table.bytes_read)
            if first:  # a header and no rows: the header of the result alone
                empty = pd.DataFrame(columns=pd.Index(table.header, dtype=object), dtype=object)
                assign_table(index, empty, lon_column=lon_column, lat_column=lat_column).to_csv(
                    sink, index=False
                )
            progress.update(task, completed=table.size)
        part.replace(output_csv)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise TableFileError(
            f"cannot write {output_csv}: {exc.strerror}", allowed="a writable file"
        ) from None
    except BaseException:
        part.unlink(missing_ok=True)
        raise
    return counts
