"""Read an uploaded Parquet file within the import's size bounds, or say exactly why not.

Parquet compresses (and dictionary-encodes) well enough to be a decompression bomb, so the
footer's column count and declared uncompressed size are checked first, and the rows are then
decoded batch by batch, stopping once the decoded bytes pass the bound.
"""
from __future__ import annotations

import io
from pathlib import Path
from typing import Union

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from studio.config.data_bounds import ImportLimits, size_text

from .errors import DatasetError

# Rows decoded at a time; the decoded-size bound is checked after each batch.
BATCH_ROWS = 8192
PANDAS_METADATA_KEY = b"pandas"


def read_parquet(source: Union[Path, bytes], filename: str, limits: ImportLimits) -> pd.DataFrame:
    try:
        with io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else open(source, "rb") as handle:
            table = _bounded_table(pq.ParquetFile(handle), filename, limits)
    except (pa.ArrowException, OSError, ValueError, TypeError, IndexError, KeyError, OverflowError) as exc:
        if isinstance(exc, MemoryError):
            raise
        raise DatasetError(f"{filename}: not a readable Parquet file: {_short(exc)}") from None
    if table.num_rows == 0:
        raise DatasetError(f"{filename}: the Parquet file has no rows")
    return _to_pandas(table, filename)


def _bounded_table(parquet: pq.ParquetFile, filename: str, limits: ImportLimits) -> pa.Table:
    schema = parquet.schema_arrow
    if len(schema.names) > limits.max_columns:
        raise DatasetError(f"{filename}: {len(schema.names)} columns, more than the {limits.max_columns} a dataset "
                           "may have; keep the columns you train on")
    metadata = parquet.metadata
    declared = sum(metadata.row_group(i).total_byte_size for i in range(metadata.num_row_groups))
    cap = limits.max_inflated_bytes
    if declared > cap:
        raise DatasetError(f"{filename}: the data inflates to {size_text(declared)}, more than the "
                           f"{size_text(cap)} an import may hold; split it into smaller datasets")
    batches, held = [], 0
    for batch in parquet.iter_batches(batch_size=BATCH_ROWS):
        held += batch.nbytes
        if held > cap:
            raise DatasetError(f"{filename}: the data inflates to more than the {size_text(cap)} an import "
                               "may hold; split it into smaller datasets")
        batches.append(batch)
    return pa.Table.from_batches(batches, schema=schema)


def _to_pandas(table: pa.Table, filename: str) -> pd.DataFrame:
    try:
        return table.to_pandas()
    except MemoryError:
        raise
    except (pa.ArrowException, ValueError, TypeError, KeyError, IndexError, AttributeError) as exc:
        if PANDAS_METADATA_KEY in (table.schema.metadata or {}):
            raise DatasetError(f"{filename}: the file's pandas metadata (schema key 'pandas') is broken "
                               f"({_short(exc)}); save the file again with pandas or pyarrow") from None
        raise DatasetError(f"{filename}: its columns cannot be read: {_short(exc)}") from None


def _short(exc: Exception, limit: int = 300) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"
