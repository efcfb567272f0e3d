"""Read an uploaded file (CSV, Parquet, JSON, JSONL) into a DataFrame, or say exactly why not."""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Union

import pandas as pd

from .errors import DatasetError

Source = Union[Path, bytes]

FORMATS = {
    ".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".json": "json",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".zip": "zip",
}
TABLE_FORMATS = ("csv", "parquet", "json", "jsonl")


def format_for(filename: str) -> str:
    suffix = Path(filename or "").suffix.lower()
    fmt = FORMATS.get(suffix)
    if fmt is None:
        known = ", ".join(sorted(FORMATS))
        raise DatasetError(f"{filename!r}: unknown file type {suffix or '(no extension)'}; "
                           f"upload one of {known}")
    return fmt


def source_size(source: Source) -> int:
    return len(source) if isinstance(source, (bytes, bytearray)) else Path(source).stat().st_size


def _open(source: Source):
    return io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else open(source, "rb")


def _text(source: Source, filename: str, fmt: str) -> str:
    raw = bytes(source) if isinstance(source, (bytes, bytearray)) else Path(source).read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{filename}: expected {fmt.upper()} text in UTF-8, but byte {exc.start} is not "
                           f"UTF-8 ({exc.reason}); save the file as UTF-8") from None


def read_table(source: Source, fmt: str, filename: str) -> pd.DataFrame:
    reader = {"csv": _read_csv, "parquet": _read_parquet, "json": _read_json, "jsonl": _read_jsonl}[fmt]
    frame = reader(source, filename)
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _read_csv(source: Source, filename: str) -> pd.DataFrame:
    text = _text(source, filename, "csv")
    if not text.strip():
        raise DatasetError(f"{filename}: the file is empty")
    try:
        frame = pd.read_csv(io.StringIO(text))
    except pd.errors.EmptyDataError:
        raise DatasetError(f"{filename}: the file is empty") from None
    except (pd.errors.ParserError, ValueError) as exc:
        # pandas names the line ("Expected 2 fields in line 3, saw 3").
        reason = str(exc).strip().replace("Error tokenizing data. C error: ", "")
        raise DatasetError(f"{filename}: not a readable CSV file: {reason}") from None
    if frame.empty:
        raise DatasetError(f"{filename}: the CSV has a header but no data rows")
    return frame


def _read_parquet(source: Source, filename: str) -> pd.DataFrame:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        with _open(source) as handle:
            table = pq.read_table(handle)
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise DatasetError(f"{filename}: not a readable Parquet file: {exc}") from None
    if table.num_rows == 0:
        raise DatasetError(f"{filename}: the Parquet file has no rows")
    return table.to_pandas()


def _read_json(source: Source, filename: str) -> pd.DataFrame:
    text = _text(source, filename, "json")
    if not text.strip():
        raise DatasetError(f"{filename}: the file is empty")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DatasetError(f"{filename}: not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}") from None
    if isinstance(data, list):
        return _records(data, filename, "the JSON array")
    if isinstance(data, dict):
        return _column_dict(data, filename)
    raise DatasetError(f"{filename}: expected a JSON array of records or an object of columns, "
                       f"found a {type(data).__name__}")


def _read_jsonl(source: Source, filename: str) -> pd.DataFrame:
    text = _text(source, filename, "jsonl")
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DatasetError(f"{filename}: line {number} is not valid JSON: {exc.msg} (column {exc.colno})") from None
        if not isinstance(record, dict):
            raise DatasetError(f"{filename}: line {number} is a JSON {type(record).__name__}; "
                               f"each line must be one object like {{\"input\": ..., \"output\": ...}}")
        records.append(record)
    if not records:
        raise DatasetError(f"{filename}: the file is empty")
    return pd.DataFrame.from_records(records)


def _records(items: list, filename: str, what: str) -> pd.DataFrame:
    if not items:
        raise DatasetError(f"{filename}: {what} is empty")
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise DatasetError(f"{filename}: {what} must hold objects (one per row); item {index + 1} "
                               f"is a {type(item).__name__}")
    return pd.DataFrame.from_records(items)


def _column_dict(data: dict, filename: str) -> pd.DataFrame:
    if not data:
        raise DatasetError(f"{filename}: the JSON object is empty")
    if all(isinstance(v, list) for v in data.values()):
        lengths = {k: len(v) for k, v in data.items()}
        if len(set(lengths.values())) > 1:
            detail = ", ".join(f"{k!r}: {n}" for k, n in lengths.items())
            raise DatasetError(f"{filename}: the columns have different lengths ({detail}); "
                               f"every column list must have one value per row")
        if not next(iter(lengths.values())):
            raise DatasetError(f"{filename}: the columns are empty")
        return pd.DataFrame({k: pd.Series(v, dtype=object) if _has_nested(v) else v for k, v in data.items()})
    if all(isinstance(v, dict) for v in data.values()):  # pandas' to_json() layout {col: {row: value}}
        frame = pd.DataFrame(data)
        if frame.empty:
            raise DatasetError(f"{filename}: the columns are empty")
        return frame.reset_index(drop=True)
    raise DatasetError(f"{filename}: expected a JSON array of records, or an object whose values are "
                       f"column lists of equal length")


def _has_nested(values: list) -> bool:
    return any(isinstance(v, (list, dict)) for v in values)
