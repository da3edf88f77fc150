"""Photos attached to reports: checked by content, metadata stripped, written durably."""

from __future__ import annotations

import hashlib
import io
import os
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageOps, UnidentifiedImageError

from api.cases.errors import InvalidPhoto, PhotoTooLarge, UnsupportedPhoto

#: Magic numbers of the accepted formats: the content decides, not the file name.
SIGNATURES = {
    b"\xff\xd8\xff": ("JPEG", "image/jpeg", ".jpg"),
    b"\x89PNG\r\n\x1a\n": ("PNG", "image/png", ".png"),
}
ALLOWED = "JPEG or PNG images"


def bound_decoding(max_pixels: int) -> None:
    """Pillow's own guard against decompression bombs, behind the size check of clean_photo.

    Over ``Image.MAX_IMAGE_PIXELS`` Pillow only warns (it refuses at twice that); the warning
    is made an error here, so nothing larger than ``max_pixels`` is ever decoded. Process-wide:
    called once when the case service starts.
    """
    Image.MAX_IMAGE_PIXELS = max_pixels
    warnings.filterwarnings("error", category=Image.DecompressionBombWarning)


@dataclass(frozen=True)
class CleanPhoto:
    """A photo re-encoded without metadata, ready to store."""

    data: bytes
    content_type: str
    suffix: str
    sha256: str


def clean_photo(raw: bytes, *, index: int, max_bytes: int, max_pixels: int) -> CleanPhoto:
    """Check a photo by content and re-encode it without EXIF (GPS included) or text chunks.

    The image is turned upright first (EXIF orientation), since the tag that said how goes.
    Its size in pixels is read from the header before anything is decoded: a small file can
    hold a huge image (a 500 KB PNG of 13,000 x 13,000 pixels decodes to over a gigabyte).
    """
    if len(raw) > max_bytes:
        raise PhotoTooLarge(
            f"photo {index} is {len(raw)} bytes",
            allowed=f"at most {max_bytes} bytes per photo",
        )
    kind = next((v for sig, v in SIGNATURES.items() if raw.startswith(sig)), None)
    if kind is None:
        raise UnsupportedPhoto(
            f"photo {index} is not a JPEG or PNG image",
            allowed=ALLOWED,
        )
    fmt, content_type, suffix = kind
    try:
        with Image.open(io.BytesIO(raw)) as probe:  # lazy: reads the header only
            _check_pixels(probe.size, index=index, max_pixels=max_pixels)
            probe.verify()
        with Image.open(io.BytesIO(raw)) as image:
            image.load()
            upright = ImageOps.exif_transpose(image)
            out = io.BytesIO()
            if fmt == "JPEG":
                upright.convert("RGB").save(out, "JPEG", quality=90)
            else:
                upright.save(out, "PNG")
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PhotoTooLarge(
            f"photo {index} has too many pixels to decode",
            allowed=f"at most {max_pixels} pixels per photo (WANGGE_MAX_PHOTO_PIXELS)",
            code="too_many_pixels",
        ) from None
    except (UnidentifiedImageError, OSError, ValueError) as exc:
        raise InvalidPhoto(
            f"photo {index} cannot be read as {fmt}: {exc}",
            allowed=ALLOWED,
        ) from None
    data = out.getvalue()
    return CleanPhoto(data, content_type, suffix, hashlib.sha256(data).hexdigest())


def _check_pixels(size: tuple[int, int], *, index: int, max_pixels: int) -> None:
    width, height = size
    if width * height > max_pixels:
        raise PhotoTooLarge(
            f"photo {index} is {width} x {height} = {width * height} pixels",
            allowed=f"at most {max_pixels} pixels per photo (WANGGE_MAX_PHOTO_PIXELS)",
            code="too_many_pixels",
        )


def store_photo(media_dir: Path, photo: CleanPhoto) -> Path:
    """Write a photo under the media directory and fsync it (and its folder) before returning.

    Returns the path relative to the media directory.
    """
    relative = Path(photo.sha256[:2]) / f"{uuid.uuid4().hex}{photo.suffix}"
    target = media_dir / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(target.suffix + ".tmp")
    with open(tmp, "wb") as handle:
        handle.write(photo.data)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, target)
    folder = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)
    return relative
