"""Refuse, with the row and column named, cells and column names that cannot be stored or trained on.

Checked before any DataFrame or Arrow array is built from the data, because those fail deep
inside pandas/pyarrow with raw errors (OverflowError, UnicodeEncodeError, RecursionError):
- text with an unpaired surrogate (U+D800-U+DFFF; JSON's ``"\\ud800"`` makes one), which UTF-8
  cannot encode;
- integers outside 64 bits (a 400-digit number);
- lists/dicts nested deeper than ``MAX_NESTING_DEPTH``, also inside JSON text cells;
- COCO category ids beyond ``MAX_CATEGORY_ID`` (the engine would size a head by them);
- more columns than the limit, over-long, duplicate or unstorable column names.
The walk is iterative, so a deep cell cannot exhaust the stack here either.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Iterable

import numpy as np
import pandas as pd

from studio.config.data_bounds import (MAX_CATEGORY_ID, MAX_COLUMN_NAME_LENGTH, MAX_INTEGER, MAX_NESTING_DEPTH,
                                       MIN_INTEGER)

from studio.store.storable import has_surrogate

from .errors import DatasetError

# Keys whose values are category ids in COCO-style annotations ({"bbox": [...], "category": [...]}).
CATEGORY_KEYS = ("category", "category_id")
# Integer literals longer than this are not converted by the JSON parser (Python refuses to
# convert over 4,300 digits, and anything this long is beyond 64 bits anyway).
_LONGEST_INTEGER_LITERAL = 24
_CSV_LONG_INTEGER = r"\s*-?\d{%d,}\s*" % (_LONGEST_INTEGER_LITERAL + 1)
_LONG_NUMBER = re.compile(r"\d{%d}" % (_LONGEST_INTEGER_LITERAL // 2))


@dataclass(frozen=True)
class OversizedInteger:
    """Stands in for an integer literal too long to convert, so the row can be named later."""

    literal: str


def parse_json_int(literal: str) -> int | OversizedInteger:
    """``parse_int`` for ``json.loads``: a 5,000-digit literal becomes a marker, not a ValueError."""
    return int(literal) if len(literal) <= _LONGEST_INTEGER_LITERAL else OversizedInteger(literal)


_DECODER = json.JSONDecoder(parse_int=parse_json_int)


def load_json(text: str) -> Any:
    """``json.loads`` with long integer literals kept as ``OversizedInteger``; raises what json raises
    (JSONDecodeError) and RecursionError for nesting too deep to parse."""
    return _DECODER.decode(text)


def text_problem(text: str) -> str | None:
    """Why ``text`` cannot be stored as UTF-8, or None."""
    if text.isascii() or not has_surrogate(text):
        return None
    position = next(i for i, c in enumerate(text) if "\ud800" <= c <= "\udfff")
    return (f"the text holds an unpaired surrogate (U+{ord(text[position]):04X}) at character {position + 1}, "
            "which UTF-8 cannot store; fix the text's encoding")


def _integer_problem(value: int | OversizedInteger) -> str | None:
    literal = value.literal if isinstance(value, OversizedInteger) else None
    if literal is None and MIN_INTEGER <= value <= MAX_INTEGER:
        return None
    digits = len((literal or str(value)).lstrip("-"))
    return (f"an integer with {digits} digits is too large to store (at most 64 bits); "
            "write it as text (in quotes) if it is an identifier")


def _category_problem(value: Any) -> str | None:
    ids = value.tolist() if isinstance(value, np.ndarray) else value
    for category in ids if isinstance(ids, (list, tuple)) else [ids]:
        if isinstance(category, (bool, np.bool_)) or not isinstance(category, (int, float, np.integer, np.floating)):
            continue  # not a number: the engine reports the annotation as malformed
        if not 0 <= category <= MAX_CATEGORY_ID:
            return (f"category id {category!r} is outside 0..{MAX_CATEGORY_ID}; number the categories "
                    f"from 0 (at most {MAX_CATEGORY_ID + 1} classes)")
    return None


def _worth_parsing(text: str) -> bool:
    """JSON text that could hide a problem: deep enough, naming a category, or with a long number.
    Other JSON text (most chats) is left unparsed, which keeps large imports quick."""
    if text[:1] not in ("[", "{") or text[-1:] not in ("]", "}"):
        return False
    return (text.count("[") + text.count("{") > MAX_NESTING_DEPTH or "category" in text
            or _LONG_NUMBER.search(text) is not None)


def cell_problem(value: Any) -> str | None:
    """Why one cell cannot be stored, or None; JSON text cells are checked as what they hold."""
    stack = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, str):
            problem = text_problem(item)
            if problem:
                return problem
            stripped = item.strip()
            if depth == 0 and _worth_parsing(stripped):
                try:
                    stack.append((load_json(stripped), 0))
                except RecursionError:
                    return f"the JSON text is nested deeper than {MAX_NESTING_DEPTH} levels"
                except ValueError:
                    pass  # not JSON: plain text
            continue
        if isinstance(item, (bool, float, bytes, np.bool_, np.floating)) or item is None:
            continue
        if isinstance(item, (int, OversizedInteger)):
            problem = _integer_problem(item)
            if problem:
                return problem
            continue
        if isinstance(item, (dict, list, tuple, np.ndarray)):
            if depth >= MAX_NESTING_DEPTH:
                return f"lists/objects are nested deeper than {MAX_NESTING_DEPTH} levels"
            if isinstance(item, np.ndarray):
                if item.dtype == object:
                    stack.extend((v, depth + 1) for v in item.tolist())
                continue
            if isinstance(item, dict):
                for key, inner in item.items():
                    problem = text_problem(key) if isinstance(key, str) else None
                    if problem is None and key in CATEGORY_KEYS:
                        problem = _category_problem(inner)
                    if problem:
                        return f"key {key!r}: {problem}"
                    stack.append((inner, depth + 1))
            else:
                stack.extend((v, depth + 1) for v in item)
    return None


def _plain_cell(value: Any) -> bool:
    """The common cells, which cannot hold a problem and so skip the walk."""
    kind = type(value)
    if kind is str:
        return "[" not in value and "{" not in value and (value.isascii() or not has_surrogate(value))
    if kind is int:
        return MIN_INTEGER <= value <= MAX_INTEGER
    return kind is float or kind is bool or value is None


def check_column_names(names: Iterable[Any], where: str, max_columns: int) -> None:
    names = list(names)
    if len(names) > max_columns:
        raise DatasetError(f"{where}: {len(names)} columns, more than the {max_columns} a dataset may have; "
                           "keep the columns you train on")
    seen = set()
    for position, name in enumerate(names, start=1):
        text = str(name)
        problem = text_problem(text)
        if problem:
            raise DatasetError(f"{where}: column {position}'s name: {problem}")
        if len(text) > MAX_COLUMN_NAME_LENGTH:
            raise DatasetError(f"{where}: column {position}'s name has {len(text)} characters; "
                               f"at most {MAX_COLUMN_NAME_LENGTH} are allowed")
        if text in seen:
            raise DatasetError(f"{where}: two columns are named {text!r}; give each column its own name")
        seen.add(text)


def check_records(records: list[dict], where: str, max_columns: int) -> None:
    """Every key and value of JSON records (row numbers from 1), before pandas sees them."""
    keys: dict[str, None] = {}
    for row, record in enumerate(records, start=1):
        for key in record:
            if key not in keys:
                keys[key] = None
                if len(keys) > max_columns:
                    check_column_names(keys, where, max_columns)
        for key, value in record.items():
            problem = None if _plain_cell(value) else cell_problem(value)
            if problem:
                raise DatasetError(f"{where}: row {row}, column {_shown(key)}: {problem}")
    check_column_names(keys, where, max_columns)


def check_columns(columns: dict[str, list], where: str, max_columns: int) -> None:
    """Every value of a column-oriented JSON object ``{column: [values]}``."""
    check_column_names(columns, where, max_columns)
    for key, values in columns.items():
        check_values(values, key, where)


def check_frame(frame: pd.DataFrame, where: str, max_columns: int) -> None:
    """The object and text columns of a frame pandas or pyarrow built (CSV big integers and JSON
    text cells, Parquet nested cells)."""
    check_column_names(frame.columns, where, max_columns)
    for column, series in frame.items():
        if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
            check_values(series.tolist(), column, where)


def check_csv_numbers(frame: pd.DataFrame, where: str) -> None:
    """CSV numbers too long for pandas to convert (over 4,300 digits) arrive as text; refuse them
    like the shorter ones beyond 64 bits, rather than silently turning the column into text."""
    for column, series in frame.items():
        if not pd.api.types.is_string_dtype(series.dtype):
            continue
        long_numbers = series.str.fullmatch(_CSV_LONG_INTEGER).fillna(False).astype(bool)
        if long_numbers.any():
            row = int(long_numbers.to_numpy().argmax()) + 1
            problem = _integer_problem(OversizedInteger(str(series.iloc[row - 1]).strip()))
            raise DatasetError(f"{where}: row {row}, column {_shown(column)}: {problem}")


def check_values(values: list, column: Any, where: str) -> None:
    for row, value in enumerate(values, start=1):
        if _plain_cell(value):
            continue
        problem = cell_problem(value)
        if problem:
            raise DatasetError(f"{where}: row {row}, column {_shown(column)}: {problem}")


def _shown(name: Any) -> str:
    text = str(name)
    return ascii(text) if text_problem(text) else repr(text)
