"""Photo files and their reports: no file is left without a report after a crash."""

from __future__ import annotations

import io
import os
import time

from PIL import Image

from api.settings import Settings
from tests.api.conftest import auth, make_client


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
