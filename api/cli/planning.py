"""Planning commands: facilities, population, coverage (registered on the main CLI).

Imports check every row first and name each bad one by line; by default a file with a bad row
imports nothing (exit 1), ``--skip-invalid`` imports the good rows. See
:mod:`api.planning.facilities` and :mod:`api.planning.population` for what is appended and
what is replaced. The commands only read options and print: the planning package does the work.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from api.settings import Settings
from geo.errors import TableFileError, WanggeError

if TYPE_CHECKING:  # the planning package is imported when a command runs (a quick --help)
    from api.db import Database
    from api.planning import CoverageParams, ParsedFile, Planning

console = Console()
err_console = Console(stderr=True, soft_wrap=True)  # one line per message

facilities_app = typer.Typer(help="Care facilities: import, list.", no_args_is_help=True)
population_app = typer.Typer(
    help="The population base table (per unit or per point): import, show.", no_args_is_help=True
)
coverage_app = typer.Typer(
    help="Who lives beyond the service circle of every facility of a type; new sites.",
    invoke_without_command=True,
)

CrsOption = Annotated[
    str | None,
    typer.Option("--crs", help="Coordinate system of the rows: wgs84, gcj02, bd09 or EPSG:<code>"),
]
BoundariesOption = Annotated[
    list[Path] | None,
    typer.Option(
        help="Boundary file(s) to start an empty database with (default WANGGE_BOUNDARIES); "
        "codes are checked against the active boundary version"
    ),
]
SkipInvalid = Annotated[
    bool,
    typer.Option("--skip-invalid", help="Import the good rows even if some rows are bad"),
]
DryRun = Annotated[bool, typer.Option("--dry-run", help="Check the file, store nothing")]
ReportOption = Annotated[
    Path | None, typer.Option("--report", help="Write every bad row and warning to this CSV")
]
FacilityType = Annotated[
    str, typer.Option("--facility-type", help="A facility type (wangge facilities list)")
]
Minutes = Annotated[float, typer.Option(help="Minutes of walking (1-120)")]
Speed = Annotated[
    float | None,
    typer.Option(help="Walking speed in m/min (10-200; default 1000/15, about 66.7)"),
]
Level = Annotated[
    str | None, typer.Option(help="Level of the units table (default community, else deepest)")
]
Mode = Annotated[str, typer.Option(help="circle, or network (WANGGE_STREET_NETWORK)")]
PopulationOption = Annotated[
    str | None, typer.Option("--population", help="units or points (default: units if any)")
]

_DATABASES: dict[str, Database] = {}
#: Bad rows printed on screen; --report writes them all.
SHOWN_PROBLEMS = 200


def _fail(exc: WanggeError) -> typer.Exit:
    err_console.print(f"[bold red]error:[/] {escape(exc.message)}")
    if exc.allowed:
        err_console.print(f"allowed: {escape(exc.allowed)}")
    return typer.Exit(2)


def _settings(boundaries: list[Path] | None = None) -> Settings:
    """The configured settings, with the boundary files of ``--boundaries`` if given."""
    settings = Settings()
    if boundaries:
        settings = settings.model_copy(update={"boundaries": ",".join(map(str, boundaries))})
    return settings


def _database(settings: Settings) -> Database:
    """The configured database (migrated); one engine per database and process."""
    from api.db import Database

    if settings.database not in _DATABASES:
        _DATABASES[settings.database] = Database(settings.database)
    return _DATABASES[settings.database]


def _print_check(parsed: ParsedFile, report: Path | None, what: str) -> None:
    """The rows read, the bad ones with their line and reason, warnings and notes."""
    table = Table(title=f"{parsed.path.name} ({parsed.encoding})", show_header=False)
    table.add_column("")
    table.add_column("", justify="right")
    table.add_row(f"{what} read", f"{parsed.total:,}")
    table.add_row("good", f"{len(parsed.rows):,}")
    table.add_row("bad", f"[red]{len(parsed.problems):,}[/]" if parsed.problems else "0")
    table.add_row("warnings", f"{len(parsed.warnings):,}")
    console.print(table)
    for note in parsed.notes:
        console.print(f"note: {escape(note)}")
    for title, items, colour in (
        ("bad rows", parsed.problems, "red"),
        ("warnings", parsed.warnings, "yellow"),
    ):
        if not items:
            continue
        listing = Table(title=title, title_style=colour)
        listing.add_column("line", justify="right")
        listing.add_column("reason")
        for item in items[:SHOWN_PROBLEMS]:
            listing.add_row(str(item.line), escape(item.reason))
        console.print(listing)
        if len(items) > SHOWN_PROBLEMS:
            console.print(
                f"... and {len(items) - SHOWN_PROBLEMS:,} more {title}"
                + (f": all in {report}" if report else " (--report FILE lists them all)")
            )
    if report is not None:
        with report.open("w", newline="", encoding="utf-8") as out:
            writer = csv.writer(out)
            writer.writerow(["kind", "line", "feature", "reason"])
            for kind, items in (("bad", parsed.problems), ("warning", parsed.warnings)):
                for item in items:
                    writer.writerow(
                        [kind, item.line, "" if item.feature is None else item.feature, item.reason]
                    )
        console.print(f"bad rows and warnings written to {report}")


#: ``read_facility_import`` or ``read_population_import``, and ``store_facilities`` or
#: ``store_population``, with the command's options bound.
Read = Callable[..., "ParsedFile"]
Store = Callable[..., dict[str, int]]


def _import(
    file: Path,
    what: str,
    read: Read,
    store: Store,
    boundaries: list[Path] | None,
    skip_invalid: bool,
    dry_run: bool,
    report: Path | None,
) -> tuple[ParsedFile, dict[str, int]] | None:
    """Read and check a file, list its bad rows and warnings, and store its good rows unless
    they may not be: (the file as read, the counts stored), or None if nothing was stored."""
    from api.services import load_index

    settings = _settings(boundaries)
    try:
        if report is not None and not report.parent.is_dir():
            raise TableFileError(
                f"cannot write {report}: the folder {report.parent} does not exist",
                allowed="a file in an existing folder",
            )
        bset = load_index(settings).bset
        db = _database(settings)
        with db.session() as session, console.status(f"reading {file}..."):
            parsed = read(file, session=session, bset=bset)
    except WanggeError as exc:
        raise _fail(exc) from None
    _print_check(parsed, report, what)
    if not _verdict(parsed, skip_invalid, dry_run):
        return None
    label = "storing"
    total = max(len(parsed.rows), 1)
    progress = Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), console=err_console)
    with progress, db.session() as session:
        task = progress.add_task(label, total=total)
        counts = store(
            parsed.rows,
            session=session,
            source=f"import:{parsed.path.name}",
            on_progress=lambda n: progress.advance(task, n),
        )
        progress.update(task, completed=total)
    return parsed, counts


def _verdict(parsed: ParsedFile, skip_invalid: bool, dry_run: bool) -> bool:
    """Whether to store: never on a dry run; not if rows are bad, unless told to skip them."""
    if parsed.problems and not skip_invalid:
        err_console.print(
            f"[bold red]{len(parsed.problems):,} bad row(s): nothing imported[/] "
            "(fix them, or --skip-invalid to import the good rows)"
        )
        raise typer.Exit(1)
    if dry_run:
        console.print("dry run: nothing stored")
        return False
    return True


# -- facilities ------------------------------------------------------------------------------


@facilities_app.command("import")
def facilities_import(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV (name,type,lon,lat[,capacity][,crs]) or GeoJSON points (name, type, capacity)"
        ),
    ],
    crs: CrsOption = None,
    facility_type: Annotated[
        str | None, typer.Option("--type", help="Type of rows that have none")
    ] = None,
    new_types: Annotated[
        bool, typer.Option("--new-types", help="Accept types not yet in the catalogue")
    ] = False,
    replace: Annotated[
        bool,
        typer.Option("--replace", help="Delete the stored facilities of the file's types first"),
    ] = False,
    skip_invalid: SkipInvalid = False,
    dry_run: DryRun = False,
    report: ReportOption = None,
    boundaries: BoundariesOption = None,
) -> None:
    """Import facilities; every bad row is listed with its line number and reason."""
    from api.planning.facilities import count_by_type, read_facility_import, store_facilities

    read = partial(
        read_facility_import,
        crs=crs,
        default_type=facility_type,
        new_types=new_types,
        replace=replace,
    )
    store = partial(store_facilities, replace=replace)
    done = _import(file, "facilities", read, store, boundaries, skip_invalid, dry_run, report)
    if done is None:
        return
    parsed, counts = done
    table = Table(title="imported")
    table.add_column("type")
    table.add_column("facilities", justify="right")
    for kind, number in count_by_type(parsed.rows).items():
        table.add_row(kind, f"{number:,}")
    console.print(table)
    if replace:
        console.print(f"{counts['deleted']:,} stored facilities of these types were replaced")
    if parsed.problems:
        console.print(f"[yellow]{len(parsed.problems):,} bad row(s) skipped[/]")


@facilities_app.command("list")
def facilities_list(
    facility_type: Annotated[str | None, typer.Option("--type", help="Only this type")] = None,
) -> None:
    """The facility types with their counts, and the facilities (of a type)."""
    from api.planning.facilities import facilities_frame, facility_types

    with _database(_settings()).session() as session:
        types = facility_types(session=session)
        frame = facilities_frame(session=session, facility_type=facility_type)
    catalogue = Table(title="facility types")
    for column in ("code", "name", "built in", "facilities"):
        catalogue.add_column(column, justify="right" if column == "facilities" else "left")
    for t in types:
        catalogue.add_row(
            t["code"],
            f"{t['name_zh']} {t['name_en']}",
            "yes" if t["builtin"] else "",
            str(t["facilities"]),
        )
    console.print(catalogue)
    if facility_type is None:
        return
    table = Table(title=f"{facility_type}: {len(frame)} facilities")
    for column in ("id", "name", "capacity", "lon", "lat"):
        table.add_column(column)
    for row in frame.itertuples(index=False):
        table.add_row(
            str(row.id),
            escape(str(row.name)),
            "" if row.capacity is None else str(row.capacity),
            f"{row.geometry.x:.6f}",
            f"{row.geometry.y:.6f}",
        )
    console.print(table)


# -- population ------------------------------------------------------------------------------


@population_app.command("import")
def population_import(
    file: Annotated[
        Path,
        typer.Argument(
            help="CSV: code,residents,residents_60 (per unit) or "
            "lon,lat,residents,residents_60[,crs] (per point)"
        ),
    ],
    crs: CrsOption = None,
    replace: Annotated[
        bool,
        typer.Option(
            "--replace",
            help="Empty the table(s) the file has rows for first (per unit: else upsert by code; "
            "per point: else append)",
        ),
    ] = False,
    skip_invalid: SkipInvalid = False,
    dry_run: DryRun = False,
    report: ReportOption = None,
    boundaries: BoundariesOption = None,
) -> None:
    """Import population per unit (any level) or per point; unknown unit codes are bad rows."""
    from api.planning.population import (
        population_totals,
        read_population_import,
        store_population,
        totals_by_kind,
    )

    read = partial(read_population_import, crs=crs, replace=replace)
    store = partial(store_population, replace=replace)
    done = _import(file, "rows", read, store, boundaries, skip_invalid, dry_run, report)
    if done is None:
        return
    parsed, counts = done
    table = Table(title="imported")
    for column in ("rows", "number", "residents", "residents 60+"):
        table.add_column(column, justify="left" if column == "rows" else "right")
    kinds = totals_by_kind(parsed.rows)
    for label, kind in (("per unit", "unit"), ("per point", "point")):
        if kind in kinds:
            numbers = kinds[kind]
            table.add_row(
                label,
                f"{numbers['rows']:,}",
                f"{numbers['residents']:,}",
                f"{numbers['residents_60']:,}",
            )
    console.print(table)
    if counts["units_replaced"]:
        console.print(f"{counts['units_replaced']:,} stored unit rows replaced (same code)")
    if counts["deleted"]:
        console.print(f"{counts['deleted']:,} stored rows deleted first (--replace)")
    with _database(_settings()).session() as session:
        _print_totals(population_totals(session=session))
    if parsed.problems:
        console.print(f"[yellow]{len(parsed.problems):,} bad row(s) skipped[/]")


def _print_totals(totals: dict[str, int]) -> None:
    table = Table(title="population table")
    for column in ("table", "rows", "residents", "residents 60+"):
        table.add_column(column, justify="left" if column == "table" else "right")
    for label, key in (("per unit", "unit"), ("per point", "point")):
        table.add_row(
            label,
            f"{totals[f'{key}_rows']:,}",
            f"{totals[f'{key}_residents']:,}",
            f"{totals[f'{key}_residents_60']:,}",
        )
    console.print(table)


@population_app.command("show")
def population_show() -> None:
    """Rows and residents in the population tables."""
    from api.planning.population import population_totals

    with _database(_settings()).session() as session:
        _print_totals(population_totals(session=session))


# -- coverage --------------------------------------------------------------------------------


def _planning(settings: Settings) -> Planning:
    """The planning service on the configured boundaries and database."""
    from api.planning import Planning
    from api.services import load_index

    bset = load_index(settings).bset
    return Planning(bset, _database(settings), street_network=settings.street_network)


def _params(
    facility_type: str,
    minutes: float,
    speed: float | None,
    level: str | None,
    mode: str,
    population: str | None,
) -> CoverageParams:
    from api.planning import CoverageParams

    return CoverageParams.of(facility_type, minutes, speed, level, mode, population)


def _share(value: Any) -> str:
    return "" if value is None or value != value else f"{100 * float(value):.1f}%"


@coverage_app.callback()
def coverage(
    ctx: typer.Context,
    level: Level = None,
    facility_type: FacilityType = "elderly_care",
    minutes: Minutes = 15.0,
    speed: Speed = None,
    mode: Mode = "circle",
    population: PopulationOption = None,
    top: Annotated[
        int | None, typer.Option(help="Only the N units with most uncovered 60+")
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Also write the coverage map (HTML)")] = None,
    boundaries: BoundariesOption = None,
) -> None:
    """Per unit: residents aged 60+, how many are within the service circle of a facility of
    the type and how many are not (most uncovered first), with totals."""
    if ctx.invoked_subcommand is not None:
        return
    settings = _settings(boundaries)
    try:
        service = _planning(settings)
        with console.status("computing coverage..."):
            params = _params(facility_type, minutes, speed, level, mode, population)
            entry = service.coverage(params)
    except WanggeError as exc:
        raise _fail(exc) from None
    summary = entry.summary
    units = entry.result.units.sort_values(
        ["uncovered_60", "code"], ascending=[False, True], kind="stable"
    )
    shown = units if top is None else units.head(top)
    table = Table(
        title=f"{summary['facilities']} {facility_type} facilities, {summary['distance_m']:,.0f} m "
        f"({summary['minutes']:g} min x {summary['speed_m_per_min']:.1f} m/min, {mode}), "
        f"by {entry.level}; population: {summary['population_source']}",
        show_footer=True,
    )
    total_60 = summary["residents_60"]
    footer = {
        "code": "total",
        "name": f"{len(units)} units",
        "residents": f"{summary['residents']:,.0f}",
        "60+": f"{total_60:,.0f}",
        "covered 60+": f"{summary['covered_60']:,.0f}",
        "uncovered 60+": f"{summary['uncovered_60']:,.0f}",
        "share covered": _share(summary["share_covered_60"]),
    }
    for column, text in footer.items():
        table.add_column(
            column, footer=text, justify="left" if column in ("code", "name") else "right"
        )
    for row in shown.itertuples(index=False):
        table.add_row(
            escape(str(row.code)),
            escape(str(row.name)),
            f"{row.population:,.0f}",
            f"{row.population_60:,.0f}",
            f"{row.covered_60:,.0f}",
            f"{row.uncovered_60:,.0f}",
            _share(row.share_covered_60),
        )
    console.print(table)
    if top is not None and top < len(units):
        console.print(f"(the {top} units with most uncovered 60+ of {len(units)})")
    if summary["residents_60_outside_level"]:
        console.print(
            f"{summary['residents_60_outside_level']:,.0f} residents aged 60+ are in no unit of "
            f"the level (counted in no row)"
        )
    if summary["population_rows_ignored"]:
        console.print(
            f"{summary['population_rows_ignored']:,} population rows have codes not in the "
            "boundary set and were left out"
        )
    if summary.get("units_without_population"):
        console.print(
            f"{summary['units_without_population']:,} units have no population (new in the "
            "active boundary version?): import theirs with wangge population import"
        )
    if out is not None:
        _write_map(service, params, settings, out)


def _write_map(service: Planning, params: CoverageParams, settings: Settings, out: Path) -> None:
    """The coverage map with three suggested sites, written with its files beside it."""
    from api.pages.coverage import FILE_ASSET_BASE, coverage_page, write_page

    with console.status("drawing the map..."):
        html = coverage_page(
            service,
            params,
            sites=3,
            asset_base=FILE_ASSET_BASE,
            tiles=settings.tiles_url,
            tiles_attribution=settings.tiles_attribution,
            display_tz=settings.display_tz,
        )
    write_page(html, out)
    console.print(
        f"map written to {out} ({len(html) / 1e6:.2f} MB), files under "
        f"{out.parent / FILE_ASSET_BASE}"
    )


@coverage_app.command("suggest")
def coverage_suggest(
    k: Annotated[int, typer.Option("--k", help="Number of new sites (1-50)")] = 3,
    level: Level = None,
    facility_type: FacilityType = "elderly_care",
    minutes: Minutes = 15.0,
    speed: Speed = None,
    mode: Mode = "circle",
    population: PopulationOption = None,
    boundaries: BoundariesOption = None,
) -> None:
    """Up to k new sites covering the most residents aged 60+ now outside every service circle
    (greedy; gains never increase)."""
    try:
        service = _planning(_settings(boundaries))
        with console.status("choosing sites..."):
            answer = service.suggest(
                _params(facility_type, minutes, speed, level, mode, population), k
            )
    except WanggeError as exc:
        raise _fail(exc) from None
    summary = answer["summary"]
    table = Table(
        title=f"{len(answer['sites'])} new {facility_type} site(s); uncovered 60+ now "
        f"{summary['uncovered_60_before']:,.0f}",
    )
    for column in ("rank", "lon", "lat", "unit", "name", "gain 60+", "cumulative", "share"):
        table.add_column(column, justify="left" if column in ("unit", "name") else "right")
    for site in answer["sites"]:
        table.add_row(
            str(site["rank"]),
            f"{site['lon']:.6f}",
            f"{site['lat']:.6f}",
            escape(site["unit"] or ""),
            escape(site["unit_name"] or ""),
            f"{site['gain']:,.0f}",
            f"{site['cumulative']:,.0f}",
            _share(site["share_of_uncovered_60"]),
        )
    console.print(table)
    console.print(
        f"uncovered 60+ after these sites: {summary['uncovered_60_after']:,.0f} "
        f"(candidates: {summary['candidates']}; WGS84 coordinates)"
    )


def register(app: typer.Typer) -> None:
    """Add the planning commands to the ``wangge`` CLI."""
    app.add_typer(facilities_app, name="facilities")
    app.add_typer(population_app, name="population")
    app.add_typer(coverage_app, name="coverage")
