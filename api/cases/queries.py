"""Queries of cases: the filters of GET /reports (and the maps), counting, the audit trail."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from api.access.policy import Principal
from api.cases.errors import InvalidQuery, PhotoNotFound, UnknownStatus
from api.cases.lifecycle import DONE, Status
from api.cases.units import reports_in
from api.cases.visibility import get_visible, scoped
from api.db.models import Photo, Report, ReportEvent
from geo.units import BoundarySet

BBOX_ALLOWED = "minlon,minlat,maxlon,maxlat with min < max, lon in [-180, 180], lat in [-90, 90]"


@dataclass(frozen=True)
class CaseFilter:
    """What to select: every field optional; a unit code at any level means everything below."""

    statuses: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    unit: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    bbox: tuple[float, float, float, float] | None = None
    overdue: bool | None = None
    #: Only these report ids (Open311's service_request_id list).
    ids: tuple[int, ...] = ()

    def describe(self) -> str:
        """The filter in words, for the maps' captions."""
        parts = []
        if self.categories:
            parts.append("category: " + ", ".join(self.categories))
        if self.statuses:
            parts.append("status: " + ", ".join(self.statuses))
        if self.since:
            parts.append(f"since {self.since:%Y-%m-%d %H:%M}")
        if self.until:
            parts.append(f"until {self.until:%Y-%m-%d %H:%M}")
        return "; ".join(parts) or "all cases"


def check_statuses(values: Sequence[str] | None) -> tuple[str, ...]:
    """Status filters checked against the lifecycle's vocabulary."""
    known = {s.value for s in Status}
    bad = sorted(set(values or ()) - known)
    if bad:
        raise UnknownStatus(f"unknown status {bad}", allowed=", ".join(sorted(known)))
    return tuple(values or ())


def parse_bbox(text: str) -> tuple[float, float, float, float]:
    """``minlon,minlat,maxlon,maxlat`` in WGS84, checked."""
    try:
        minx, miny, maxx, maxy = (float(v) for v in text.split(","))
    except ValueError:
        raise InvalidQuery(
            f"bbox {text!r} is not four numbers", allowed=BBOX_ALLOWED, code="invalid_bbox"
        ) from None
    values = [minx, miny, maxx, maxy]
    finite = all(math.isfinite(v) for v in values)
    if not (finite and -180 <= minx < maxx <= 180 and -90 <= miny < maxy <= 90):
        raise InvalidQuery(
            f"bbox {values} is out of range or inverted", allowed=BBOX_ALLOWED, code="invalid_bbox"
        )
    return minx, miny, maxx, maxy


def aware(value: datetime | None) -> datetime | None:
    """A time without a zone is read as UTC."""
    if value is None:
        return None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def filtered(
    query: Select[Any],
    where: CaseFilter,
    *,
    bset: BoundarySet,
    dialect: str,
    now: datetime | None = None,
    retired_units: bool = False,
) -> Select[Any]:
    """A report query restricted by the filter (unknown units raise UnitNotFound, unless
    ``retired_units`` admits units of older boundary versions)."""
    conditions: list[ColumnElement[bool]] = []
    if where.ids:
        conditions.append(Report.id.in_(where.ids))
    if where.statuses:
        conditions.append(Report.status.in_(where.statuses))
    if where.categories:
        conditions.append(Report.category.in_(where.categories))
    if where.unit:
        if not retired_units:
            bset.position(where.unit)  # an unknown unit is an error, not an empty page
        conditions.append(Report.id.in_(reports_in(where.unit)))
    if where.since:
        conditions.append(Report.created_at >= aware(where.since))
    if where.until:
        conditions.append(Report.created_at < aware(where.until))
    if where.bbox:
        minx, miny, maxx, maxy = where.bbox
        if dialect == "postgresql":
            # the GiST index on the computed point answers this
            envelope = func.ST_MakeEnvelope(minx, miny, maxx, maxy, 4326)
            conditions.append(func.ST_Intersects(Report.geom, envelope))
        else:
            conditions += [
                Report.lon >= minx,
                Report.lon <= maxx,
                Report.lat >= miny,
                Report.lat <= maxy,
            ]
    if where.overdue is not None:
        late = (Report.due_at < (now or datetime.now(UTC))) & Report.status.not_in(
            [s.value for s in DONE]
        )
        conditions.append(late if where.overdue else ~late)
    return query.where(*conditions) if conditions else query


def count(session: Session, query: Select[Any]) -> int:
    """Rows a report query matches (counting ids only: the PostGIS-only column stays out)."""
    ids = query.with_only_columns(Report.id).order_by(None).subquery()
    return int(session.scalar(select(func.count()).select_from(ids)) or 0)


def page_of_reports(
    session: Session,
    principal: Principal,
    where: CaseFilter,
    *,
    bset: BoundarySet,
    dialect: str,
    limit: int,
    offset: int,
    now: datetime | None = None,
) -> tuple[int, list[Report]]:
    """The reports the caller may see, newest first: the total and one page. A unit of an
    older boundary version that cases were handled in is a unit to filter by too."""
    retired = (
        where.unit is not None
        and bset.positions([where.unit])[0] < 0
        and session.scalar(reports_in(where.unit).limit(1)) is not None
    )
    query = filtered(
        scoped(select(Report), principal),
        where,
        bset=bset,
        dialect=dialect,
        now=now,
        retired_units=retired,
    )
    total = count(session, query)
    rows = session.scalars(
        query.order_by(Report.created_at.desc(), Report.id.desc()).limit(limit).offset(offset)
    ).all()
    return total, list(rows)


def events_of(session: Session, report_id: int, principal: Principal) -> list[ReportEvent]:
    """The audit trail of a case the caller may see, oldest first."""
    get_visible(session, report_id, principal)
    return list(
        session.scalars(
            select(ReportEvent).where(ReportEvent.report_id == report_id).order_by(ReportEvent.id)
        )
    )


def media_links(session: Session, report_ids: Sequence[int]) -> dict[int, str]:
    """The media link given with each report's submission (Open311's media_url), by id."""
    rows = session.execute(
        select(ReportEvent.report_id, ReportEvent.data).where(
            ReportEvent.report_id.in_(report_ids), ReportEvent.from_status.is_(None)
        )
    )
    return {r.report_id: r.data["media_url"] for r in rows if (r.data or {}).get("media_url")}


def photo_of(session: Session, report_id: int, photo_id: int, principal: Principal) -> Photo:
    """A photo of a case the caller may see."""
    get_visible(session, report_id, principal)
    photo = session.get(Photo, photo_id)
    if photo is None or photo.report_id != report_id:
        raise PhotoNotFound(
            f"report {report_id} has no photo {photo_id}",
            allowed="ids from the report's photos list",
        )
    return photo
