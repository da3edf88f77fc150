"""Teams and volunteers from CSV files (UTF-8 with or without BOM, or GB 18030 as Excel saves
Chinese text), every bad row reported by its line and the good ones imported.

Which file it is follows from its header: ``capacity_per_day`` makes it teams (name,
organisation, services, units, lon, lat, crs, radius_m, capacity_per_day), ``team_id``
volunteers (name, phone, team_id, skills). Lists (services, units, skills) are separated by
``;``, ``|`` or ``、``.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError
from sqlalchemy.orm import Session

from api.volunteers.errors import InvalidVolunteerRequest
from api.volunteers.schemas import TeamIn, VolunteerIn
from api.volunteers.teams import TeamSpec, VolunteerSpec, create_team, create_volunteer
from geo.errors import TableFileError, WanggeError
from geo.tables import csv_records, read_text
from geo.units import BoundarySet

TEAM_COLUMNS = ("name", "organisation", "services", "units", "lon", "lat", "crs", "radius_m")
VOLUNTEER_COLUMNS = ("name", "phone", "team_id", "skills")
_LIST = re.compile(r"[;|、]")
_NUMBERS = {"lon": float, "lat": float, "radius_m": float, "capacity_per_day": int, "team_id": int}


@dataclass
class Imported:
    kind: str
    encoding: str
    ids: list[int] = field(default_factory=list)
    #: (line, what is wrong) for every row not imported.
    problems: list[tuple[int, str]] = field(default_factory=list)


def _values(header: list[str], fields: list[str]) -> dict[str, object]:
    values: dict[str, object] = {}
    for name, text in zip(header, fields, strict=True):
        text = text.strip()
        if not text:
            continue
        if name in ("services", "units", "skills"):
            values[name] = [p.strip() for p in _LIST.split(text) if p.strip()]
        elif name in _NUMBERS:
            try:
                values[name] = _NUMBERS[name](text)
            except ValueError:
                raise ValueError(f"{name} {text!r} is not a number") from None
        else:
            values[name] = text
    return values


def _why(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'row'}: {e['msg']}" for e in exc.errors()
    )


def import_csv(session: Session, bset: BoundarySet, path: Path, now: datetime) -> Imported:
    """Import a teams or volunteers file (committed row by row)."""
    try:
        text, encoding = read_text(path)
    except TableFileError as exc:
        raise InvalidVolunteerRequest(exc.message, allowed=exc.allowed) from None
    records = csv_records(io.StringIO(text, newline=""))
    first = next(records, None)
    if first is None or not first.fields:
        raise InvalidVolunteerRequest(f"{path.name} is empty", allowed="a CSV file with a header")
    header = [h.strip().lower() for h in first.fields]
    known: tuple[str, ...]
    if "capacity_per_day" in header:
        kind, known = "teams", (*TEAM_COLUMNS, "capacity_per_day")
    elif "team_id" in header:
        kind, known = "volunteers", VOLUNTEER_COLUMNS
    else:
        raise InvalidVolunteerRequest(
            f"{path.name}: cannot tell teams from volunteers by the header {header}",
            allowed="teams: name, services, capacity_per_day, units and/or lon, lat, radius_m; "
            "volunteers: name, phone, team_id, skills",
        )
    unknown = sorted(set(header) - set(known))
    if unknown:
        raise InvalidVolunteerRequest(
            f"{path.name}: unknown column(s) {unknown}", allowed=", ".join(known)
        )
    done = Imported(kind, "utf-8" if encoding == "utf-8-sig" else encoding)
    for record in records:
        if record.problem:
            done.problems.append((record.line, record.problem))
            continue
        try:
            values = _values(header, record.fields)
            if kind == "teams":
                spec = TeamIn.model_validate(values, strict=False)
                made = create_team(session, bset, TeamSpec(**spec.model_dump()), now).id
            else:
                person = VolunteerIn.model_validate(values, strict=False)
                spec_v = VolunteerSpec(**person.model_dump())
                made = create_volunteer(session, None, spec_v, now).id
            session.commit()
            done.ids.append(made)
        except ValidationError as exc:
            session.rollback()
            done.problems.append((record.line, _why(exc)))
        except (ValueError, WanggeError) as exc:
            session.rollback()
            done.problems.append((record.line, getattr(exc, "message", str(exc))))
    return done
