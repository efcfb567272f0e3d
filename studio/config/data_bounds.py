"""Bounds on what a dataset may hold: upload and inflated sizes, shape, nesting, numbers, classes.

The importer refuses anything beyond them with the file and row named, before the data can
take the app's memory or time; the engine refuses a ``num_classes`` beyond ``MAX_NUM_CLASSES``
before it allocates a head. ``ImportLimits`` carries the import bounds so that a deployment
(a public demo) can pass tighter ones without touching the importer.
"""
from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024

# The most bytes an uploaded file may have.
MAX_UPLOAD_BYTES = 1024 * MIB
# The most bytes an import may inflate to: zip members read, images held, Parquet decoded.
MAX_INFLATED_BYTES = 2048 * MIB
# A zip member inflating more than this many times its compressed size is a zip bomb...
MAX_COMPRESSION_RATIO = 100
# ...once it inflates past this size (small text files legitimately compress very well).
COMPRESSION_RATIO_FLOOR_BYTES = 4 * MIB
# The most entries a zip may list.
MAX_ZIP_MEMBERS = 200_000
# The most columns a dataset may have; profiling and the UI stay quick below it.
MAX_COLUMNS = 1_000
# The most characters in a column name.
MAX_COLUMN_NAME_LENGTH = 256
# The most levels of lists/dicts inside one cell (a chat is 2, COCO annotations 3).
MAX_NESTING_DEPTH = 32
# The most bytes one encoded image may have (a zero-padded PNG can be any size and still open).
MAX_IMAGE_BYTES = 64 * MIB
# The most pixels an image may decode to (a 24-megapixel photo is about 6000x4000).
MAX_IMAGE_PIXELS = 50_000_000
# Integers are stored as 64-bit; larger ones are refused rather than silently turned into text.
MIN_INTEGER = -(2 ** 63)
MAX_INTEGER = 2 ** 64 - 1

# The most classes a classifier or detector may have (ImageNet-21k has 21,841); category ids are
# 0 .. MAX_NUM_CLASSES - 1.
MAX_NUM_CLASSES = 100_000
MAX_CATEGORY_ID = MAX_NUM_CLASSES - 1


@dataclass(frozen=True)
class ImportLimits:
    """The size bounds one import runs under; the defaults are the constants above."""

    max_upload_bytes: int = MAX_UPLOAD_BYTES
    max_inflated_bytes: int = MAX_INFLATED_BYTES
    max_compression_ratio: int = MAX_COMPRESSION_RATIO
    max_zip_members: int = MAX_ZIP_MEMBERS
    max_columns: int = MAX_COLUMNS


def size_text(n: int) -> str:
    """``n`` bytes as a short size for an error message ("1.5 GB", "12 MB", "300 KB", "10 bytes")."""
    if n >= 1024 * MIB:
        return f"{n / (1024 * MIB):.1f} GB"
    if n >= MIB:
        return f"{n / MIB:.0f} MB"
    if n >= 1024:
        return f"{n / 1024:.0f} KB"
    return f"{n} bytes"
