"""Photo files and their reports: no file is left without a report after a crash."""

from __future__ import annotations

import io
import os
import struct
import time

import pytest
from PIL import Image

from api.cases.errors import PhotoTooLarge
from api.cases.photos import bound_decoding, clean_photo
from api.schemas import ErrorBody
from api.settings import Settings
from tests.api.conftest import auth, make_client, png


def _png() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(out, "PNG")
    return out.getvalue()


def test_photo_files_without_a_report_are_swept_at_start(tiny_gpkg, tmp_path):
    settings = Settings(boundaries=str(tiny_gpkg), data_dir=tmp_path)
    client, keys = make_client(settings)
    try:
        made = client.post(
            "/reports",
            data={"lon": "117.2025", "lat": "39.1025", "category": "noise"},
            files=[("photos", ("a.png", _png(), "image/png"))],
            headers=auth(keys["reporter"]),
        )
        assert made.status_code == 201, made.text
        photo_url = made.json()["photos"][0]["url"]
    finally:
        client.__exit__(None, None, None)
    media = settings.media
    kept = [p for p in media.glob("*/*") if p.is_file()]
    assert len(kept) == 1
    # what a crash between a photo's fsync and its report's commit leaves behind
    orphan = media / "ab" / "0123456789abcdef.jpg"
    partial = media / "cd" / "fedcba9876543210.png.tmp"
    fresh = media / "ef" / "written-just-now.jpg"  # another worker's, its report not yet committed
    hour_ago = time.time() - 3600
    for path in (orphan, partial, fresh):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x")
    for path in (orphan, partial, *kept):
        os.utime(path, (hour_ago, hour_ago))
    client, keys = make_client(settings)
    try:
        assert not orphan.exists() and not partial.exists()
        assert fresh.exists() and all(p.exists() for p in kept)
        shown = client.get(photo_url, headers=auth(keys["dispatcher"]))
        assert shown.status_code == 200 and shown.content.startswith(b"\x89PNG")
    finally:
        client.__exit__(None, None, None)


def _post_photo(client, key, photo: bytes):  # type: ignore[no-untyped-def]
    return client.post(
        "/reports",
        data={"lon": "117.2025", "lat": "39.1025", "category": "noise"},
        files=[("photos", ("p.png", photo, "image/png"))],
        headers=auth(key),
    )


def test_a_decompression_bomb_is_refused_before_it_is_decoded(tiny_gpkg, tmp_path):
    """13,000 x 13,000 pixels in a file of a few kilobytes: 169 Mpx, below Pillow's own limit
    for refusing (179 Mpx), and over a gigabyte once decoded."""
    bomb = png(13_000, 13_000)
    assert len(bomb) < 100_000
    assert struct.unpack(">II", bomb[16:24]) == (13_000, 13_000)  # the header says so
    client, keys = make_client(Settings(boundaries=str(tiny_gpkg), data_dir=tmp_path))
    try:
        response = _post_photo(client, keys["reporter"], bomb)
        assert response.status_code == 413, response.text
        body = ErrorBody.model_validate(response.json())
        assert body.code == "too_many_pixels" and "photo 0" in body.message
        assert body.allowed == "at most 40000000 pixels per photo (WANGGE_MAX_PHOTO_PIXELS)"
        listed = client.get("/reports", headers=auth(keys["dispatcher"])).json()
        assert listed["total"] == 0  # nothing was stored
    finally:
        client.__exit__(None, None, None)


def test_the_pixel_limit_is_a_setting(tiny_gpkg, tmp_path):
    settings = Settings(boundaries=str(tiny_gpkg), data_dir=tmp_path, max_photo_pixels=10_000)
    client, keys = make_client(settings)
    try:
        assert _post_photo(client, keys["reporter"], png(100, 100)).status_code == 201
        refused = _post_photo(client, keys["reporter"], png(101, 100))
        assert refused.status_code == 413
        assert ErrorBody.model_validate(refused.json()).allowed == (
            "at most 10000 pixels per photo (WANGGE_MAX_PHOTO_PIXELS)"
        )
    finally:
        client.__exit__(None, None, None)


@pytest.mark.parametrize(
    ("pillow_limit", "header_limit"),
    [
        (5_000, 10**12),  # Pillow's own check (its warning made an error) refuses alone
        (10**12, 5_000),  # the header check refuses alone (bound_decoding not called)
    ],
)
def test_each_guard_refuses_alone(pillow_limit, header_limit):
    before = Image.MAX_IMAGE_PIXELS
    bound_decoding(pillow_limit)
    try:
        with pytest.raises(PhotoTooLarge) as refused:
            clean_photo(png(100, 100), index=0, max_bytes=10**6, max_pixels=header_limit)
        assert refused.value.code == "too_many_pixels"
        clean_photo(png(50, 50), index=0, max_bytes=10**6, max_pixels=header_limit)
    finally:
        Image.MAX_IMAGE_PIXELS = before
