"""Read an imported dataset for the UI and services: whole, first rows, column names, profile."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

from studio.paths import dataset_dir

from .errors import DatasetError
from .parquet_io import load_table
from .profile import display_value

DATA_FILE = "data.parquet"
PROFILE_FILE = "profile.json"


def data_path(dataset_id: str, home: Path | None = None) -> Path:
    try:
        path = dataset_dir(dataset_id, home) / DATA_FILE
    except ValueError as exc:
        raise DatasetError(f"invalid dataset id {dataset_id!r}: {exc}") from None
    if not path.is_file():
        raise DatasetError(f"dataset {dataset_id!r} has no data file ({path}); it may have been deleted")
    return path


def load_dataframe(dataset_id: str, home: Path | None = None) -> pd.DataFrame:
    """All rows; nested cells as Python lists/dicts, image cells as bytes."""
    return load_table(data_path(dataset_id, home))


def preview(dataset_id: str, rows: int = 20, home: Path | None = None) -> pd.DataFrame:
    """The first ``rows`` rows, shortened for display (images as "<image/png, 2.1 KB>")."""
    frame = load_table(data_path(dataset_id, home), rows=rows)
    return pd.DataFrame({c: [display_value(v) for v in frame[c]] for c in frame.columns}, columns=list(frame.columns))


def columns(dataset_id: str, home: Path | None = None) -> list[str]:
    return list(pq.read_schema(data_path(dataset_id, home)).names)


def load_profile(dataset_id: str, home: Path | None = None) -> dict:
    path = data_path(dataset_id, home).with_name(PROFILE_FILE)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise DatasetError(f"dataset {dataset_id!r}: cannot read {path.name} ({exc})") from None
