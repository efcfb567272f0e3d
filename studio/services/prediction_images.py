"""The images behind a run's validation predictions, read from the table the validation rows came from.

``predictions.parquet`` of the image problem types names each validation row by its ``row`` number
(counted from 1, as the dataset importer counts) in the validation table: the training table under
``validation_strategy: automatic`` (validation is split off it), the validation table under ``custom``.
The image bytes are not copied into the predictions, so they are read back from that table, and
only from the parquet row groups that hold the wanted rows.
"""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from studio import paths
from studio.config import ConfigError, ExperimentConfig, load_yaml


@dataclass(frozen=True)
class ValidationTable:
    file: Path  # the table file (data.parquet of a dataset, or the CLI's *_dataframe file)
    root: Path  # where relative image paths resolve


def validation_table(cfg: ExperimentConfig, home: Path | None = None) -> ValidationTable | None:
    """Where the validation rows of a run with config ``cfg`` came from, or None when unknown."""
    ds = cfg.dataset
    custom = ds.validation_strategy == "custom"
    dataset_id = ds.validation_dataset_id if custom else ds.train_dataset_id
    file_path = ds.validation_dataframe if custom else ds.train_dataframe
    if dataset_id:
        try:
            folder = paths.dataset_dir(dataset_id, home)
        except ValueError:
            return None
        return ValidationTable(folder / "data.parquet", folder)
    if file_path:
        path = Path(file_path).expanduser()
        return ValidationTable(path, path.parent)
    return None


def run_validation_images(experiments, row: dict, rows: list[int]) -> dict[int, bytes | None]:
    """The images of validation rows ``rows`` of experiment ``row`` (empty when its config or table is unknown)."""
    try:
        # The engine's resolved config.yaml says where the validation rows came from.
        cfg = load_yaml(experiments.resolved_config_yaml(row))
    except ConfigError:
        return {}
    source = validation_table(cfg, experiments.home)
    return read_images(source, cfg.dataset.image_column, rows) if source else {}


def read_images(table: ValidationTable, column: str, rows: list[int]) -> dict[int, bytes | None]:
    """Encoded image bytes of the given row numbers (from 1); None for a row whose image cannot be read."""
    wanted = sorted({int(r) for r in rows if int(r) >= 1})
    if not wanted or not table.file.is_file():
        return {}
    try:
        cells = _parquet_cells(table.file, column, wanted) if table.file.suffix.lower() == ".parquet" \
            else _frame_cells(table.file, column, wanted)
    except Exception:  # a missing column or an unreadable file: the table still shows, without images
        return {}
    return {row: image_bytes(cell, table.root) for row, cell in cells.items()}


def _parquet_cells(path: Path, column: str, rows: list[int]) -> dict[int, Any]:
    parquet = pq.ParquetFile(path)
    if column not in parquet.schema_arrow.names:
        return {}
    out: dict[int, Any] = {}
    start = 0  # index (from 0) of the first row of the current row group
    for group in range(parquet.num_row_groups):
        size = parquet.metadata.row_group(group).num_rows
        inside = [r for r in rows if start < r <= start + size]
        if inside:
            values = parquet.read_row_group(group, columns=[column]).column(column)
            for r in inside:
                out[r] = values[r - 1 - start].as_py()
        start += size
    return out


def _frame_cells(path: Path, column: str, rows: list[int]) -> dict[int, Any]:
    suffix = path.suffix.lower()
    if suffix == ".csv":
        frame = pd.read_csv(path, usecols=[column])
    elif suffix in (".json", ".jsonl"):
        frame = pd.read_json(path, lines=suffix == ".jsonl")
    else:
        return {}
    values = frame[column].tolist()
    return {r: values[r - 1] for r in rows if r <= len(values)}


def image_bytes(value: Any, root: Path | None = None) -> bytes | None:
    """Encoded image bytes from a cell: bytes, a {"bytes", "path"} struct, a data URI, base64, or a path in ``root``."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, dict):
        if isinstance(value.get("bytes"), (bytes, bytearray)):
            return bytes(value["bytes"])
        return image_bytes(value.get("path"), root) if value.get("path") else None
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip()
    if text.startswith("data:image/") and ";base64," in text[:100]:
        text = text.split(",", 1)[1]
    elif root is not None and len(text) < 1024:
        candidate = (root / text).resolve()
        # Like the engine: relative paths only, and never outside the dataset folder.
        if candidate.is_relative_to(root.resolve()) and candidate.is_file():
            return candidate.read_bytes()
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None
