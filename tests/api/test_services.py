"""``load_index``, the one place the service loads its boundaries: it refuses what would answer
wrongly and warns about the rest."""

from __future__ import annotations

import logging

import pytest
import shapely

from api.services import load_index
from api.settings import Settings
from geo.errors import BoundaryFileError
from tests.conftest import tiny_layers


def _gpkg(path, level=None, cells=None):
    for name, frame in tiny_layers():
        if name == level:
            for (row, column), value in (cells or {}).items():
                frame.loc[row, column] = value
        frame.to_file(path, layer=name, driver="GPKG", engine="pyogrio")
    return path


def test_repeated_codes_are_refused(tmp_path):
    path = _gpkg(tmp_path / "dup.gpkg", "grid", {(1, "code"): "G1"})
    with pytest.raises(BoundaryFileError) as info:
        load_index(Settings(boundaries=str(path), data_dir=tmp_path))
    assert info.value.code == "boundary_set_refused"
    assert "code 'G1' is used by 2 units (level grid)" in info.value.message
    # M5 names G2, which is no more: reported with it
    assert info.value.details["report"]["counts"]["error"] == {"duplicate_code": 1, "orphan": 1}


def test_other_issues_are_logged(tmp_path, caplog):
    bowtie = shapely.Polygon([(117.21, 39.10), (117.215, 39.11), (117.215, 39.10), (117.21, 39.11)])
    path = _gpkg(tmp_path / "warn.gpkg", "microgrid", {(3, "geometry"): bowtie})
    with caplog.at_level(logging.WARNING, logger="wangge"):
        index = load_index(Settings(boundaries=str(path), data_dir=tmp_path))
    assert len(index.bset) == 7
    [record] = [r for r in caplog.records if "invalid_geometry" in r.getMessage()]
    assert record.levelno == logging.WARNING
    assert "unit 'M5' is invalid" in record.getMessage()


def test_a_clean_set_logs_nothing(tmp_path, caplog):
    path = _gpkg(tmp_path / "clean.gpkg")
    with caplog.at_level(logging.WARNING, logger="wangge"):
        load_index(Settings(boundaries=str(path), data_dir=tmp_path))
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
