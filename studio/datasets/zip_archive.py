"""Read a ZIP of images plus one index file (CSV/JSON/JSONL/Parquet) into a DataFrame.

The index has a column of image file names, relative to the index file's folder (or the
zip root); each is replaced by the image's bytes.
"""
from __future__ import annotations

import posixpath
from pathlib import Path

import pandas as pd

from studio.config.data_bounds import ImportLimits

from .errors import DatasetError
from .images import IMAGE_EXTENSIONS, check_image, is_missing, refuse_oversized_image
from .readers import FORMATS, TABLE_FORMATS, Source, read_table
from .zip_members import MemberReader, open_archive


def read_zip(source: Source, filename: str, limits: ImportLimits = ImportLimits()) -> tuple[pd.DataFrame, list[str]]:
    """The index rows with image file names replaced by bytes, and the image column names."""
    with open_archive(source, filename, limits) as archive:
        members = {info.filename: info for info in archive.infolist() if not info.is_dir()}
        reader = MemberReader(archive, filename, limits)
        index_name = _find_index(members, filename)
        index_label = f"{filename}/{index_name}"
        frame = read_table(reader.read(members[index_name]), FORMATS[Path(index_name).suffix.lower()],
                           index_label, limits)
        frame.columns = [str(c) for c in frame.columns]
        image_columns = _image_name_columns(frame)
        if not image_columns:
            raise DatasetError(f"{index_label}: no column holds image file names (ending in "
                               f"{', '.join(IMAGE_EXTENSIONS)}); add one naming the images inside the zip")
        base = posixpath.dirname(index_name)
        checked: set[str] = set()
        for column in image_columns:
            frame[column] = pd.Series(
                [_image_bytes(reader, members, checked, base, value, f"{index_label} row {row} (column {column!r})")
                 for row, value in enumerate(frame[column], start=1)],
                index=frame.index, dtype=object)
    return frame, image_columns


def _find_index(members: dict, filename: str) -> str:
    candidates = [
        name for name in members
        if not name.startswith("__MACOSX/") and not posixpath.basename(name).startswith(".")
        and FORMATS.get(Path(name).suffix.lower()) in TABLE_FORMATS
    ]
    if not candidates:
        raise DatasetError(f"{filename}: the zip has no index file (.csv, .json, .jsonl or .parquet) listing "
                           f"the images; add one with a column of image file names")
    shallowest = min(name.count("/") for name in candidates)
    top = sorted(name for name in candidates if name.count("/") == shallowest)
    if len(top) > 1:
        raise DatasetError(f"{filename}: the zip has several index files ({', '.join(top[:5])}); keep only one")
    return top[0]


def _image_name_columns(frame: pd.DataFrame) -> list[str]:
    columns = []
    for column in frame.columns:
        values = [v for v in frame[column] if not is_missing(v)]
        if values and all(isinstance(v, str) and v.strip().lower().endswith(IMAGE_EXTENSIONS) for v in values):
            columns.append(column)
    return columns


def _image_bytes(reader: MemberReader, members: dict, checked: set[str], base: str, value, where: str) -> bytes | None:
    if is_missing(value):
        return None
    name = value.strip().replace("\\", "/")
    while name.startswith("./"):
        name = name[2:]
    found = next((c for c in (posixpath.normpath(posixpath.join(base, name)) if base else None, name)
                  if c and c in members), None)
    if found is None:
        raise DatasetError(f"{where}: image {value!r} is not in the zip; add it or fix the file name")
    refuse_oversized_image(members[found].file_size, f"{where}, image {value!r}")  # before inflating it
    data = reader.read(members[found])
    if found not in checked:  # an image used by many rows is decoded once
        check_image(data, f"{where}, image {value!r}")
        checked.add(found)
    return data
