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


def is_missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _as_image_bytes(value: Any) -> bytes | None:
    """Encoded image bytes when ``value`` clearly holds an image, else None."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        return data if image_mime(data) else None
    if isinstance(value, dict) and isinstance(value.get("bytes"), (bytes, bytearray)):
        return _as_image_bytes(value["bytes"])
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("data:image/") and ";base64," in text[:100]:
            text = text.split(",", 1)[1]
        elif len(text) < 64:
            return None
        try:
            data = base64.b64decode(text, validate=True)
        except (binascii.Error, ValueError):
            return None
        return data if image_mime(data) else None
    return None


def convert_image_columns(frame: pd.DataFrame) -> list[str]:
    """Replace every image-holding column by encoded bytes, in place; returns their names.

    A column is an image column when its first non-empty cell holds an image; every
    other cell must then hold one too, or the import stops naming the row.
    """
    found = []
    for column in frame.columns:
        series = frame[column]
        if series.dtype != object and not pd.api.types.is_string_dtype(series.dtype):
            continue
        first = next((v for v in series if not is_missing(v)), None)
        if first is None or _as_image_bytes(first) is None:
            continue
        converted = []
        for row, value in enumerate(series, start=1):
            if is_missing(value):
                converted.append(None)
                continue
            data = _as_image_bytes(value)
            if data is None:
                raise DatasetError(f"column {column!r}, row {row}: expected an image like the rows above "
                                   f"(bytes, base64 or data URI), found something else")
            check_image(data, f"column {column!r}, row {row}")
            converted.append(data)
        frame[column] = pd.Series(converted, index=frame.index, dtype=object)
        found.append(column)
    return found


def check_image(data: bytes, where: str) -> None:
    """Decode the image fully (a truncated file fails here, not in the middle of training)."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(data)) as image:
            image.load()
    except Exception as exc:  # PIL raises OSError, SyntaxError, ValueError, DecompressionBombError...
        raise DatasetError(f"{where}: the image is broken or not an image ({exc}); replace or remove it") from None
