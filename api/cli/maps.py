"""Map pages written to files: ``wangge map density``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from api.cli.common import console, fail
from api.settings import Settings
from geo.errors import WanggeError

map_app = typer.Typer(
    help="Map pages written to files (offline, with their assets).", no_args_is_help=True
)


@map_app.command("density")
def map_density(
    out: Annotated[Path, typer.Option(help="The HTML file to write")] = Path("density.html"),
    level: Annotated[str, typer.Option(help="Level of the choropleth")] = "grid",
    category: Annotated[list[str] | None, typer.Option(help="Only these categories")] = None,
    status: Annotated[list[str] | None, typer.Option(help="Only these statuses")] = None,
    days: Annotated[float | None, typer.Option(help="Only cases of the last N days")] = None,
    phones: Annotated[bool, typer.Option(help="Put leaders' phones in the popups")] = False,
    analytics: Annotated[
        bool, typer.Option(help="Draw the hot and cold units and the recurring places")
    ] = True,
) -> None:
    """Write the density map as served at /maps/density, with its scripts and styles copied
    beside it (static/maps/), so the page opens from the file with no network. The hot spots
    and recurring places are those the served page shows, put in the page."""
    from datetime import UTC, datetime, timedelta

    from api.analytics import Analytics
    from api.cases.catalogue import check_categories
    from api.cases.queries import CaseFilter, check_statuses
    from api.pages.coverage import FILE_ASSET_BASE, write_page
    from api.pages.density import density_page, with_written_analytics
    from api.services import open_services

    settings = Settings()
    try:
        statuses = check_statuses(status)
        services = open_services(settings, writer=False, watch=False)
    except WanggeError as exc:
        raise fail(exc) from None
    try:
        services.index.bset.depth_of(level)
    except WanggeError as exc:
        services.close()
        raise fail(exc) from None
    since = datetime.now(UTC) - timedelta(days=days) if days else None
    try:
        where = CaseFilter(
            categories=check_categories(services.cases.categories, category),
            statuses=statuses,
            since=since,
        )
        with services.db.session() as session:
            html = density_page(
                services.cases,
                session,
                level,
                where,
                None,
                asset_base=FILE_ASSET_BASE,
                tiles=settings.tiles_url,
                tiles_attribution=settings.tiles_attribution,
                case_url="#{id}",
                show_phones=phones,
                display_tz=settings.display_tz,
            )
            if analytics:
                html = with_written_analytics(
                    html, Analytics(services.boundaries), services.cases, session, level
                )
    except WanggeError as exc:
        raise fail(exc) from None
    finally:
        services.close()
    write_page(html, out)
    console.print(
        f"wrote {out} ({len(html) / 1e6:.2f} MB) and its files under {out.parent / FILE_ASSET_BASE}"
    )
