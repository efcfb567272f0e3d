"""How a dataset is laid out in data.parquet, and how it is read back.

Nested cells (chat ``messages`` lists, COCO annotation dicts) keep a native Arrow type
when Arrow can type them without changing a value. Otherwise (keys differing between
rows, mixed element types) the column is stored as JSON text, one document per cell,
and its name is listed in the file's schema metadata under ``studio.json_columns``
(and in profile.json). ``load_table`` decodes both back to Python lists and dicts.
Scalar columns with mixed types (numbers and text in one column) are stored as text.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from .images import is_missing

JSON_COLUMNS_KEY = b"studio.json_columns"
IMAGE_COLUMNS_KEY = b"studio.image_columns"
# What pyarrow raises for values it cannot give one Arrow type (those columns become text or JSON).
_UNTYPABLE = (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError, TypeError)


def plain(value: Any) -> Any:
    """Numpy arrays/scalars and tuples inside a cell as plain Python (lists, dicts, numbers)."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, np.ndarray)):
        return [plain(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if is_missing(value):
        return None
    return value


def is_nested(value: Any) -> bool:
    return isinstance(value, (list, tuple, dict, np.ndarray))


def frame_to_table(frame: pd.DataFrame) -> tuple[pa.Table, list[str], list[str]]:
    """The Arrow table to store, the JSON-text columns and the columns coerced to text."""
    arrays, json_columns, text_columns = {}, [], []
    for column, series in frame.items():
        if series.dtype != object:
            try:
                arrays[column] = pa.array(series, from_pandas=True)
                continue
            except _UNTYPABLE:
                series = series.astype(object)
        values = series.tolist()
        if any(is_nested(v) for v in values):
            values = [plain(v) for v in values]
            native = _native_nested(values)
            if native is not None:
                arrays[column] = native
            else:
                arrays[column] = pa.array([None if v is None else json.dumps(v, ensure_ascii=False, default=str)
                                           for v in values], type=pa.string())
                json_columns.append(column)
            continue
        values = [None if is_missing(v) else plain(v) for v in values]
        try:
            arrays[column] = pa.array(values)
        except _UNTYPABLE:
            arrays[column] = pa.array([None if v is None else str(v) for v in values], type=pa.string())
            text_columns.append(column)
    return pa.table(arrays), json_columns, text_columns


def _native_nested(values: list) -> pa.Array | None:
    try:
        array = pa.array(values)
    except _UNTYPABLE:
        return None
    # Arrow fills keys missing from some dicts with None and an all-empty list gets a
    # null type: either way the data would not come back as it went in (and {} cannot be written).
    if _has_null_type(array.type) or array.to_pylist() != values:
        return None
    return array


def _has_null_type(kind: pa.DataType) -> bool:
    if pa.types.is_null(kind) or (pa.types.is_struct(kind) and kind.num_fields == 0):
        return True  # a null column, or an empty dict's struct, which Parquet cannot write
    return any(_has_null_type(kind.field(i).type) for i in range(kind.num_fields))


def write_table(table: pa.Table, path: Path, json_columns: list[str], image_columns: list[str]) -> None:
    metadata = dict(table.schema.metadata or {})
    metadata[JSON_COLUMNS_KEY] = json.dumps(json_columns).encode()
    metadata[IMAGE_COLUMNS_KEY] = json.dumps(image_columns).encode()
    pq.write_table(table.replace_schema_metadata(metadata), path, compression="zstd")


def json_columns_of(schema: pa.Schema) -> list[str]:
    raw = (schema.metadata or {}).get(JSON_COLUMNS_KEY)
    return json.loads(raw) if raw else []


def table_to_frame(table: pa.Table) -> pd.DataFrame:
    """A DataFrame with nested cells as Python lists/dicts (not numpy arrays) and images as bytes."""
    json_columns = set(json_columns_of(table.schema))
    data = {}
    for name, column in zip(table.column_names, table.columns):
        if name in json_columns:
            data[name] = pd.Series([None if v is None else json.loads(v) for v in column.to_pylist()], dtype=object)
        elif pa.types.is_nested(column.type) or pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
            data[name] = pd.Series(column.to_pylist(), dtype=object)
        else:
            data[name] = column.to_pandas()
    return pd.DataFrame(data)


def load_table(path: Path, rows: int | None = None) -> pd.DataFrame:
    if rows is None:
        return table_to_frame(pq.read_table(path))
    parquet = pq.ParquetFile(path)
    batches = []
    for batch in parquet.iter_batches(batch_size=max(rows, 1)):
        batches.append(batch)
        break
    table = pa.Table.from_batches(batches, schema=parquet.schema_arrow) if batches else parquet.schema_arrow.empty_table()
    return table_to_frame(table.slice(0, rows))
