"""Turn an image cell of a dataset into a PIL image.

A cell may hold encoded bytes (PNG/JPEG/...), a ``{"bytes": ..., "path": ...}``
struct (the Hugging Face datasets layout), a base64 string, a ``data:image/...;base64,``
URI, or a path relative to the dataset folder. Paths must stay inside that folder.
Every failure is a ``DatasetError`` naming the split, column and row.
"""
from __future__ import annotations

import base64
import binascii
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

from training.errors import DatasetError

if TYPE_CHECKING:
    from PIL import Image

# How many bad rows one error message lists before summarising the rest.
MAX_ROWS_LISTED = 20


def _image_bytes(value: Any, root: Path | None) -> bytes:
    """The encoded image behind one cell (raises ValueError with a reason)."""
    if isinstance(value, dict):
        if value.get("bytes"):
            return bytes(value["bytes"])
        if value.get("path"):
            return _image_bytes(str(value["path"]), root)
        raise ValueError("struct has neither 'bytes' nor 'path'")
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if value is None or (isinstance(value, float) and value != value):
        raise ValueError("the cell is empty")
    if not isinstance(value, str):
        raise ValueError(f"unsupported cell type {type(value).__name__}")
    text = value.strip()
    if text.startswith("data:"):
        header, _, payload = text.partition(",")
        if ";base64" not in header:
            raise ValueError("data URI is not base64-encoded")
        return _decode_base64(payload)
    path = _resolve_path(text, root)
    if path is not None:
        return path.read_bytes()
    if len(text) > 64:  # long strings that are not files are taken as bare base64
        return _decode_base64(text)
    raise ValueError(f"{text!r} is not a file inside the dataset folder, base64 or a data URI")


def _decode_base64(payload: str) -> bytes:
    try:
        return base64.b64decode(payload, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"invalid base64 ({exc})") from None


def _resolve_path(text: str, root: Path | None) -> Path | None:
    if root is None or len(text) > 4096 or "\n" in text:
        return None
    root = root.resolve()
    path = (root / text).resolve()
    if not path.is_relative_to(root):
        raise ValueError(f"path {text!r} points outside the dataset folder")
    return path if path.is_file() else None


def load_image(value: Any, *, root: Path | None = None, row: int | None = None,
               column: str = "image", split: str = "") -> "Image.Image":
    """Decode one cell into an RGB PIL image, or raise DatasetError naming the row."""
    from PIL import Image, UnidentifiedImageError

    try:
        image = Image.open(io.BytesIO(_image_bytes(value, root)))
        image.load()
    except (ValueError, OSError, UnidentifiedImageError) as exc:
        where = " ".join(part for part in (split, "row" if row is not None else "", str(row) if row is not None else "") if part)
        raise DatasetError(f"{column} column, {where}: cannot read the image: {exc}") from None
    return image.convert("RGB")


def check_images(values: Sequence[Any], *, rows: Sequence[int] | None = None, root: Path | None, column: str,
                 split: str) -> list[tuple[int, int]]:
    """Open every image header once (cheap) and report all unreadable rows in one error.

    ``rows`` are the user's row numbers of ``values`` (``training.data.row_numbers``); by default
    the values are a whole table, numbered from 1. Returns the (width, height) of each image,
    which detection needs to validate boxes.
    """
    from PIL import Image, UnidentifiedImageError

    sizes, bad = [], []
    for row, value in zip(rows if rows is not None else range(1, len(values) + 1), values):
        try:
            with Image.open(io.BytesIO(_image_bytes(value, root))) as image:
                sizes.append(image.size)
        except (ValueError, OSError, UnidentifiedImageError) as exc:
            bad.append(f"row {row} ({exc})")
            sizes.append((0, 0))
    if bad:
        listed = "; ".join(bad[:MAX_ROWS_LISTED])
        more = f"; and {len(bad) - MAX_ROWS_LISTED} more" if len(bad) > MAX_ROWS_LISTED else ""
        raise DatasetError(f"{split} data, {column} column: {len(bad)} unreadable image(s): {listed}{more}")
    return sizes
