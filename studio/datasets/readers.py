"""Read an uploaded file (CSV, Parquet, JSON, JSONL) into a DataFrame, or say exactly why not."""
from __future__ import annotations

import csv
import io
import re
from pathlib import Path
from typing import Union

import pandas as pd

from studio.config.data_bounds import ImportLimits

from .cell_checks import check_columns, check_csv_numbers, check_frame, check_records, load_json
from .errors import DatasetError
from .parquet_reader import read_parquet

Source = Union[Path, bytes]

FORMATS = {
    ".csv": "csv", ".parquet": "parquet", ".pq": "parquet", ".json": "json",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".zip": "zip",
}
TABLE_FORMATS = ("csv", "parquet", "json", "jsonl")
# pandas: "Expected 2 fields in line 3, saw 3"
_FIELD_COUNT = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


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


def _text(source: Source, filename: str, fmt: str) -> str:
    raw = bytes(source) if isinstance(source, (bytes, bytearray)) else Path(source).read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DatasetError(f"{filename}: expected {fmt.upper()} text in UTF-8, but byte {exc.start} is not "
                           f"UTF-8 ({exc.reason}); save the file as UTF-8") from None


def read_table(source: Source, fmt: str, filename: str, limits: ImportLimits = ImportLimits()) -> pd.DataFrame:
    if fmt == "parquet":
        frame = read_parquet(source, filename, limits)
        check_frame(frame, filename, limits.max_columns)
    else:
        reader = {"csv": _read_csv, "json": _read_json, "jsonl": _read_jsonl}[fmt]
        frame = reader(_text(source, filename, fmt), filename, limits)
    frame.columns = [str(c) for c in frame.columns]
    return frame


def _read_csv(text: str, filename: str, limits: ImportLimits) -> pd.DataFrame:
    if not text.strip():
        raise DatasetError(f"{filename}: the file is empty")
    header, first = _leading_records(text)
    if header is not None and len(header) > limits.max_columns:
        raise DatasetError(f"{filename}: {len(header)} columns, more than the {limits.max_columns} a dataset "
                           "may have; keep the columns you train on")
    if header is not None and first is not None and len(first) > len(header):
        _refuse_surplus_fields(filename, len(first), len(header))
    try:
        frame = pd.read_csv(io.StringIO(text))
    except pd.errors.EmptyDataError:
        raise DatasetError(f"{filename}: the file is empty") from None
    except (pd.errors.ParserError, ValueError, OverflowError) as exc:
        raise DatasetError(f"{filename}: not a readable CSV file: {_parser_reason(exc)}") from None
    if not frame.index.equals(pd.RangeIndex(len(frame))):
        # pandas took surplus leading fields of the first data row as an index (the csv module
        # could not read that row to tell above): refuse rather than shift values.
        _refuse_surplus_fields(filename, len(frame.columns) + frame.index.nlevels, len(frame.columns))
    if frame.empty:
        raise DatasetError(f"{filename}: the CSV has a header but no data rows")
    check_frame(frame, filename, limits.max_columns)
    check_csv_numbers(frame, filename)
    return frame


def _leading_records(text: str) -> tuple[list[str] | None, list[str] | None]:
    """The header's fields and the first data row's, or None where the csv module cannot tell
    (a cell over its size limit); pandas then parses and reports on its own."""
    try:
        records = (record for record in csv.reader(io.StringIO(text)) if record)
        return next(records, None), next(records, None)
    except csv.Error:
        return None, None


def _refuse_surplus_fields(filename: str, fields: int, header: int) -> None:
    # pandas would take the surplus leading fields as an index and shift or drop values.
    raise DatasetError(f"{filename}: row 1 (line 2) has {fields} fields but the header has {header}; "
                       "quote values that contain commas, or add the missing column names")


def _parser_reason(exc: Exception) -> str:
    reason = str(exc).strip().replace("Error tokenizing data. C error: ", "")
    match = _FIELD_COUNT.search(reason)
    if match:
        expected, line, seen = match.groups()
        return (f"line {line} (row {int(line) - 1}) has {seen} fields but the header has {expected}; "
                "quote values that contain commas")
    return reason


def _parse_json(text: str, where: str):
    try:
        return load_json(text)
    except RecursionError:
        raise DatasetError(f"{where} is nested too deeply to read (lists/objects inside one another "
                           "hundreds of levels deep)") from None


def _read_json(text: str, filename: str, limits: ImportLimits) -> pd.DataFrame:
    if not text.strip():
        raise DatasetError(f"{filename}: the file is empty")
    try:
        data = _parse_json(text, filename)
    except ValueError as exc:
        msg, line, column = getattr(exc, "msg", str(exc)), getattr(exc, "lineno", "?"), getattr(exc, "colno", "?")
        raise DatasetError(f"{filename}: not valid JSON: {msg} at line {line}, column {column}") from None
    if isinstance(data, list):
        return _records(data, filename, "the JSON array", limits)
    if isinstance(data, dict):
        return _column_dict(data, filename, limits)
    raise DatasetError(f"{filename}: expected a JSON array of records or an object of columns, "
                       f"found a {type(data).__name__}")


def _read_jsonl(text: str, filename: str, limits: ImportLimits) -> pd.DataFrame:
    records = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            record = _parse_json(line, f"{filename}: line {number}")
        except ValueError as exc:
            raise DatasetError(f"{filename}: line {number} is not valid JSON: "
                               f"{getattr(exc, 'msg', exc)} (column {getattr(exc, 'colno', '?')})") from None
        if not isinstance(record, dict):
            raise DatasetError(f"{filename}: line {number} is a JSON {type(record).__name__}; "
                               f"each line must be one object like {{\"input\": ..., \"output\": ...}}")
        records.append(record)
    if not records:
        raise DatasetError(f"{filename}: the file is empty")
    check_records(records, filename, limits.max_columns)
    return pd.DataFrame.from_records(records)


def _records(items: list, filename: str, what: str, limits: ImportLimits) -> pd.DataFrame:
    if not items:
        raise DatasetError(f"{filename}: {what} is empty")
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise DatasetError(f"{filename}: {what} must hold objects (one per row); item {index + 1} "
                               f"is a {type(item).__name__}")
    check_records(items, filename, limits.max_columns)
    return pd.DataFrame.from_records(items)


def _column_dict(data: dict, filename: str, limits: ImportLimits) -> pd.DataFrame:
    if not data:
        raise DatasetError(f"{filename}: the JSON object is empty")
    if all(isinstance(v, list) for v in data.values()):
        lengths = {k: len(v) for k, v in data.items()}
        if len(set(lengths.values())) > 1:
            detail = ", ".join(f"{k!r}: {n}" for k, n in list(lengths.items())[:10])
            raise DatasetError(f"{filename}: the columns have different lengths ({detail}); "
                               f"every column list must have one value per row")
        if not next(iter(lengths.values())):
            raise DatasetError(f"{filename}: the columns are empty")
        check_columns(data, filename, limits.max_columns)
        return pd.DataFrame({k: pd.Series(v, dtype=object) if _has_nested(v) else v for k, v in data.items()})
    if all(isinstance(v, dict) for v in data.values()):  # pandas' to_json() layout {col: {row: value}}
        check_columns({k: list(v.values()) for k, v in data.items()}, filename, limits.max_columns)
        frame = pd.DataFrame(data)
        if frame.empty:
            raise DatasetError(f"{filename}: the columns are empty")
        return frame.reset_index(drop=True)
    raise DatasetError(f"{filename}: expected a JSON array of records, or an object whose values are "
                       f"column lists of equal length")


def _has_nested(values: list) -> bool:
    return any(isinstance(v, (list, dict)) for v in values)
