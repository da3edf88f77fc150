"""The analytics service: hot spots, emerging trends, recurring places, targets and handling
performance on the active boundary version, for a caller (grid workers: their own area)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd
import shapely
from numpy.typing import NDArray
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.access.policy import Principal, Role, sees_leader_phones
from api.analytics import emerging, hotspots, performance, recurring, targets
from api.analytics.counts import unit_category_counts, unit_counts
from api.analytics.errors import InvalidWindow, NoCases
from api.analytics.weights import LevelWeights, WeightsCache
from api.cases.catalogue import check_categories
from api.cases.lifecycle import OPEN
from api.cases.visibility import scoped
from api.db.models import Category, Report
from api.versions import ActiveBoundaries
from geo.units import BoundarySet

#: Default window of hot spots and performance when no start is given.
DEFAULT_DAYS = 28


def utc_now() -> datetime:
    return datetime.now(UTC)


class Analytics:
    """Targeted governance (靶向治理) over the active boundary version."""

    def __init__(
        self, boundaries: ActiveBoundaries, *, clock: Callable[[], datetime] = utc_now
    ) -> None:
        self.boundaries = boundaries
        self.weights = WeightsCache()
        self.clock = clock

    # -- shared parsing -----------------------------------------------------------------------

    def window(
        self, since: datetime | None, until: datetime | None, days: int = DEFAULT_DAYS
    ) -> tuple[datetime, datetime]:
        """[since, until) in UTC; until defaults to now, since to ``days`` before until."""
        until = _utc(until) if until else self.clock()
        since = _utc(since) if since else until - timedelta(days=days)
        if since >= until:
            raise InvalidWindow(
                f"since ({since.isoformat()}) is not before until ({until.isoformat()})",
                allowed="since < until",
            )
        return since, until

    def _category(self, session: Session, category: str | None) -> str | None:
        if category is None:
            return None
        check_categories(session.scalars(select(Category.code)).all(), [category])
        return category

    def _level_weights(self, level: str) -> tuple[BoundarySet, LevelWeights]:
        snapshot = self.boundaries.current
        bset = snapshot.index.bset
        return bset, self.weights.get(snapshot.version_id, bset, level)

    # -- hot spots ----------------------------------------------------------------------------

    def hotspots(
        self,
        session: Session,
        principal: Principal | None,
        *,
        level: str,
        category: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        permutations: int = 999,
        geometry: bool = False,
    ) -> dict[str, Any]:
        """Gi* hot and cold spots of the level's units (see :mod:`api.analytics.hotspots`)."""
        category = self._category(session, category)
        start, end = self.window(since, until)
        bset, lw = self._level_weights(level)
        by_code = unit_counts(session, level, start, end, category=category)
        counts = _aligned(lw, by_code)
        if counts.sum() == 0:
            raise NoCases(
                f"no case at level {level!r} between {start.isoformat()} and {end.isoformat()}"
                + (f" in category {category!r}" if category else ""),
                allowed="a wider window or another category",
            )
        result = hotspots.gi_star(counts, lw, permutations=permutations)
        keep = self._in_area(bset, lw, principal)
        units = []
        for i in np.flatnonzero(keep):
            unit: dict[str, Any] = {
                "code": str(lw.codes[i]),
                "name": str(lw.names[i]),
                "count": int(counts[i]),
                "z": _num(result.z[i], 4),
                "p": _num(result.p[i], 6),
                "class": str(result.classes[i]),
            }
            if geometry:
                unit["geometry"] = shapely.geometry.mapping(
                    bset.units.geometry.iat[int(lw.positions[i])]
                )
            units.append(unit)
        classes = result.classes[keep]
        summary = {
            "level": level,
            "category": category,
            "since": start,
            "until": end,
            "version_id": self.boundaries.current.version_id,
            "units": int(keep.sum()),
            "cases": int(counts[keep].sum()),
            "permutations": permutations,
            "islands": int(lw.islands[keep].sum()),
            "fdr_thresholds": {str(k): v for k, v in result.thresholds.items()},
            "classes": {c: int((classes == c).sum()) for c in hotspots.CLASSES},
        }
        return {"units": units, "summary": summary}

    # -- emerging -----------------------------------------------------------------------------

    def emerging(
        self,
        session: Session,
        principal: Principal | None,
        *,
        level: str,
        category: str | None = None,
        weeks: int = 12,
        until: datetime | None = None,
    ) -> dict[str, Any]:
        """The trend class of each unit over ``weeks`` weekly windows up to ``until`` (now)."""
        category = self._category(session, category)
        end = _utc(until) if until else self.clock()
        bset, lw = self._level_weights(level)
        starts = [end - timedelta(weeks=weeks - k) for k in range(weeks)]
        counts = np.vstack(
            [
                _aligned(
                    lw,
                    unit_counts(session, level, s, s + timedelta(weeks=1), category=category),
                )
                for s in starts
            ]
        )
        if counts.sum() == 0:
            raise NoCases(
                f"no case at level {level!r} in the {weeks} weeks before {end.isoformat()}",
                allowed="more weeks or another category",
            )
        z = emerging.weekly_z(counts, lw)
        trends = emerging.classify_trends(z)
        keep = self._in_area(bset, lw, principal)
        units = []
        for i in np.flatnonzero(keep):
            t = trends[i]
            units.append(
                {
                    "code": str(lw.codes[i]),
                    "name": str(lw.names[i]),
                    "class": t.pattern if t.spot is None else f"{t.pattern}_{t.spot}",
                    "pattern": t.pattern,
                    "spot": t.spot,
                    "trend": t.trend,
                    "trend_p": t.trend_p,
                    "tau": t.tau,
                    "hot_weeks": t.hot_weeks,
                    "cold_weeks": t.cold_weeks,
                    "counts": [int(c) for c in counts[:, i]],
                    "z": [round(float(v), 3) for v in z[:, i]],
                }
            )
        patterns: dict[str, int] = {}
        for unit in units:
            name = str(unit["class"])
            patterns[name] = patterns.get(name, 0) + 1
        summary = {
            "level": level,
            "category": category,
            "weeks": weeks,
            "since": starts[0],
            "until": end,
            "version_id": self.boundaries.current.version_id,
            "units": len(units),
            "cases": int(counts[:, keep].sum()),
            "classes": patterns,
        }
        return {"units": units, "summary": summary}

    # -- recurring ----------------------------------------------------------------------------

    def recurring(
        self,
        session: Session,
        principal: Principal | None,
        *,
        category: str | None = None,
        days: int = 90,
        radius_m: float = 50.0,
        min_reports: int = 5,
        until: datetime | None = None,
    ) -> dict[str, Any]:
        """Recurring places of the last ``days`` days (see :mod:`api.analytics.recurring`)."""
        category = self._category(session, category)
        end = _utc(until) if until else self.clock()
        start = end - timedelta(days=days)
        frame = self._report_points(session, principal, start, end, category)
        places = recurring.find_places(
            frame,
            self.boundaries.current.index.bset.metric_crs,
            radius_m=radius_m,
            min_reports=min_reports,
        )
        summary = {
            "category": category,
            "days": days,
            "since": start,
            "until": end,
            "radius_m": radius_m,
            "min_reports": min_reports,
            "reports": len(frame),
            "places": len(places),
            "reports_in_places": sum(p["count"] for p in places),
        }
        return {"places": places, "summary": summary}

    def _report_points(
        self,
        session: Session,
        principal: Principal | None,
        start: datetime,
        end: datetime,
        category: str | None,
    ) -> pd.DataFrame:
        statement: Any = select(
            Report.category,
            Report.lon,
            Report.lat,
            Report.created_at,
            Report.resolved_at,
            Report.closed_at,
            Report.status,
            Report.unit_code,
        ).where(Report.created_at >= start, Report.created_at < end)
        if category is not None:
            statement = statement.where(Report.category == category)
        if principal is not None:
            statement = scoped(statement, principal)
        rows = session.execute(statement).all()
        open_states = {s.value for s in OPEN}
        return pd.DataFrame(
            {
                "category": [r.category for r in rows],
                "lon": np.array([r.lon for r in rows], dtype=np.float64),
                "lat": np.array([r.lat for r in rows], dtype=np.float64),
                "created_at": [_utc(r.created_at) for r in rows],
                "done_at": [
                    _utc(r.resolved_at or r.closed_at) if (r.resolved_at or r.closed_at) else None
                    for r in rows
                ],
                "open": [r.status in open_states for r in rows],
                "unit_code": [r.unit_code for r in rows],
            }
        )

    # -- targets ------------------------------------------------------------------------------

    def targets(
        self,
        session: Session,
        principal: Principal | None,
        *,
        level: str = "community",
        days: int = 28,
        top: int = 10,
        until: datetime | None = None,
        permutations: int = 999,
    ) -> dict[str, Any]:
        """The (unit, category) pairs to target first (see :mod:`api.analytics.targets`)."""
        end = _utc(until) if until else self.clock()
        start = end - timedelta(days=days)
        bset, lw = self._level_weights(level)
        now_counts = unit_category_counts(session, level, start, end)
        base_counts = unit_category_counts(
            session, level, start - timedelta(days=targets.BASELINE_DAYS), start
        )
        names = {c.code: (c.name_zh, c.name_en) for c in session.scalars(select(Category))}
        keep = self._in_area(bset, lw, principal)
        area = {str(c) for c in lw.codes[keep]}
        row_of = {str(c): i for i, c in enumerate(lw.codes)}
        hot: dict[tuple[str, str], str] = {}
        for category in sorted({k for _, k in now_counts}):
            counts = _aligned(lw, {c: n for (c, k), n in now_counts.items() if k == category})
            if counts.sum() == 0:
                continue
            result = hotspots.gi_star(counts, lw, permutations=permutations)
            for i, cls in enumerate(result.classes):
                hot[(str(lw.codes[i]), category)] = str(cls)
        places = recurring.find_places(
            self._report_points(session, None, start, end, None),
            bset.metric_crs,
            radius_m=50.0,
            min_reports=5,
        )
        recurring_in: dict[tuple[str, str], int] = {}
        depth = bset.depth_of(level)
        for place in places:
            above = set()
            for code in place["units"]:
                pos = bset.positions([code])[0]
                if pos >= 0 and bset.chains[pos][depth] >= 0:
                    above.add(str(bset.units["code"].iat[bset.chains[pos][depth]]))
            for code in above:
                key = (code, place["category"])
                recurring_in[key] = recurring_in.get(key, 0) + 1
        candidates = [
            targets.Candidate(
                unit=code,
                unit_name=str(lw.names[row_of[code]]),
                category=category,
                category_zh=names.get(category, (category, category))[0],
                category_en=names.get(category, (category, category))[1],
                count=n,
                baseline=base_counts.get((code, category), 0),
                days=days,
                hot_class=hot.get((code, category), "not_significant"),
                recurring=recurring_in.get((code, category), 0),
            )
            for (code, category), n in now_counts.items()
            if code in area
        ]
        items = [
            {
                "unit": c.unit,
                "name": c.unit_name,
                "category": c.category,
                "score": c.score,
                "reason": c.reason(),
                "count": c.count,
                "baseline_count": c.baseline,
                "ratio": round(c.ratio, 2) if c.ratio is not None else None,
                "hot_class": c.hot_class,
                "recurring_places": c.recurring,
            }
            for c in targets.rank(candidates, top)
        ]
        summary = {
            "level": level,
            "days": days,
            "since": start,
            "until": end,
            "baseline_days": targets.BASELINE_DAYS,
            "pairs": len(candidates),
            "cases": sum(c.count for c in candidates),
        }
        return {"items": items, "summary": summary}

    # -- performance --------------------------------------------------------------------------

    def performance(
        self,
        session: Session,
        principal: Principal | None,
        *,
        level: str,
        since: datetime | None = None,
        until: datetime | None = None,
        sort: str = "received",
        descending: bool = True,
    ) -> dict[str, Any]:
        """Each unit's handling figures, with its leader (phones for those who may see them)."""
        start, end = self.window(since, until)
        bset = self.boundaries.current.index.bset
        positions = bset.level_positions(level)
        scope = principal if principal is not None and principal.role == Role.GRID_WORKER else None
        figures = performance.unit_figures(session, level, start, end, self.clock(), scope)
        with_phone = sees_leader_phones(principal)
        units = []
        area = self._area_mask(bset, positions, principal)
        for pos in positions[area]:
            row = bset.units.iloc[int(pos)]
            code = str(row["code"])
            if code not in figures:
                continue
            units.append(
                {
                    "code": code,
                    "name": str(row["name"]),
                    **figures[code],
                    "leader": {
                        "name": row["leader_name"],
                        "phone": row["leader_phone"] if with_phone else None,
                        "id": row["leader_id"],
                    },
                }
            )
        present = [u for u in units if u[sort] is not None]
        missing = [u for u in units if u[sort] is None]
        present.sort(key=lambda u: (u[sort], u["code"]), reverse=descending)
        summary = {
            "level": level,
            "since": start,
            "until": end,
            "sort": sort,
            "order": "desc" if descending else "asc",
            "units": len(units),
            "received": sum(u["received"] for u in units),
            "resolved": sum(u["resolved"] for u in units),
            "overdue": sum(u["overdue"] for u in units),
        }
        return {"units": present + missing, "summary": summary}

    # -- the caller's area --------------------------------------------------------------------

    def _in_area(
        self, bset: BoundarySet, lw: LevelWeights, principal: Principal | None
    ) -> NDArray[np.bool_]:
        return self._area_mask(bset, lw.positions, principal)

    @staticmethod
    def _area_mask(
        bset: BoundarySet, positions: NDArray[np.intp], principal: Principal | None
    ) -> NDArray[np.bool_]:
        """Units in a grid worker's area (its unit and those below it); everyone else: all."""
        if principal is None or principal.role != Role.GRID_WORKER or not principal.unit_code:
            return np.ones(len(positions), dtype=bool)
        own = bset.positions([principal.unit_code])[0]
        if own < 0:
            return np.zeros(len(positions), dtype=bool)
        chains = bset.chains[positions]
        return np.asarray((chains == own).any(axis=1), dtype=bool)


def _aligned(lw: LevelWeights, by_code: dict[str, int]) -> NDArray[np.float64]:
    """Counts in the weights' unit order (0 where a unit has none)."""
    return np.array([by_code.get(str(c), 0) for c in lw.codes], dtype=np.float64)


def _num(value: float, digits: int) -> float | None:
    return round(float(value), digits) if np.isfinite(value) else None


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
