"""``wangge validate``, ``lookup`` and ``assign`` on real files that are broken the ordinary way:
mislabelled coordinate systems, repeated codes, CSV files from other offices."""

from __future__ import annotations

import csv
import json
import os
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import shapely
from typer.testing import CliRunner

from api.cli import app
from tests.api.process import WANGGE, free_port, start_server
from tests.conftest import tiny_layers

runner = CliRunner()

#: Where micro-grid M1 of the tiny set is (lon, lat), and its leader.
M1 = (117.2025, 39.1025)


def shifted_gpkg(path: Path, lon: float, lat: float) -> Path:
    """The tiny set moved so that M1's test point lies at (lon, lat)."""
    for level, frame in tiny_layers():
        moved = frame.set_geometry(frame.geometry.translate(lon - M1[0], lat - M1[1]))
        moved.to_file(path, layer=level, driver="GPKG", engine="pyogrio")
    return path


def changed_gpkg(path: Path, level: str, cells: dict[tuple[int, str], object]) -> Path:
    """The tiny set with some cells of one level changed."""
    for name, frame in tiny_layers():
        if name == level:
            for (row, column), value in cells.items():
                frame.loc[row, column] = value
        frame.to_file(path, layer=name, driver="GPKG", engine="pyogrio")
    return path


# -- lookup: negative coordinates -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("lon", "lat"),
    [
        (-87.648, 41.770),  # Chicago: negative longitude
        (151.209, -33.868),  # Sydney: negative latitude
        (-58.382, -34.604),  # Buenos Aires: both
    ],
)
def test_lookup_takes_negative_coordinates(tmp_path, lon, lat):
    gpkg = shifted_gpkg(tmp_path / "set.gpkg", lon, lat)
    for args in (
        [str(lon), str(lat), "--boundaries", str(gpkg)],  # options after
        ["--boundaries", str(gpkg), str(lon), str(lat), "--crs", "wgs84"],  # options around
    ):
        result = runner.invoke(app, ["lookup", *args])
        assert result.exit_code == 0, result.output
        got = json.loads(result.stdout)
        assert [u["code"] for u in got["units"]] == ["D", "G1", "M1"]


def test_lookup_still_refuses_what_is_no_number(tiny_gpkg):
    result = runner.invoke(app, ["lookup", "-87.6", "--lat", "--boundaries", str(tiny_gpkg)])
    assert result.exit_code == 2
    assert "lat" in result.output


# -- the load checks of lookup and assign ---------------------------------------------------------


@pytest.mark.parametrize("command", ["lookup", "assign"])
def test_a_set_with_repeated_codes_is_refused(tmp_path, command):
    """M2 takes M1's code: before, points in M2 were answered M1 with M1's name."""
    gpkg = changed_gpkg(tmp_path / "dup.gpkg", "microgrid", {(1, "code"): "M1"})
    if command == "lookup":
        args = ["lookup", "117.2075", "39.1025", "--boundaries", str(gpkg)]
    else:
        (tmp_path / "in.csv").write_text("lon,lat\n117.2075,39.1025\n")
        args = ["assign", "--boundaries", str(gpkg), str(tmp_path / "in.csv"),
                str(tmp_path / "out.csv")]  # fmt: skip
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert "code 'M1' is used by 2 units" in result.stderr
    assert "wangge validate" in result.stderr
    assert not (tmp_path / "out.csv").exists()


def test_other_issues_are_warnings(tmp_path):
    bowtie = shapely.Polygon([(117.21, 39.10), (117.215, 39.11), (117.215, 39.10), (117.21, 39.11)])
    gpkg = changed_gpkg(tmp_path / "bow.gpkg", "microgrid", {(3, "geometry"): bowtie})
    result = runner.invoke(app, ["lookup", *map(str, M1), "--boundaries", str(gpkg)])
    assert result.exit_code == 0, result.output
    assert "warning:" in result.stderr and "invalid_geometry" in result.stderr
    assert json.loads(result.stdout)["units"][-1]["code"] == "M1"


def boston_feet(path: Path) -> Path:
    """Two Boston precincts in State Plane feet (EPSG:2249), without a crs member."""
    x0, y0 = 775_627.0, 2_956_522.0
    features = [
        {
            "type": "Feature",
            "properties": {"code": code, "name": code, "parent": ""},
            "geometry": shapely.geometry.mapping(
                shapely.box(x0 + k * 3000, y0, x0 + (k + 1) * 3000, y0 + 3000)
            ),
        }
        for k, code in enumerate(["0101", "0102"])
    ]
    path.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return path


def test_validate_refuses_feet_read_as_degrees(tmp_path):
    """It grew to 21.6 GB densifying edges of 3,000 "degrees"; now it says what is wrong."""
    precincts = boston_feet(tmp_path / "precinct.geojson")
    result = runner.invoke(app, ["validate", str(precincts)])
    assert result.exit_code == 2
    assert "no longitude/latitude can have" in result.stderr
    assert "WANGGE_BOUNDARIES_CRS" in result.stderr
    fixed = runner.invoke(app, ["validate", str(precincts), "--crs", "EPSG:2249"])
    assert fixed.exit_code == 0, fixed.output
    looked = runner.invoke(
        app,
        ["lookup", "-71.04", "42.366", "--boundaries", str(precincts),
         "--boundaries-crs", "EPSG:2249"],
    )  # fmt: skip
    assert json.loads(looked.stdout)["units"][0]["code"] == "0102"


def test_serve_refuses_feet_read_as_degrees(tmp_path):
    """It started, /health showed bounds of [-87.94, 41.64, 1205198.85, 1951669.02] and the
    first lookup outside answered 500; now the service does not start, and says why."""
    env = {
        **os.environ,
        "WANGGE_BOUNDARIES": str(boston_feet(tmp_path / "precinct.geojson")),
        "WANGGE_DATA_DIR": str(tmp_path / "data"),
    }
    with pytest.raises(RuntimeError, match="server exited") as info:
        start_server(env, free_port())
    assert "no longitude/latitude can have" in str(info.value)
    assert "WANGGE_BOUNDARIES_CRS" in str(info.value)
    assert WANGGE  # the real command, as a process


# -- validate --repair --out ----------------------------------------------------------------------


def test_validate_repair_writes_the_repaired_set(tmp_path):
    bowtie = shapely.Polygon([(117.21, 39.10), (117.22, 39.11), (117.22, 39.10), (117.21, 39.11)])
    gpkg = changed_gpkg(tmp_path / "bow.gpkg", "grid", {(1, "geometry"): bowtie})
    fixed = tmp_path / "fixed.gpkg"
    result = runner.invoke(app, ["validate", str(gpkg), "--repair", "--out", str(fixed)])
    assert "1 of them repaired" in result.stderr
    again = runner.invoke(app, ["validate", str(fixed), "--json"])
    report = json.loads(again.stdout)
    assert "invalid_geometry" not in report["counts"]["error"]
    assert report["units_per_level"] == {"district": 1, "grid": 2, "microgrid": 4}
    before = json.loads(runner.invoke(app, ["validate", str(gpkg), "--json"]).stdout)
    assert before["counts"]["error"]["invalid_geometry"] == 1


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("nowhere/fixed.gpkg", "the folder"),  # a folder that does not exist
        ("fixed.geojson", "does not end in .gpkg"),  # another format
        ("in.gpkg", "is also an input"),  # over the input
    ],
)
def test_validate_out_must_be_writable(tmp_path, out, message):
    gpkg = shifted_gpkg(tmp_path / "in.gpkg", *M1)
    result = runner.invoke(app, ["validate", str(gpkg), "--out", str(tmp_path / out)])
    assert result.exit_code == 2
    assert message in result.stderr


# -- assign: CSV files as they come ------------------------------------------------------------

GOOD = f"{M1[0]},{M1[1]}"

# (what the file holds: text, or bytes in an encoding, extra options, statuses of the rows,
#  the reasons they give), one commented row per case
FILES = [
    # one field too many (an unquoted comma): kept, invalid, with its line
    pytest.param(f"id,lon,lat\na,{GOOD}\nb,{GOOD},extra\nc,{GOOD}\n", [],
                 ["assigned", "invalid", "assigned"],
                 ["", "line 3: has 4 field(s); the header has 3", ""], id="field-too-many"),
    # one field too few
    pytest.param(f"id,lon,lat\na,{M1[0]}\n", [], ["invalid"],
                 ["line 2: has 2 field(s); the header has 3"], id="field-too-few"),
    # a quoted value over two lines moves the later lines down
    pytest.param(f'id,lon,lat\n"a\nb",{GOOD}\nc,x,39\n', [], ["assigned", "invalid"],
                 ["", "line 4: lon is not a finite number"], id="multi-line-value"),
    # GBK, as a Chinese office's Excel writes it
    pytest.param(("名称,lon,lat\n友谊路,117.2025,39.1025\n", "gbk"), [], ["assigned"], [""],
                 id="gbk"),
    # UTF-8 with a byte-order mark: the first column is "名称", not "\ufeff名称"
    pytest.param(("名称,lon,lat\n友谊路,117.2025,39.1025\n", "utf-8-sig"), [], ["assigned"],
                 [""], id="utf-8-bom"),
    # Latin-1, named
    pytest.param(("name,lon,lat\nCafé,117.2025,39.1025\n", "latin-1"), ["--encoding", "latin-1"],
                 ["assigned"], [""], id="latin-1-named"),
    # a header and no rows: the result's header alone
    pytest.param("lon,lat\n", [], [], [], id="header-only"),
]  # fmt: skip


def _write_input(path: Path, content: str | tuple[str, str]) -> Path:
    if isinstance(content, tuple):
        path.write_bytes(content[0].encode(content[1]))
    else:
        path.write_text(content, encoding="utf-8")
    return path


@pytest.mark.parametrize(("content", "options", "statuses", "reasons"), FILES)
def test_assign_reads_csv_files_as_they_come(
    tiny_gpkg, tmp_path, content, options, statuses, reasons
):
    src = _write_input(tmp_path / "in.csv", content)
    out = tmp_path / "out.csv"
    result = runner.invoke(
        app, ["assign", "--boundaries", str(tiny_gpkg), str(src), str(out), *options]
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    assert frame["status"].tolist() == statuses
    assert frame["reason"].tolist() == reasons
    assert "lon" in frame.columns and "microgrid_code" in frame.columns
    if isinstance(content, tuple) and content[1] == "gbk":
        assert frame.iloc[0, 0] == "友谊路" and frame.columns[0] == "名称"
        assert out.read_bytes().startswith(b"\xef\xbb\xbf")  # Excel then reads it as UTF-8


def test_assign_keeps_a_blank_first_header_blank(tiny_gpkg, tmp_path):
    src = _write_input(tmp_path / "in.csv", f",lon,lat\n0,{GOOD}\n1,{GOOD}\n")
    out = tmp_path / "out.csv"
    result = runner.invoke(app, ["assign", "--boundaries", str(tiny_gpkg), str(src), str(out)])
    assert result.exit_code == 0, result.output
    with out.open(encoding="utf-8", newline="") as f:
        header = next(csv.reader(f))
    assert header[:3] == ["", "lon", "lat"]  # not "Unnamed: 0"
    assert "Unnamed" not in out.read_text()


def _xlsx(path: Path) -> Path:
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("xl/workbook.xml", "<workbook/>")
    return path


# (how to make the input, the output, options, what the one-line message says)
UNREADABLE = [
    # Latin-1 not named: neither UTF-8 nor GB 18030
    pytest.param(lambda d: _write_input(d / "in.csv", ("name,lon,lat\nCafé,1,2\n", "latin-1")),
                 "out.csv", [], "neither UTF-8 nor GB 18030", id="latin-1"),
    # named, but the file is not in it: the line of the first bad byte
    pytest.param(lambda d: _write_input(d / "in.csv", ("lon,lat\n1,2\n河西,3\n", "gbk")),
                 "out.csv", ["--encoding", "utf-8"], "line 3 is not utf-8", id="wrong-encoding"),
    # no such input
    pytest.param(lambda d: d / "missing.csv", "out.csv", [], "does not exist", id="missing"),
    # an empty input
    pytest.param(lambda d: _write_input(d / "in.csv", ""), "out.csv", [], "is empty",
                 id="empty"),
    # an Excel workbook
    pytest.param(lambda d: _xlsx(d / "in.csv"), "out.csv", [], "Excel", id="xlsx"),
    # the output's folder does not exist
    pytest.param(lambda d: _write_input(d / "in.csv", f"lon,lat\n{GOOD}\n"), "no/out.csv", [],
                 "the folder", id="no-output-folder"),
    # the output is the input
    pytest.param(lambda d: _write_input(d / "out.csv", f"lon,lat\n{GOOD}\n"), "out.csv", [],
                 "is also an input", id="output-is-input"),
    # no lon column: the header's line
    pytest.param(lambda d: _write_input(d / "in.csv", "x,lat\n1,2\n"), "out.csv", [],
                 "in.csv line 1 (the header) has no column(s) ['lon']", id="no-lon-column"),
    # lon twice
    pytest.param(lambda d: _write_input(d / "in.csv", "lon,lat,lon\n1,2,3\n"), "out.csv", [],
                 "more than once", id="lon-twice"),
    # an unknown encoding
    pytest.param(lambda d: _write_input(d / "in.csv", "lon,lat\n"), "out.csv",
                 ["--encoding", "klingon"], "unknown encoding", id="unknown-encoding"),
]  # fmt: skip


@pytest.mark.parametrize(("make", "out", "options", "message"), UNREADABLE)
def test_assign_says_what_is_wrong_in_one_line(tiny_gpkg, tmp_path, make, out, options, message):
    src = make(tmp_path)
    result = runner.invoke(
        app, ["assign", "--boundaries", str(tiny_gpkg), str(src), str(tmp_path / out), *options]
    )
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ")
    assert message in result.stderr.splitlines()[0]
    assert "Traceback" not in result.output
    assert not list(tmp_path.glob("*.part"))


def test_assign_on_dask_writes_what_the_process_writes(tiny_gpkg, tmp_path):
    src = _write_input(tmp_path / "in.csv", f"lon,lat\n{GOOD}\noops,1\n117.3,39.3\n{GOOD}\n")
    outs = {}
    for engine in ("process", "dask"):
        out = tmp_path / f"{engine}.csv"
        args = ["assign", "--boundaries", str(tiny_gpkg), str(src), str(out), "--engine", engine]
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        outs[engine] = out.read_bytes()
    assert outs["dask"] == outs["process"]
    assert b"invalid" in outs["dask"] and b"assigned" in outs["dask"]
