"""What the UI shows about a dataset before anyone trains on it: shape, columns, samples, guesses."""
from __future__ import annotations

import json
import math
from typing import Any

import pandas as pd

from .images import image_mime, is_missing
from .parquet_io import is_nested, plain

SAMPLE_ROWS = 5
MAX_TEXT = 120

INPUT_NAMES = ("input", "prompt", "instruction", "question", "query", "text", "source", "context", "sentence")
OUTPUT_NAMES = ("output", "response", "answer", "completion", "target", "label", "labels", "class",
                "category", "annotation", "annotations", "objects", "chosen", "summary", "caption")
SYSTEM_NAMES = ("system", "system_prompt")
# A preference layout (prompt / chosen / rejected) makes a text_dpo_modeling guess.
CHOSEN_NAMES = ("chosen", "chosen_response", "preferred", "better")
REJECTED_NAMES = ("rejected", "rejected_response", "dispreferred", "worse")
# A column with at most this many distinct values (and far fewer than rows) reads as class labels.
MAX_CLASSES = 50


def display_value(value: Any, limit: int = MAX_TEXT) -> Any:
    """A cell made short and JSON-safe for a table on screen."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        data = bytes(value)
        kind = image_mime(data) or "binary"
        return f"<{kind}, {_size(len(data))}>"
    if is_nested(value):
        value = json.dumps(plain(value), ensure_ascii=False, default=str)
    value = plain(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else str(value)
    if isinstance(value, str) and len(value) > limit:
        return value[: limit - 1] + "…"
    if value is not None and not isinstance(value, (str, int, float, bool)):
        return str(value)
    return value


def _size(n: int) -> str:
    return f"{n} B" if n < 1024 else f"{n / 1024:.1f} KB" if n < 1024 ** 2 else f"{n / 1024 ** 2:.1f} MB"


def _unique(values: list) -> int:
    present = [v for v in values if not is_missing(v)]
    try:
        return len(set(present))
    except TypeError:  # lists and dicts are unhashable: count their JSON text
        return len({json.dumps(plain(v), sort_keys=True, default=str) for v in present})


def _parsed(text: str) -> Any:
    """The JSON a text cell holds, or None when it holds none (or is too deep to parse)."""
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None


def is_conversation(value: Any) -> bool:
    if isinstance(value, str) and value.lstrip().startswith("["):
        value = _parsed(value)
    value = plain(value) if is_nested(value) else value
    return (isinstance(value, list) and bool(value)
            and all(isinstance(m, dict) and "role" in m and "content" in m for m in value))


def _is_json_object(value: Any) -> bool:
    """Text holding a JSON object, e.g. a COCO annotation exported as a string."""
    if not isinstance(value, str) or not value.lstrip().startswith("{"):
        return False
    return isinstance(_parsed(value), dict)


def _kind(head: list, dtype, name: str, image_columns: list[str]) -> str:
    if name in image_columns:
        return "image"
    values = [v for v in head[:50] if not is_missing(v)]
    if not values:
        return "empty"
    if all(is_conversation(v) for v in values[:20]):
        return "conversation"
    if any(is_nested(v) for v in values) or all(_is_json_object(v) for v in values[:20]):
        return "json"
    if pd.api.types.is_bool_dtype(dtype) or all(isinstance(v, bool) for v in values):
        return "boolean"
    if pd.api.types.is_numeric_dtype(dtype):
        return "number"
    if pd.api.types.is_datetime64_any_dtype(dtype):
        return "datetime"
    if all(isinstance(v, str) for v in values):
        return "text"
    return "other"


def build_profile(frame: pd.DataFrame, image_columns: list[str], json_columns: list[str],
                  text_columns: list[str], dtypes: dict[str, str]) -> dict:
    rows = len(frame)
    columns = []
    nulls = frame.isna().sum().tolist()
    samples = {}
    # Plain lists per column: pandas' per-column overhead made a 10,000-column file take a minute.
    for (name, series), missing in zip(frame.items(), nulls):
        values = series.tolist()
        columns.append({
            "name": name,
            "dtype": dtypes.get(name, str(series.dtype)),
            "kind": _kind(values[:50], series.dtype, name, image_columns),
            "nulls": int(missing),
            "unique": _unique(values),
        })
        samples[name] = [display_value(value) for value in values[:SAMPLE_ROWS]]
    sample = [{name: values[row] for name, values in samples.items()} for row in range(min(rows, SAMPLE_ROWS))]
    return {
        "rows": rows,
        "columns": columns,
        "sample_rows": sample,
        "image_columns": list(image_columns),
        "json_columns": list(json_columns),
        "coerced_to_text": list(text_columns),
        "suggested": suggest_columns(columns, rows),
    }


def suggest_columns(columns: list[dict], rows: int) -> dict:
    """Guesses for the New Experiment form; the user confirms or changes them."""
    by_name = {c["name"].lower(): c for c in columns}

    def named(options, kinds):
        for option in options:
            column = by_name.get(option)
            if column and column["kind"] in kinds:
                return column["name"]
        return None

    image = next((c["name"] for c in columns if c["kind"] == "image"), None)
    conversation = next((c["name"] for c in columns if c["kind"] == "conversation"), None)
    system = named(SYSTEM_NAMES, {"text"})
    input_column = named(INPUT_NAMES, {"text"}) or conversation
    rejected = named(REJECTED_NAMES, {"text"})
    chosen = named(CHOSEN_NAMES, {"text"}) if rejected else None
    output_column = chosen or named(OUTPUT_NAMES, {"text", "number", "boolean", "json"})
    texts = [c["name"] for c in columns
             if c["kind"] == "text" and c["name"] not in (system, output_column, rejected)]
    if input_column is None and texts:
        input_column = texts[0]
    if output_column is None:
        labels = [c["name"] for c in columns if c["name"] not in (input_column, system, image)
                  and c["kind"] in ("text", "number", "boolean") and _looks_like_labels(c, rows)]
        others = [t for t in texts if t != input_column]
        output_column = (labels or others or [None])[0]
    output_kind = next((c for c in columns if c["name"] == output_column), {}).get("kind")
    output_info = next((c for c in columns if c["name"] == output_column), None)
    return {
        "input_column": input_column,
        "output_column": output_column,
        "image_column": image,
        "system_column": system,
        "conversation_column": conversation,
        "looks_like_conversation": conversation is not None,
        "rejected_output_column": rejected if chosen else None,
        "problem_type": ("text_dpo_modeling" if chosen and not image else
                         _problem_type(image, input_column, output_kind, output_info, rows)),
    }


def _looks_like_labels(column: dict, rows: int) -> bool:
    return 1 < column["unique"] <= MAX_CLASSES and column["unique"] <= max(2, rows // 2)


def _problem_type(image, input_column, output_kind, output_info, rows) -> str:
    if image:
        if output_kind == "json":
            return "object_detection"
        if input_column is not None:  # a question about the image
            return "multimodal_causal_language_modeling"
        if output_info is not None and _looks_like_labels(output_info, rows):
            return "image_classification"
        return "multimodal_causal_language_modeling"
    if output_info is not None and output_kind in ("number", "boolean", "text") and _looks_like_labels(output_info, rows) \
            and output_info["unique"] <= 20:
        return "text_causal_classification_modeling"
    return "text_causal_language_modeling"
