"""The wangge command line, run in-process on real files."""

import json
import os
import subprocess

import pandas as pd
import pytest
from typer.testing import CliRunner

from api.cli import app
from geo.crs import wgs84_to_gcj02
from tests.api.process import WANGGE

runner = CliRunner()


def test_lookup_prints_chain_as_json(tiny_gpkg):
    result = runner.invoke(app, ["lookup", "117.2025", "39.1025", "--boundaries", str(tiny_gpkg)])
    assert result.exit_code == 0, result.output
    got = json.loads(result.stdout)
    assert [u["code"] for u in got["units"]] == ["D", "G1", "M1"]
    assert got["leader"]["name"] == "王芳"


def test_lookup_gcj02(tiny_gpkg):
    lon, lat = wgs84_to_gcj02(117.2075, 39.1025)
    args = ["lookup", str(float(lon)), str(float(lat)), "--crs", "gcj02"]
    result = runner.invoke(app, [*args, "--boundaries", str(tiny_gpkg)])
    assert json.loads(result.stdout)["units"][-1]["code"] == "M2"


def test_lookup_bad_crs_is_a_clear_error(tiny_gpkg):
    result = runner.invoke(
        app, ["lookup", "117.2", "39.1", "--crs", "mars", "--boundaries", str(tiny_gpkg)]
    )
    assert result.exit_code == 2
    assert "unknown coordinate system" in result.stderr


def test_assign_csv(tiny_gpkg, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text(
        "id,lon,lat\n"
        "a,117.2025,39.1025\n"  # M1
        "b,117.2065,39.1075\n"  # gap in G1
        "c,nan,39.1\n"  # invalid: kept, not dropped
        "d,117.3,39.3\n"  # unassigned
        "e,117.2025,95\n"  # invalid latitude
    )
    out = tmp_path / "out.csv"
    result = runner.invoke(
        app, ["assign", "--boundaries", str(tiny_gpkg), str(src), str(out), "--chunk-size", "2"]
    )
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert frame["id"].tolist() == ["a", "b", "c", "d", "e"]
    assert frame["status"].tolist() == ["assigned", "gap", "invalid", "unassigned", "invalid"]
    assert frame["microgrid_code"].tolist()[:2] == ["M1", ""]
    assert frame["grid_code"].tolist()[:2] == ["G1", "G1"]
    assert frame["leader_name"].tolist()[:2] == ["王芳", "李娜"]
    assert frame["lon"].tolist()[2] == "nan"  # the input is written back as it came
    assert "outside [-90, 90]" in frame["reason"].tolist()[4]
    assert "snap tolerance" in frame["reason"].tolist()[3]


def test_assign_missing_column(tiny_gpkg, tmp_path):
    src = tmp_path / "in.csv"
    src.write_text("x,y\n1,2\n")
    result = runner.invoke(
        app, ["assign", "--boundaries", str(tiny_gpkg), str(src), str(tmp_path / "o.csv")]
    )
    assert result.exit_code == 2
    assert "--lon-column" in result.stderr


@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_validate_clean_file_exits_zero(tiny_gpkg, extra):
    result = runner.invoke(app, ["validate", str(tiny_gpkg), *extra])
    assert result.exit_code == 0, result.output


def test_map_density_file_opens_offline(tiny_gpkg, tmp_path, monkeypatch):
    from api.demo.cases import seed_reports
    from api.services import open_services
    from api.settings import Settings
    from maps import asset_files

    monkeypatch.setenv("WANGGE_BOUNDARIES", str(tiny_gpkg))
    monkeypatch.setenv("WANGGE_DATA_DIR", str(tmp_path / "data"))
    settings = Settings()
    services = open_services(settings)
    service = services.cases
    try:
        seed_reports(service, count=60, days=7)
    finally:
        services.close()
    out = tmp_path / "export" / "density.html"
    result = runner.invoke(app, ["map", "density", "--out", str(out), "--level", "microgrid"])
    assert result.exit_code == 0, result.output
    page = out.read_text()
    assert "http://" not in page and "https://" not in page
    assert '"cases":60' in page  # the legend counts every case
    for sub_path in asset_files():
        assert (out.parent / "static" / "maps" / sub_path).is_file()
    assert 'src="static/maps/leaflet/leaflet.js"' in page


def test_map_density_unknown_level(tiny_gpkg, tmp_path, monkeypatch):
    monkeypatch.setenv("WANGGE_BOUNDARIES", str(tiny_gpkg))
    monkeypatch.setenv("WANGGE_DATA_DIR", str(tmp_path))
    result = runner.invoke(app, ["map", "density", "--level", "province"])
    assert result.exit_code == 2
    assert "unknown level" in result.stderr


def test_keys_create_checks_the_unit_like_the_api(tiny_gpkg, tmp_path, monkeypatch):
    monkeypatch.setenv("WANGGE_BOUNDARIES", str(tiny_gpkg))
    monkeypatch.setenv("WANGGE_DATA_DIR", str(tmp_path))
    unknown = runner.invoke(app, ["keys", "create", "--role", "grid_worker", "--unit", "NOPE"])
    assert unknown.exit_code == 2
    assert "NOPE" in unknown.stderr
    no_unit = runner.invoke(app, ["keys", "create", "--role", "grid_worker"])
    assert no_unit.exit_code == 2 and "unit" in no_unit.stderr
    known = runner.invoke(app, ["keys", "create", "--role", "grid_worker", "--unit", "G1"])
    assert known.exit_code == 0, known.output
    assert known.stdout.strip().splitlines()[-1].startswith("wg_")


# (the file's bytes or None for none, options, what the one-line message says), for the
# planning imports, which read with the same reader as wangge assign
IMPORT_PROBLEMS = [
    (None, [], "does not exist"),  # no such file
    (b"", [], "is empty"),  # empty
    ("name,lon,lat\nCafé,117.2,39.1\n".encode("latin-1"), [], "neither UTF-8 nor GB 18030"),
    (b"name,lon,lat\nA,117.2025,39.1025\n", ["--report", "no/bad.csv"], "the folder"),
]


@pytest.mark.parametrize(("raw", "options", "message"), IMPORT_PROBLEMS)
def test_imports_say_what_is_wrong_in_one_line(
    tiny_gpkg, tmp_path, monkeypatch, raw, options, message
):
    monkeypatch.setenv("WANGGE_BOUNDARIES", str(tiny_gpkg))
    monkeypatch.setenv("WANGGE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)
    src = tmp_path / "centres.csv"
    if raw is not None:
        src.write_bytes(raw)
    args = ["facilities", "import", str(src), "--type", "elderly_care", "--dry-run", *options]
    result = runner.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert message in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize(
    ("variable", "value", "says"),
    [
        ("WANGGE_WEBHOOK_MAX_ATTEMPTS", "0", "greater than or equal to 1"),
        ("WANGGE_PORT", "abc", "valid integer"),
        ("WANGGE_DISPLAY_TZ", "Mars/Base", "unknown time zone"),
    ],
)
def test_a_bad_setting_is_named_with_exit_2(tmp_path, variable, value, says):
    env = {**os.environ, "WANGGE_DATA_DIR": str(tmp_path), variable: value}
    done = subprocess.run(
        [*WANGGE, "keys", "list"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"setting {variable}" in done.stderr and says in done.stderr
    assert "Traceback" not in done.stderr
