"""Targeted governance at the command line: ``wangge analytics hotspots|emerging|recurring|
targets|performance``, each a table (rich) and, with ``--csv FILE``, a CSV file."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from api.cli.common import console, fail
from geo.errors import WanggeError

analytics_app = typer.Typer(
    help="Targeted governance: hot spots, emerging trends, recurring places, targets, "
    "handling performance.",
    no_args_is_help=True,
)

CsvOption = Annotated[Path | None, typer.Option("--csv", help="Also write the rows to this CSV")]
LevelOption = Annotated[str, typer.Option(help="A level of the active boundary version")]
CategoryOption = Annotated[str | None, typer.Option(help="A category code")]
SinceOption = Annotated[datetime | None, typer.Option(help="Start of the window (UTC)")]
UntilOption = Annotated[datetime | None, typer.Option(help="End of the window (UTC; now)")]
LimitOption = Annotated[int, typer.Option(help="Rows to print (the CSV has all)")]


def _run(compute: Callable[[Any, Any], dict[str, Any]]) -> dict[str, Any]:
    """Open the services on the configured database, compute, close; errors exit 2."""
    from api.analytics import Analytics
    from api.cli.versions import open_for_command

    services = open_for_command()
    try:
        with services.db.session() as session:
            return compute(Analytics(services.boundaries), session)
    except WanggeError as exc:
        raise fail(exc) from None
    finally:
        services.close()


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.isoformat(timespec="minutes")
    if isinstance(value, list | dict):
        return json.dumps(value, ensure_ascii=False, default=str)
    return str(value)


def _output(
    title: str, rows: list[dict[str, Any]], columns: list[str], path: Path | None, limit: int
) -> None:
    table = Table(title=title)
    for column in columns:
        table.add_column(column, overflow="fold")
    for row in rows[:limit]:
        table.add_row(*(escape(_cell(row.get(c))) for c in columns))
    console.print(table)
    if len(rows) > limit:
        console.print(f"{len(rows) - limit:,} more row(s) not shown")
    if path is not None:
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
            writer.writeheader()
            for row in rows:
                writer.writerow({c: _cell(row.get(c)) for c in columns})
        console.print(f"{len(rows):,} row(s) written to {escape(str(path))}")


@analytics_app.command("hotspots")
def hotspots(
    level: LevelOption = "grid",
    category: CategoryOption = None,
    since: SinceOption = None,
    until: UntilOption = None,
    permutations: Annotated[int, typer.Option(min=99, max=9999)] = 999,
    csv_file: CsvOption = None,
    limit: LimitOption = 30,
) -> None:
    """Getis-Ord Gi* hot and cold spots of a level's units (hot first)."""
    answer = _run(
        lambda a, s: a.hotspots(
            s,
            None,
            level=level,
            category=category,
            since=since,
            until=until,
            permutations=permutations,
        )
    )
    rows = sorted(answer["units"], key=lambda u: -(u["z"] if u["z"] is not None else -1e9))
    summary = answer["summary"]
    title = f"hot spots at {level}: {summary['cases']:,} cases, {summary['classes']}"
    _output(title, rows, ["code", "name", "count", "z", "p", "class"], csv_file, limit)


@analytics_app.command("emerging")
def emerging(
    level: LevelOption = "grid",
    category: CategoryOption = None,
    weeks: Annotated[int, typer.Option(min=4, max=52)] = 12,
    until: UntilOption = None,
    csv_file: CsvOption = None,
    limit: LimitOption = 30,
) -> None:
    """Emerging hot spot classes over weekly windows (units with a pattern first)."""
    answer = _run(
        lambda a, s: a.emerging(s, None, level=level, category=category, weeks=weeks, until=until)
    )
    rows = sorted(answer["units"], key=lambda u: (u["spot"] is None, u["class"], u["code"]))
    columns = ["code", "name", "class", "trend", "trend_p", "hot_weeks", "cold_weeks", "counts"]
    _output(f"emerging at {level}: {answer['summary']['classes']}", rows, columns, csv_file, limit)


@analytics_app.command("recurring")
def recurring(
    category: CategoryOption = None,
    days: Annotated[int, typer.Option(min=1, max=730)] = 90,
    radius_m: Annotated[float, typer.Option("--radius-m", min=5, max=500)] = 50.0,
    min_reports: Annotated[int, typer.Option("--min-reports", min=2, max=1000)] = 5,
    until: UntilOption = None,
    csv_file: CsvOption = None,
    limit: LimitOption = 30,
) -> None:
    """Places where the same problem keeps being reported."""
    answer = _run(
        lambda a, s: a.recurring(
            s,
            None,
            category=category,
            days=days,
            radius_m=radius_m,
            min_reports=min_reports,
            until=until,
        )
    )
    columns = [
        "category",
        "lon",
        "lat",
        "count",
        "first",
        "last",
        "units",
        "open",
        "median_hours_to_resolve",
        "recurs_after_closure",
    ]
    title = f"recurring places of the last {days} days: {len(answer['places'])}"
    _output(title, answer["places"], columns, csv_file, limit)


@analytics_app.command("targets")
def targets(
    level: LevelOption = "community",
    days: Annotated[int, typer.Option(min=7, max=365)] = 28,
    top: Annotated[int, typer.Option(min=1, max=200)] = 10,
    until: UntilOption = None,
    lang: Annotated[str, typer.Option(help="zh or en: the language of the reasons")] = "zh",
    csv_file: CsvOption = None,
) -> None:
    """The (unit, category) pairs to target first, with the reason."""
    answer = _run(lambda a, s: a.targets(s, None, level=level, days=days, top=top, until=until))
    rows = [
        {**item, "reason": item["reason"]["en" if lang == "en" else "zh"]}
        for item in answer["items"]
    ]
    columns = ["unit", "name", "category", "score", "count", "ratio", "hot_class", "reason"]
    _output(f"targets at {level}, last {days} days", rows, columns, csv_file, top)


@analytics_app.command("performance")
def performance(
    level: LevelOption = "grid",
    since: SinceOption = None,
    until: UntilOption = None,
    sort: Annotated[str, typer.Option(help="A figure to sort by, e.g. overdue")] = "received",
    ascending: Annotated[bool, typer.Option("--asc", help="Smallest first")] = False,
    csv_file: CsvOption = None,
    limit: LimitOption = 30,
) -> None:
    """Each unit's handling figures, with its leader."""
    from api.analytics.errors import InvalidWindow
    from api.analytics.performance import SORT_FIELDS

    if sort not in SORT_FIELDS:
        raise fail(InvalidWindow(f"cannot sort by {sort!r}", allowed=", ".join(SORT_FIELDS)))
    answer = _run(
        lambda a, s: a.performance(
            s, None, level=level, since=since, until=until, sort=sort, descending=not ascending
        )
    )
    rows = [{**u, "leader": u["leader"]["name"]} for u in answer["units"]]
    columns = ["code", "name", *SORT_FIELDS, "leader"]
    _output(f"performance at {level}", rows, columns, csv_file, limit)
