"""Case-density map build time and page size, beside a naive Folium page built in the same run.

    .venv/bin/python bench/maps.py [--cases 1000000] [--naive-cases 100000]

Uses the Hexi demo's 13,989 micro-grids (built once, cached under var/bench/) and seeded
synthetic cases (maps.demo). Times ``build_density_map`` + ``render_html`` (best of
``--repeat``) and prints the HTML size with its main parts. The naive page is what Folium
gives when used directly: the units as ``folium.GeoJson`` with a tooltip, a ``HeatMap`` of
every raw point and one ``folium.Marker`` with a popup per case in a ``MarkerCluster``. It
costs most of a millisecond and about 1 kB per case, too slow for a million here, so it is
built on ``--naive-cases`` (100,000) and on a tenth of that, and the line through the two is
extended to ``--cases``; the output says so. Targets: at most 5 s and 5 MB for 1,000,000
cases at micro-grid level.
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from datetime import datetime
from pathlib import Path

import folium
import folium.plugins
import geopandas as gpd

ROOT = Path(__file__).resolve().parents[1]
# This file is bench/maps.py: put the project first so that "maps" is the package, not us.
sys.path.insert(0, str(ROOT))

from api.cases.catalogue import DEFAULT_CATEGORIES  # noqa: E402
from api.cases.lifecycle import OPEN, Status  # noqa: E402
from boundaries.demo import build_hexi, write_gpkg  # noqa: E402
from boundaries.loader import read_boundary_set  # noqa: E402
from maps import CaseStatus, build_density_map, render_html  # noqa: E402
from maps.demo import DemoCategory, DemoLifecycle, synthetic_cases  # noqa: E402

CACHE = ROOT / "var" / "bench"
NOW = datetime(2024, 6, 1, 9, 0)
TARGET_S, TARGET_MB = 5.0, 5.0
#: The service's lifecycle and catalogue, as it passes them to the map.
STATUSES = [CaseStatus(s.value, open=s in OPEN) for s in Status]
CATEGORY_LABELS = {c.code: f"{c.name_zh} {c.name_en}" for c in DEFAULT_CATEGORIES}
#: Synthetic cases in the catalogue's categories (equal shares), with its deadlines.
DEMO_CATEGORIES = [DemoCategory(c.code, c.sla_hours) for c in DEFAULT_CATEGORIES]
DEMO_LIFECYCLE = DemoLifecycle(
    steps=(Status.SUBMITTED, Status.ASSIGNED, Status.ACCEPTED, Status.IN_PROGRESS),
    late=Status.ESCALATED,
    done=((Status.RESOLVED, 0.62), (Status.CLOSED, 0.35), (Status.REJECTED, 0.03)),
)


def hexi_microgrids(seed: int) -> gpd.GeoDataFrame:
    path = CACHE / f"hexi-{seed}.gpkg"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        started = time.perf_counter()
        write_gpkg(build_hexi(seed=seed), path)
        print(f"built {path} in {time.perf_counter() - started:.1f} s")
    bset = read_boundary_set([path])
    return bset.units.iloc[bset.level_positions("microgrid")].reset_index(drop=True)


def ours(units: gpd.GeoDataFrame, cases: gpd.GeoDataFrame, repeat: int) -> tuple[float, str]:
    best, html = float("inf"), ""
    for _ in range(repeat):
        started = time.perf_counter()
        m = build_density_map(
            units,
            cases,
            level="microgrid",
            title="河西区 案件密度",
            built_at=NOW,
            statuses=STATUSES,
            categories=CATEGORY_LABELS,
        )
        html = render_html(m)
        best = min(best, time.perf_counter() - started)
    return best, html


def naive(units: gpd.GeoDataFrame, cases: gpd.GeoDataFrame) -> tuple[float, int]:
    started = time.perf_counter()
    minx, miny, maxx, maxy = units.total_bounds
    m = folium.Map(tiles=None, location=[(miny + maxy) / 2, (minx + maxx) / 2], zoom_start=13)
    folium.GeoJson(
        units[["code", "name", "leader_name", "geometry"]],
        name="units",
        tooltip=folium.GeoJsonTooltip(["name", "code", "leader_name"]),
    ).add_to(m)
    lat, lon = cases.geometry.y.to_numpy(), cases.geometry.x.to_numpy()
    folium.plugins.HeatMap(list(zip(lat, lon, strict=True)), name="heat").add_to(m)
    cluster = folium.plugins.MarkerCluster(name="cases").add_to(m)
    for la, lo, case_id, category, status in zip(
        lat, lon, cases["id"], cases["category"], cases["status"], strict=True
    ):
        folium.Marker([la, lo], popup=f"{case_id} {category} {status}").add_to(cluster)
    folium.LayerControl().add_to(m)
    m.fit_bounds([[miny, minx], [maxy, maxx]])
    size = len(m.get_root().render().encode())
    return time.perf_counter() - started, size


def parts(html: str) -> str:
    """Sizes of the page's main payloads."""
    sizes = {}
    for label, pattern in (
        ("units", r"wangge\.decodeUnits\(.*?\);\n"),
        ("heat", r"L\.heatLayer\(.*?\);"),
        ("markers", r"wangge\.caseLayer\(.*?\);\n"),
    ):
        found = re.search(pattern, html, re.S)
        sizes[label] = len(found.group(0).encode()) if found else 0
    return ", ".join(f"{k} {v / 1e6:.2f} MB" for k, v in sizes.items())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1_000_000)
    parser.add_argument("--naive-cases", type=int, default=100_000)
    parser.add_argument("--seed", type=int, default=20231)
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs (ours)")
    args = parser.parse_args()

    units = hexi_microgrids(args.seed)
    started = time.perf_counter()
    cases = synthetic_cases(
        units,
        args.cases,
        categories=DEMO_CATEGORIES,
        lifecycle=DEMO_LIFECYCLE,
        seed=args.seed,
        now=NOW,
    )
    print(
        f"{len(units):,} micro-grids; {args.cases:,} synthetic cases "
        f"(generated in {time.perf_counter() - started:.1f} s, not timed)"
    )

    ours_s, html = ours(units, cases, args.repeat)
    ours_mb = len(html.encode()) / 1e6
    n_naive = min(args.naive_cases, args.cases)
    small = cases.iloc[:n_naive]
    ours_small_s, html_small = ours(units, small, args.repeat)
    ours_small_mb = len(html_small.encode()) / 1e6
    naive_s, naive_bytes = naive(units, small)
    naive_mb = naive_bytes / 1e6

    print(
        f"density map  {args.cases:>9,} cases  {ours_s:8.2f} s  {ours_mb:9.2f} MB  ({parts(html)})"
    )
    print(f"density map  {n_naive:>9,} cases  {ours_small_s:8.2f} s  {ours_small_mb:9.2f} MB")
    print(f"naive folium {n_naive:>9,} cases  {naive_s:8.2f} s  {naive_mb:9.2f} MB")
    print(
        f"ratio at {n_naive:,} cases (naive / ours): time {naive_s / ours_small_s:.0f}x, "
        f"size {naive_mb / ours_small_mb:.0f}x"
    )
    if n_naive < args.cases:
        n_tenth = max(n_naive // 10, 1)
        tenth_s, tenth_bytes = naive(units, cases.iloc[:n_tenth])
        per_case_s = (naive_s - tenth_s) / (n_naive - n_tenth)
        per_case_mb = (naive_bytes - tenth_bytes) / 1e6 / (n_naive - n_tenth)
        far_s = naive_s + per_case_s * (args.cases - n_naive)
        far_mb = naive_mb + per_case_mb * (args.cases - n_naive)
        print(
            f"naive folium {args.cases:>9,} cases  {far_s:8.0f} s  {far_mb:9.0f} MB  "
            f"(not built: extrapolated from {n_tenth:,} and {n_naive:,} cases, "
            f"{per_case_s * 1e3:.2f} ms and {per_case_mb * 1e3:.2f} kB per case)"
        )
        print(
            f"ratio at {args.cases:,} cases (naive extrapolated / ours): "
            f"time {far_s / ours_s:.0f}x, size {far_mb / ours_mb:.0f}x"
        )
    met = ours_s <= TARGET_S and ours_mb <= TARGET_MB
    print(
        f"target for 1,000,000 cases: <= {TARGET_S:g} s and <= {TARGET_MB:g} MB: "
        f"{'met' if met else 'MISSED'}"
    )
    if not met and args.cases >= 1_000_000:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
