"""Validation of boundary sets: hand-made broken sets, clean lattices and real Cambridge data."""

from __future__ import annotations

import json
import re
import time
from collections import Counter

import numpy as np
import pytest
import shapely
from shapely import LineString, Point, Polygon, box

from geo.units import BoundarySet
from geo.validate import (
    REFUSED_AT_LOAD,
    Issue,
    ValidationReport,
    check_for_use,
    validate_boundary_set,
)

# -- hand-made sets, in metres from a corner in Tianjin ------------------------------------------

STREET = box(0, 0, 200, 100)
WEST = box(0, 0, 100, 100)
EAST = box(100, 0, 200, 100)
# the east grid drawn as a bow-tie: its edges cross at (150, 50)
BOWTIE = Polygon([(100, 0), (200, 100), (200, 0), (100, 100)])
LAKE = box(40, 40, 60, 60)


def street_and_grids(*grids, street=("S", "", STREET)):
    """Two levels: one street S split into grids (code, parent, geometry)."""
    return [("street", [street]), ("grid", list(grids))]


G1 = ("G1", "S", WEST)
G2 = ("G2", "S", EAST)

# (layers, repair on load, expected issues as (severity, kind, codes, area m² or None))
HAND_MADE = [
    # clean: two grids tile the street exactly
    pytest.param(street_and_grids(G1, G2), False, [], id="clean"),
    # self-intersecting bow-tie: invalid; its make_valid halves leave two triangles uncovered
    pytest.param(
        street_and_grids(G1, ("G2", "S", BOWTIE)),
        False,
        [
            ("error", "invalid_geometry", ("G2",), None),
            ("warning", "gap", ("S",), 2500.0),
            ("warning", "gap", ("S",), 2500.0),
        ],
        id="bowtie-invalid",
    ),
    # the same bow-tie loaded with repair=True: recorded as repaired, valid from then on
    pytest.param(
        street_and_grids(G1, ("G2", "S", BOWTIE)),
        True,
        [
            ("info", "repaired", ("G2",), None),
            ("warning", "gap", ("S",), 2500.0),
            ("warning", "gap", ("S",), 2500.0),
        ],
        id="bowtie-repaired",
    ),
    # two grids share a code
    pytest.param(
        street_and_grids(G1, ("G1", "S", EAST)),
        False,
        [("error", "duplicate_code", ("G1",), None)],
        id="duplicate-code",
    ),
    # parent code that no unit has; the street is then uncovered where the grid lies
    pytest.param(
        street_and_grids(G1, ("G2", "X", EAST)),
        False,
        [("error", "orphan", ("G2", "X"), None), ("warning", "gap", ("S",), 10_000.0)],
        id="orphan-unknown-parent",
    ),
    # no parent code at all below the top level
    pytest.param(
        street_and_grids(G1, ("G2", "", EAST)),
        False,
        [("error", "orphan", ("G2",), None), ("warning", "gap", ("S",), 10_000.0)],
        id="orphan-no-parent",
    ),
    # a top-level unit naming a parent
    pytest.param(
        street_and_grids(G1, G2, street=("S", "CITY", STREET)),
        False,
        [("error", "top_level_parent", ("S",), None)],
        id="top-level-with-parent",
    ),
    # a micro-grid whose parent is a street, two levels up; grid G2 is left without children
    pytest.param(
        [
            *street_and_grids(G1, G2),
            ("micro", [("M1", "G1", WEST), ("M2", "S", EAST)]),
        ],
        False,
        [
            ("error", "wrong_parent_level", ("M2", "S"), None),
            ("warning", "childless", ("G2",), None),
        ],
        id="parent-on-wrong-level",
    ),
    # a grid sticking 5 m out of its street: 500 m² outside, beyond the 1 m tolerance
    pytest.param(
        street_and_grids(G1, ("G2", "S", box(100, 0, 205, 100))),
        False,
        [("error", "outside_parent", ("G2", "S"), 500.0)],
        id="outside-parent-5m",
    ),
    # a grid sticking 0.5 m out: within the 1 m tolerance, no issue
    pytest.param(
        street_and_grids(G1, ("G2", "S", box(100, 0, 200.5, 100))),
        False,
        [],
        id="outside-parent-0.5m-tolerated",
    ),
    # a grid lying wholly outside its street, which it leaves uncovered
    pytest.param(
        street_and_grids(G1, ("G2", "S", box(300, 0, 400, 100))),
        False,
        [("error", "outside_parent", ("G2", "S"), 10_000.0), ("warning", "gap", ("S",), 10_000.0)],
        id="outside-parent-entirely",
    ),
    # two sibling grids overlapping on a 1 m x 100 m strip
    pytest.param(
        street_and_grids(G1, ("G2", "S", box(99, 0, 200, 100))),
        False,
        [("error", "overlap", ("G1", "G2"), 100.0)],
        id="overlap-100m2",
    ),
    # overlap of 0.5 m² (5 mm x 100 m): below min_area_m2, noise
    pytest.param(
        street_and_grids(G1, ("G2", "S", box(99.995, 0, 200, 100))),
        False,
        [],
        id="overlap-below-min-area",
    ),
    # the same grid drawn twice under two codes
    pytest.param(
        street_and_grids(G1, G2, ("G3", "S", EAST)),
        False,
        [("error", "overlap", ("G2", "G3"), 10_000.0)],
        id="unit-drawn-twice",
    ),
    # siblings overlapping across different parents: still siblings of one level
    pytest.param(
        [
            ("street", [("S", "", STREET), ("T", "", box(200, 0, 300, 100))]),
            ("grid", [G1, G2, ("H1", "T", box(190, 0, 300, 100))]),
        ],
        False,
        [
            ("error", "outside_parent", ("H1", "T"), 1000.0),
            ("error", "overlap", ("G2", "H1"), 1000.0),
        ],
        id="overlap-across-parents",
    ),
    # a 0.5 m x 100 m strip of the street covered by no grid
    pytest.param(
        street_and_grids(G1, ("G2", "S", box(100.5, 0, 200, 100))),
        False,
        [("warning", "gap", ("S",), 50.0)],
        id="gap-50m2",
    ),
    # a gap of 0.5 m² (5 mm x 100 m): below min_area_m2, noise
    pytest.param(
        street_and_grids(G1, ("G2", "S", box(100.005, 0, 200, 100))),
        False,
        [],
        id="gap-below-min-area",
    ),
    # a street with a hole (a lake) that its grids leave out: clean
    pytest.param(
        street_and_grids(
            ("G1", "S", WEST.difference(LAKE)), G2, street=("S", "", STREET.difference(LAKE))
        ),
        False,
        [],
        id="hole-left-out",
    ),
    # a grid covering the street's hole sticks out of the street there
    pytest.param(
        street_and_grids(G1, G2, street=("S", "", STREET.difference(LAKE))),
        False,
        [("error", "outside_parent", ("G1", "S"), 400.0)],
        id="hole-covered-by-child",
    ),
    # a street without grids while the grid level has units
    pytest.param(
        [("street", [("S", "", STREET), ("T", "", box(0, 200, 100, 300))]), ("grid", [G1, G2])],
        False,
        [("warning", "childless", ("T",), None)],
        id="childless",
    ),
    # a level without units
    pytest.param(
        [("street", [("S", "", STREET)]), ("grid", [])],
        False,
        [("error", "empty_level", (), None)],
        id="empty-level",
    ),
    # a grid without geometry
    pytest.param(
        street_and_grids(G1, ("G2", "S", None)),
        False,
        [("error", "missing_geometry", ("G2",), None), ("warning", "gap", ("S",), 10_000.0)],
        id="missing-geometry",
    ),
    # a grid drawn as a line
    pytest.param(
        street_and_grids(G1, ("G2", "S", LineString([(100, 0), (200, 100)]))),
        False,
        [("error", "not_polygonal", ("G2",), None), ("warning", "gap", ("S",), 10_000.0)],
        id="not-polygonal",
    ),
    # a level of points, not of polygons: the street is covered by nothing
    pytest.param(
        street_and_grids(("P1", "S", Point(50, 50)), ("P2", "S", Point(150, 50))),
        False,
        [
            ("error", "not_polygonal", ("P1",), None),
            ("error", "not_polygonal", ("P2",), None),
            ("warning", "gap", ("S",), 20_000.0),
        ],
        id="level-of-points",
    ),
    # a grid of 1 cm x 1 cm, 5 m outside its street: too small for any point, nothing else
    pytest.param(
        street_and_grids(G1, G2, ("G3", "S", box(205, 50, 205.01, 50.01))),
        False,
        [("error", "degenerate", ("G3",), 1e-4)],
        id="degenerate",
    ),
]


def summary(report: ValidationReport) -> list[tuple[str, str, tuple[str, ...], float | None]]:
    return [(i.severity, i.kind, i.codes, i.area_m2) for i in report.issues]


def assert_issues(report: ValidationReport, expected: list, *, rel: float = 1e-3) -> None:
    got = sorted(summary(report), key=lambda t: (t[0], t[1], t[2], t[3] or 0.0))
    want = sorted(expected, key=lambda t: (t[0], t[1], t[2], t[3] or 0.0))
    assert [g[:3] for g in got] == [w[:3] for w in want], report.to_text()
    for g, w in zip(got, want, strict=True):
        if w[3] is None:
            assert g[3] is None, g
        else:
            assert g[3] == pytest.approx(w[3], rel=rel, abs=0.05), g


@pytest.mark.parametrize(("layers", "repair", "expected"), HAND_MADE)
def test_hand_made_sets(make_metric_set, layers, repair, expected):
    bset = make_metric_set(layers, repair=repair)
    report = validate_boundary_set(bset)
    assert_issues(report, expected)
    assert report.ok == (not any(severity == "error" for severity, *_ in expected))
    assert report.units_per_level == {level: len(rows) for level, rows in layers}
    for issue in report.issues:
        assert issue.level in bset.levels
        assert issue.message


# (layers, kind of the issue, what its message says, what it must not say)
MESSAGES = [
    # children that are points: "none of its 0 unit(s)" said nothing of what is wrong
    pytest.param(street_and_grids(("P1", "S", Point(50, 50)), ("P2", "S", Point(150, 50))),
                 "gap", "none of its 2 unit(s) of level 'grid' has an area", "0 unit(s)",
                 id="gap-of-points"),
    pytest.param(street_and_grids(("P1", "S", Point(50, 50)), ("P2", "S", Point(150, 50))),
                 "not_polygonal", "a layer of points or lines", "", id="level-of-points"),
    # one child of two is a line: both are counted, the line said to have no area
    pytest.param(street_and_grids(G1, ("G2", "S", LineString([(100, 0), (200, 100)]))),
                 "gap", "none of its 2 unit(s) of level 'grid' (1 of them without an area",
                 "", id="gap-beside-a-line"),
    # a speck outside its parent: said to be a speck, not "0.0 m² outside its parent"
    pytest.param(street_and_grids(G1, G2, ("G3", "S", box(205, 50, 205.01, 50.01))),
                 "degenerate", "covers only 0.0001 m² (0.01 by 0.01 m)", "0.0 m²",
                 id="speck"),
    # a needle 2 cm wide sticking 1.1 m out: its areas in significant digits, never 0.0
    pytest.param(street_and_grids(G1, ("G2", "S", Polygon([(100, 0), (200, 0), (200, 49.99),
                                                               (201.1, 50), (200, 50.01),
                                                               (200, 100), (100, 100)]))),
                 "outside_parent", "has 0.011 m² outside its parent 'S', 9.1e-05 m² of it",
                 "0.0 m²", id="needle"),
]  # fmt: skip


@pytest.mark.parametrize(("layers", "kind", "says", "never"), MESSAGES)
def test_messages_say_what_is_wrong(make_metric_set, layers, kind, says, never):
    report = validate_boundary_set(make_metric_set(layers))
    messages = [i.message for i in report.issues if i.kind == kind]
    assert messages, report.to_text()
    assert any(says in m for m in messages), messages
    if never:  # as a number of its own ("150.0 m²" is fine)
        pattern = re.compile(rf"(?<![\d.,]){re.escape(never)}")
        assert not any(pattern.search(i.message) for i in report.issues), report.to_text()


# (layers, kinds the load checks refuse, kinds they only report), one commented row per case
AT_LOAD = [
    # clean
    pytest.param(street_and_grids(G1, G2), [], [], id="clean"),
    # a repeated code: a point in the east grid would get the west grid's code and name
    pytest.param(street_and_grids(G1, ("G1", "S", EAST)), ["duplicate_code"], [],
                 id="duplicate-code"),
    # a unit that is a line: no point falls in it
    pytest.param(street_and_grids(G1, ("G2", "S", LineString([(100, 0), (200, 100)]))),
                 ["not_polygonal"], [], id="not-polygonal"),
    # an invalid polygon, an orphan, a missing geometry: reported, not refused
    pytest.param(street_and_grids(G1, ("G2", "S", BOWTIE)), [], ["invalid_geometry"],
                 id="invalid"),
    pytest.param(street_and_grids(G1, ("G2", "X", EAST)), [], ["orphan"], id="orphan"),
    pytest.param(street_and_grids(G1, ("G2", "S", None)), [], ["missing_geometry"],
                 id="missing-geometry"),
    # an overlap needs measuring: not a load check
    pytest.param(street_and_grids(G1, ("G2", "S", box(99, 0, 200, 100))), [], [],
                 id="overlap-not-checked"),
]  # fmt: skip


@pytest.mark.parametrize(("layers", "refused", "reported"), AT_LOAD)
def test_load_checks(make_metric_set, layers, refused, reported):
    bset = make_metric_set(layers)
    report = check_for_use(bset)
    assert report.checks == "load"
    assert [i.kind for i in report.refusing] == refused
    assert sorted({i.kind for i in report.issues} - set(refused)) == reported
    assert set(refused) <= set(REFUSED_AT_LOAD)
    # nothing projected or measured: the load stays quick on a city
    assert "metric_geometries" not in bset.__dict__
    # the full validation finds the same issues, and more
    full = {(i.kind, i.codes) for i in validate_boundary_set(bset).issues}
    assert {(i.kind, i.codes) for i in report.issues} <= full


def test_summary_lines():
    issues = [Issue("error", "orphan", "grid", (f"G{k}",), f"unit G{k} is lost") for k in range(7)]
    report = ValidationReport(issues=issues)
    assert report.summary(limit=2) == [
        "error orphan: unit G0 is lost",
        "error orphan: unit G1 is lost",
        "... and 5 more",
    ]


def test_repaired_set_is_valid(make_metric_set):
    bset = make_metric_set(street_and_grids(G1, ("G2", "S", BOWTIE)), repair=True)
    assert bset.repaired == ("G2",)
    assert shapely.is_valid(bset.units.geometry.values).all()
    report = validate_boundary_set(bset)
    assert report.ok
    assert not [i for i in report.issues if i.kind == "invalid_geometry"]


# (layers, kind of the issue, where its point must lie, in local metres)
WHERE = [
    # the bow-tie's self-intersection, as GEOS locates it
    pytest.param(street_and_grids(G1, ("G2", "S", BOWTIE)), "invalid_geometry",
                 shapely.Point(150, 50).buffer(0.01), id="self-intersection"),
    # on the 1 m strip two grids share
    pytest.param(street_and_grids(G1, ("G2", "S", box(99, 0, 200, 100))), "overlap",
                 box(99, 0, 100, 100), id="overlap"),
    # on the 0.5 m strip nobody covers
    pytest.param(street_and_grids(G1, ("G2", "S", box(100.5, 0, 200, 100))), "gap",
                 box(100, 0, 100.5, 100), id="gap"),
    # on the part more than 1 m beyond the street
    pytest.param(street_and_grids(G1, ("G2", "S", box(100, 0, 205, 100))), "outside_parent",
                 box(201, 0, 205, 100), id="outside-parent"),
    # on the orphan itself
    pytest.param(street_and_grids(G1, ("G2", "X", EAST)), "orphan", EAST, id="orphan"),
]  # fmt: skip


@pytest.mark.parametrize(("layers", "kind", "region"), WHERE)
def test_where_points_at_the_problem(make_metric_set, to_local_metres, layers, kind, region):
    report = validate_boundary_set(make_metric_set(layers))
    [issue] = [i for i in report.issues if i.kind == kind]
    assert issue.where is not None
    assert region.buffer(1e-3).contains(to_local_metres(issue.where)), issue


# (layers, tolerance_m, min_area_m2, expected)
THRESHOLDS = [
    # 5 m out, tolerance 10 m: accepted
    pytest.param(street_and_grids(G1, ("G2", "S", box(100, 0, 205, 100))), 10.0, 1.0, [],
                 id="outside-within-larger-tolerance"),
    # 0.5 m out, no tolerance: an error of 50 m²
    pytest.param(street_and_grids(G1, ("G2", "S", box(100, 0, 200.5, 100))), 0.0, 1.0,
                 [("error", "outside_parent", ("G2", "S"), 50.0)], id="outside-no-tolerance"),
    # 100 m² overlap ignored when the threshold is 200 m²
    pytest.param(street_and_grids(G1, ("G2", "S", box(99, 0, 200, 100))), 1.0, 200.0, [],
                 id="overlap-under-threshold"),
    # 0.5 m² overlap reported when the threshold is 0.1 m²
    pytest.param(street_and_grids(G1, ("G2", "S", box(99.995, 0, 200, 100))), 1.0, 0.1,
                 [("error", "overlap", ("G1", "G2"), 0.5)], id="small-overlap-low-threshold"),
    # 50 m² gap ignored when the threshold is 100 m²
    pytest.param(street_and_grids(G1, ("G2", "S", box(100.5, 0, 200, 100))), 1.0, 100.0, [],
                 id="gap-under-threshold"),
]  # fmt: skip


@pytest.mark.parametrize(("layers", "tolerance_m", "min_area_m2", "expected"), THRESHOLDS)
def test_thresholds(make_metric_set, layers, tolerance_m, min_area_m2, expected):
    report = validate_boundary_set(
        make_metric_set(layers), tolerance_m=tolerance_m, min_area_m2=min_area_m2
    )
    assert_issues(report, expected)
    assert report.tolerance_m == tolerance_m
    assert report.min_area_m2 == min_area_m2


@pytest.mark.parametrize(
    "kwargs",
    [
        {"tolerance_m": -1.0},  # negative distance
        {"min_area_m2": float("nan")},  # not a number
        {"tolerance_m": float("inf")},  # infinite
    ],
)
def test_bad_thresholds_rejected(make_metric_set, kwargs):
    with pytest.raises(ValueError):
        validate_boundary_set(make_metric_set(street_and_grids(G1, G2)), **kwargs)


# -- levels are data: clean nested lattices of any depth -----------------------------------------

LATTICES = [
    # three levels: district, 4 streets, 36 micro-grids
    pytest.param([("district", (1, 1)), ("street", (2, 2)), ("micro", (3, 3))], 0.0,
                 id="3-levels"),
    # six levels, down to 1,728 micro-grids
    pytest.param(
        [("city", (1, 1)), ("district", (2, 1)), ("street", (2, 2)), ("community", (2, 2)),
         ("grid", (2, 3)), ("micro", (3, 3))], 0.0, id="6-levels"),
    # three levels whose shared edges differ by ~0.1 mm noise: tiny overlaps and gaps ignored
    pytest.param([("district", (1, 1)), ("street", (2, 2)), ("micro", (3, 3))], 1e-4,
                 id="3-levels-noisy-edges"),
]  # fmt: skip


@pytest.mark.parametrize(("levels", "noise_m"), LATTICES)
def test_clean_lattices(make_lattice, levels, noise_m):
    bset = make_lattice(levels, noise_m=noise_m)
    report = validate_boundary_set(bset)
    assert report.ok
    assert report.issues == [], report.to_text()
    expected, n = {}, 1
    for level, (sx, sy) in levels:
        n *= sx * sy
        expected[level] = n
    assert report.units_per_level == expected
    assert list(report.units_per_level) == [level for level, _ in levels]


@pytest.mark.slow
def test_city_scale_set_validates_quickly(make_lattice):
    # the size of Tianjin's Hexi district: 14 streets, ~150 communities, ~1,500 grids, ~14k
    # micro-grids
    levels = [("district", (1, 1)), ("street", (2, 7)), ("community", (3, 3)),
              ("grid", (3, 4)), ("micro", (3, 3))]  # fmt: skip
    bset = make_lattice(levels)
    assert len(bset) == 15_261
    start = time.perf_counter()
    report = validate_boundary_set(bset)
    elapsed = time.perf_counter() - start
    assert report.issues == []
    assert elapsed < 60.0


# -- the report's forms ---------------------------------------------------------------------------


def test_to_text_lists_kinds_and_areas(make_metric_set):
    layers = [
        ("street", [("S", "", STREET), ("T", "", box(0, 200, 100, 300))]),
        ("grid", [G1, ("G2", "S", box(99, 0, 205, 100))]),
    ]
    report = validate_boundary_set(make_metric_set(layers))
    text = report.to_text()
    for kind in ("overlap", "outside_parent", "childless"):
        assert kind in text
    assert "100.0" in text  # the overlap
    assert "500.0" in text  # the part outside the street
    assert "NOT OK" in text
    assert "street 2, grid 2" in text
    lines = text.splitlines()
    header = next(line for line in lines if line.startswith("severity"))
    column = {name: header.index(name) for name in ("kind", "level", "codes", "area m²")}
    rows = lines[lines.index(header) + 2 :]
    assert len(rows) == len(report.issues)
    for row, issue in zip(rows, report.issues, strict=True):
        assert row[column["kind"] :].startswith(issue.kind)
        assert row[column["level"] :].startswith(issue.level or "")
        assert row[column["codes"] :].startswith(issue.codes[0])


def test_to_text_truncates_long_code_lists():
    issue = Issue("error", "overlap", "grid", ("A" * 30, "B" * 30), "long codes", 1.0)
    text = ValidationReport(issues=[issue], units_per_level={"grid": 2}).to_text()
    assert "A" * 30 + ", " + "B" * 7 + "…" in text
    assert "B" * 8 not in text


def test_clean_report_text(make_metric_set):
    report = validate_boundary_set(make_metric_set(street_and_grids(G1, G2)))
    assert report.to_text().endswith("no issues")
    assert report.ok and report.errors == [] and report.warnings == []


def test_to_dict_is_json(make_metric_set):
    report = validate_boundary_set(make_metric_set(street_and_grids(G1, ("G2", "S", BOWTIE))))
    data = json.loads(json.dumps(report.to_dict()))
    assert data["ok"] is False
    assert data["units_per_level"] == {"street": 1, "grid": 2}
    assert data["counts"] == {
        "error": {"invalid_geometry": 1},
        "warning": {"gap": 2},
        "info": {},
    }
    invalid = data["issues"][0]
    assert invalid["kind"] == "invalid_geometry"
    assert invalid["codes"] == ["G2"]
    assert "Self-intersection" in invalid["message"]
    assert len(invalid["where"]) == 2
    assert [i["area_m2"] for i in data["issues"][1:]] == pytest.approx([2500.0, 2500.0])


# -- real data: Cambridge (MA) 2020 census tracts -> block groups -> blocks ----------------------
#
# Tracts and blocks fit each other exactly; four block groups (250173521012, 250173531022,
# 250173533001, 250173541002) are drawn differently, 0.1 to 10 m off. That leaves sliver
# overlaps with their neighbours, parts outside their tract, holes in their tract, and blocks
# that stick out of them or that they do not cover. Areas in m², in UTM zone 19N.

CAMBRIDGE_OVERLAPS = [
    # slivers between the misdrawn block groups and their neighbours, mostly under 1.5 m wide
    (("250173521012", "250173521011"), 22.1),
    (("250173521012", "250173521013"), 204.1),
    (("250173531022", "250173523003"), 108.0),  # across tracts
    (("250173531022", "250173524001"), 43.2),  # across tracts
    (("250173531022", "250173531011"), 12.6),
    (("250173533001", "250173531012"), 301.4),
    (("250173533001", "250173532003"), 3.6),  # the smallest: 27 m long, ~0.13 m wide
    (("250173533001", "250173533002"), 24.2),
    (("250173533001", "250173594001"), 111.0),
    (("250173533001", "250173594002"), 119.3),
    (("250173539002", "250173541002"), 106.0),
    (("250173541002", "250173540003"), 45.7),
    (("250173541002", "250173541001"), 512.7),  # the largest: a 627 m long sliver
]

CAMBRIDGE_OUTSIDE = [
    # block groups beyond their tract by more than 1 m (area = all of the part outside)
    (("250173531022", "25017353102"), 163.9),
    (("250173533001", "25017353300"), 535.2),
    (("250173541002", "25017354100"), 151.6),
    # blocks beyond their (misdrawn) block group by more than 1 m
    (("250173521012000", "250173521012"), 142.9),
    (("250173521012002", "250173521012"), 40.1),
    (("250173521012003", "250173521012"), 34.5),
    (("250173521012004", "250173521012"), 141.0),
    (("250173521012005", "250173521012"), 2194.1),  # up to 10.8 m out
    (("250173531022000", "250173531022"), 299.8),
    (("250173531022002", "250173531022"), 1695.7),
    (("250173533001003", "250173533001"), 73.5),
    (("250173533001006", "250173533001"), 142.0),
    (("250173541002008", "250173541002"), 135.7),
    (("250173541002019", "250173541002"), 14.1),
    (("250173541002022", "250173541002"), 12.5),  # only 0.95 m² of it beyond 1 m
    (("250173541002023", "250173541002"), 107.5),
    (("250173541002026", "250173541002"), 17.7),
]

CAMBRIDGE_GAPS = [
    # tracts: holes between their block groups
    (("25017352101",), [2335.1, 189.6, 74.2]),
    (("25017353102",), [1695.3, 299.8, 97.0, 2.1]),
    (("25017353300",), [144.1, 137.0, 21.0, 5.9, 5.4, 5.0]),
    (("25017354100",), [92.0, 83.6, 78.2, 26.8, 26.7, 14.1, 10.6, 10.1, 2.4]),
    # misdrawn block groups: parts covered by none of their blocks
    (("250173521012",), [110.5, 73.2, 22.1, 20.5]),
    (("250173531022",), [143.4, 20.5]),
    (("250173533001",), [412.6, 113.1, 16.9, 6.7, 6.1, 3.3]),
    (("250173541002",), [159.5, 154.1, 106.0, 89.4, 66.7, 45.5, 42.9]),
]


@pytest.fixture(scope="module")
def cambridge_report(cambridge: BoundarySet) -> ValidationReport:
    return validate_boundary_set(cambridge)


def test_cambridge_summary(cambridge_report):
    assert cambridge_report.units_per_level == {"tract": 33, "block_group": 87, "block": 1044}
    assert not cambridge_report.ok
    # nothing beyond the slivers: codes, hierarchy and geometries are all sound
    assert Counter(i.kind for i in cambridge_report.issues) == {
        "overlap": len(CAMBRIDGE_OVERLAPS),
        "outside_parent": len(CAMBRIDGE_OUTSIDE),
        "gap": sum(len(areas) for _, areas in CAMBRIDGE_GAPS),
    }
    assert {i.severity for i in cambridge_report.issues if i.kind == "gap"} == {"warning"}


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("overlap", CAMBRIDGE_OVERLAPS),  # block group with block group
        ("outside_parent", CAMBRIDGE_OUTSIDE),  # (child, parent)
        ("gap", [(codes, a) for codes, areas in CAMBRIDGE_GAPS for a in areas]),  # per piece
    ],
)
def test_cambridge_issues_exactly(cambridge_report, kind, expected):
    got = sorted((i.codes, i.area_m2) for i in cambridge_report.issues if i.kind == kind)
    want = sorted(expected)
    assert [codes for codes, _ in got] == [codes for codes, _ in want]
    assert [a for _, a in got] == pytest.approx([a for _, a in want], abs=0.1)


def test_cambridge_overlap_points_lie_in_both_units(cambridge, cambridge_report):
    geoms = cambridge.units.geometry.values
    for issue in cambridge_report.issues:
        if issue.kind != "overlap":
            continue
        point = shapely.Point(issue.where)
        a, b = cambridge.positions(list(issue.codes))
        assert geoms[a].distance(point) < 1e-7 and geoms[b].distance(point) < 1e-7, issue


# (tolerance_m, number of outside_parent errors)
CAMBRIDGE_TOLERANCES = [
    (0.0, 27),  # every child with any part outside its parent; shared edges match exactly
    (0.5, 24),
    (1.0, 17),  # the default
    (5.0, 4),
    (11.0, 0),  # the worst block is 10.8 m out
]


@pytest.mark.parametrize(("tolerance_m", "count"), CAMBRIDGE_TOLERANCES)
def test_cambridge_tolerance(cambridge, tolerance_m, count):
    report = validate_boundary_set(cambridge, tolerance_m=tolerance_m)
    outside = [i for i in report.issues if i.kind == "outside_parent"]
    assert len(outside) == count
    # the other checks do not depend on the tolerance
    assert len(report.issues) - len(outside) == len(CAMBRIDGE_OVERLAPS) + 41


def test_cambridge_text_and_json(cambridge_report):
    text = cambridge_report.to_text()
    assert "512.7" in text and "2,335.1" in text and "outside_parent" in text
    data = json.loads(json.dumps(cambridge_report.to_dict()))
    assert len(data["issues"]) == len(cambridge_report.issues)
    lon, lat = np.array([i["where"] for i in data["issues"]]).T
    assert ((-71.17 < lon) & (lon < -71.06) & (42.35 < lat) & (lat < 42.41)).all()
