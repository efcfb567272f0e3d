"""Find image columns, turn their cells into encoded bytes, and prove every image opens.

data.parquet stores images as encoded bytes (PNG/JPEG/...), whatever the upload held:
raw bytes, a Hugging Face ``{"bytes", "path"}`` struct, a data URI or bare base64.
"""
from __future__ import annotations

import base64
import binascii
import io
from typing import Any

import pandas as pd

from studio.config.data_bounds import MAX_IMAGE_BYTES, MAX_IMAGE_PIXELS, size_text

from .errors import DatasetError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"), (b"\xff\xd8\xff", "image/jpeg"), (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"), (b"BM", "image/bmp"), (b"II*\x00", "image/tiff"), (b"MM\x00*", "image/tiff"),
)


def image_mime(data: bytes) -> str | None:
    """The image type told by the first bytes, or None when they are not an image's."""
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    return None


# How base64 text of each image type begins (the magic bytes above, encoded).
_BASE64_MAGIC = ("iVBORw0KGgo", "/9j/", "R0lGODdh", "R0lGODlh", "SUkqAA", "TU0AKg", "UklGR")
_DATA_URI = "data:image/"
# Bare base64 shorter than this is never taken for an image (short codes like "Qk12" are text).
_MIN_BASE64 = 64
# Text this long starting like an image's base64 (with no space in it) claims to be one.
_MIN_MAGIC_TEXT = 24


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _base64_payload(text: str) -> str | None:
    """The base64 part of a data URI or of bare base64 text, or None when the text is neither."""
    text = text.strip()
    if text.startswith(_DATA_URI) and ";base64," in text[:100]:
        return text.split(",", 1)[1]
    return None if len(text) < _MIN_BASE64 else text


def _as_image_bytes(value: Any) -> bytes | None:
    """Encoded image bytes when ``value`` clearly holds an image, else None."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        return data if image_mime(data) else None
    if isinstance(value, dict) and isinstance(value.get("bytes"), (bytes, bytearray)):
        return _as_image_bytes(value["bytes"])
    if isinstance(value, str):
        payload = _base64_payload(value)
        if payload is None:
            return None
        try:
            data = base64.b64decode("".join(payload.split()), validate=True)  # line-wrapped base64 too
        except (binascii.Error, ValueError):
            return None
        return data if image_mime(data) else None
    return None


def looks_like_image_text(value: Any) -> bool:
    """Text that claims to be an image (a data URI, or base64 starting like an image file),
    whether or not it decodes: such a cell that fails to decode is a broken image, not text."""
    if not isinstance(value, str):
        return False
    text = value.strip()
    if text.startswith(_DATA_URI):
        return ";base64," in text[:100]
    return len(text) >= _MIN_MAGIC_TEXT and text.startswith(_BASE64_MAGIC) and not any(
        c.isspace() for c in text[:_MIN_MAGIC_TEXT])


def _claims_images(series: pd.Series) -> bool:
    """Whether any cell starts like image text (vectorised: this runs on every text column)."""
    try:
        starts = series.str.lstrip().str.startswith((_DATA_URI, *_BASE64_MAGIC))
    except (AttributeError, TypeError):  # not a column of text
        return False
    return bool(starts.fillna(False).astype(bool).any())


def convert_image_columns(frame: pd.DataFrame) -> list[str]:
    """Replace every image-holding column by encoded bytes, in place; returns their names.

    A column is an image column when its first non-empty cell holds an image, or any cell
    starts like image text (a data URI, base64 of PNG/JPEG/...); every other cell must then
    hold one too, or the import stops naming the row (a broken image is never kept as text).
    """
    found = []
    for column, series in list(frame.items()):
        if series.dtype != object and not pd.api.types.is_string_dtype(series.dtype):
            continue
        first = next((v for v in series if not is_missing(v)), None)
        if first is None or (_as_image_bytes(first) is None and not _claims_images(series)):
            continue
        converted = []
        for row, value in enumerate(series, start=1):
            if is_missing(value):
                converted.append(None)
                continue
            data = _as_image_bytes(value)
            if data is None and looks_like_image_text(value):
                raise DatasetError(f"column {column!r}, row {row}: the image text is not valid base64 of an image "
                                   f"(broken or cut short); replace or remove it")
            if data is None:
                raise DatasetError(f"column {column!r}, row {row}: expected an image like the other rows "
                                   f"(bytes, base64 or data URI), found something else")
            check_image(data, f"column {column!r}, row {row}")
            converted.append(data)
        frame[column] = pd.Series(converted, index=frame.index, dtype=object)
        found.append(column)
    return found


def refuse_oversized_image(size: int, where: str) -> None:
    if size > MAX_IMAGE_BYTES:
        raise DatasetError(f"{where}: the image file has {size_text(size)}, more than the {size_text(MAX_IMAGE_BYTES)} "
                           "an image may have; scale or re-encode it")


def check_image(data: bytes, where: str) -> None:
    """Decode the image fully (a truncated file fails here, not in the middle of training)."""
    from PIL import Image

    refuse_oversized_image(len(data), where)
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            if width * height > MAX_IMAGE_PIXELS:
                raise DatasetError(f"{where}: the image is {width}x{height} pixels, more than the "
                                   f"{MAX_IMAGE_PIXELS:,} an image may have; scale it down")
            image.load()
    except DatasetError:
        raise
    except Exception as exc:  # PIL raises OSError, SyntaxError, ValueError, DecompressionBombError...
        raise DatasetError(f"{where}: the image is broken or not an image ({exc}); replace or remove it") from None
