"""How many classes a dataset's labels hold: the hint the dialog shows for ``dataset.num_classes``.

It follows the engine's rules (``training/classifier.py`` and ``training/problems/object_detection.py``)
without importing the engine (torch) into the app: integer labels give max id + 1 classes, text
labels their distinct values, list cells the distinct items, several 0/1 columns one class each,
and COCO annotations max category + 1. Only the output column(s) are read from data.parquet.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq

from studio.config.problem_types import NUM_CLASSES_TYPES, OBJECT_DETECTION
from studio.datasets import DatasetError
from studio.datasets.access import data_path
from studio.ui.coco_cell import annotation


@dataclass(frozen=True)
class ClassCount:
    count: int
    how: str  # "distinct labels", "max class id + 1", "indicator columns", "max category + 1"

    @property
    def hint(self) -> str:
        return f"auto: {self.count} classes detected ({self.how})"


def count_classes(columns: dict[str, list], problem_type: str) -> ClassCount | None:
    """The class count of the output column values (``{name: values}``), or None when undecidable."""
    if not columns:
        return None
    if problem_type == OBJECT_DETECTION:
        values = next(iter(columns.values()))
        categories = [c for v in values for c in _categories(v)]
        return ClassCount(max(categories) + 1, "max category + 1") if categories else None
    if len(columns) > 1:
        return ClassCount(len(columns), "indicator columns")
    items = []
    for value in next(iter(columns.values())):
        value = _decoded(value)
        if value is None or (isinstance(value, float) and value != value):
            continue
        items.extend(value if isinstance(value, list) else [value])
    if not items:
        return None
    if all(_int_like(x) for x in items):
        return ClassCount(int(max(float(x) for x in items)) + 1, "max class id + 1")
    return ClassCount(len({str(x) for x in items}), "distinct labels")


def num_classes_hint(home: Path, dataset_id: str | None, output_column: Any, problem_type: str) -> str | None:
    """``"auto: 3 classes detected (...)"`` for the dialog, or None when it does not apply or cannot tell."""
    if problem_type not in NUM_CLASSES_TYPES or not dataset_id or not output_column:
        return None
    names = tuple(output_column) if isinstance(output_column, (list, tuple)) else (output_column,)
    try:
        path = data_path(dataset_id, home)
        stamp = path.stat().st_mtime_ns
    except (DatasetError, OSError):
        return None
    found = _cached_count(str(path), stamp, names, problem_type)
    return found.hint if found else None


@lru_cache(maxsize=64)
def _cached_count(path: str, _stamp: int, names: tuple[str, ...], problem_type: str) -> ClassCount | None:
    # The form re-renders on every edit; the file's mtime in the key keeps the cache honest.
    try:
        schema = pq.read_schema(path)
        if any(name not in schema.names for name in names):
            return None
        table = pq.read_table(path, columns=list(names))
    except Exception:  # unreadable file: no hint, the engine reports the real error
        return None
    return count_classes({name: table.column(name).to_pylist() for name in names}, problem_type)


def _decoded(value: Any) -> Any:
    """A list cell may be stored as JSON text (``["a", "c"]``); anything else is returned as is."""
    if isinstance(value, str) and value.strip().startswith("["):
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return value
        return parsed if isinstance(parsed, list) else value
    if isinstance(value, tuple):
        return list(value)
    return value


def _categories(value: Any) -> list[int]:
    value = annotation(value)
    if value is None:
        return []
    categories = value.get("category")
    if not isinstance(categories, (list, tuple)):
        return []
    return [int(c) for c in categories if _int_like(c) and float(c) >= 0]


def _int_like(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    if isinstance(value, float):
        return value == value and value.is_integer()
    return isinstance(value, str) and value.strip().lstrip("-").isdigit()
