"""Load the train/validation tables a config names, sample them and split them.

A dataset id resolves to ``$STUDIO_HOME/datasets/<id>/data.parquet``; a
``*_dataframe`` setting is a file path (CSV, Parquet, JSON, JSONL).

Every frame's index is the user's row number in the table it came from, counted from 1
like the dataset importer (the first data row is row 1). Shuffling, splitting and
sampling carry the index along, so data errors can name rows the user can find.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from studio.config import ExperimentConfig
from studio.paths import dataset_dir
from training.errors import DatasetError
from training.problems import SplitData

READERS = {
    ".csv": pd.read_csv,
    ".parquet": pd.read_parquet,
    ".pq": pd.read_parquet,
    ".json": lambda path: _read_json(path, lines=False),
    ".jsonl": lambda path: _read_json(path, lines=True),
}


def _read_json(path: Path, lines: bool) -> pd.DataFrame:
    try:
        return pd.read_json(path, lines=lines)
    except ValueError:
        return pd.read_json(path, lines=not lines)  # tolerate .json holding JSON lines and vice versa


ROW_NUMBER = "row_number"  # the name of that index


def number_rows(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` indexed by row number from 1 (whatever index the file stored is dropped)."""
    frame.index = pd.RangeIndex(1, len(frame) + 1, name=ROW_NUMBER)
    return frame


def row_numbers(frame: pd.DataFrame) -> list[int]:
    """The user's row number of each row of a split, in split order."""
    return [int(n) for n in frame.index]


def read_table(field: str, dataset_id: str | None, file_path: str | None) -> SplitData:
    """The table behind a dataset id or a file path, with the folder its relative paths resolve against."""
    if dataset_id:
        folder = dataset_dir(dataset_id)
        path = folder / "data.parquet"
        if not path.exists():
            raise DatasetError(f"{field}: dataset {dataset_id!r} not found (no {path})")
        return SplitData(number_rows(pd.read_parquet(path)), folder)
    path = Path(file_path).expanduser().resolve()
    if not path.exists():
        raise DatasetError(f"{field}: file {file_path} does not exist")
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise DatasetError(f"{field}: cannot read {path.name}; use CSV, Parquet, JSON or JSONL")
    try:
        frame = reader(path)
    except Exception as exc:  # the reader's message says what is wrong with the file
        raise DatasetError(f"{field}: cannot read {path.name}: {exc}") from exc
    return SplitData(number_rows(frame), path.parent)


def check_columns(split_name: str, frame: pd.DataFrame, columns: list[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DatasetError(
            f"{split_name} data has no column {', '.join(repr(c) for c in missing)}; "
            f"available columns: {', '.join(map(str, frame.columns))}")


def load_splits(cfg: ExperimentConfig, columns: list[str], seed: int) -> tuple[SplitData, SplitData, list[str]]:
    """Train and validation splits per the dataset settings, plus notes for train.log."""
    ds = cfg.dataset
    notes: list[str] = []
    train = read_table("dataset.train_dataset_id" if ds.train_dataset_id else "dataset.train_dataframe",
                       ds.train_dataset_id, ds.train_dataframe)
    check_columns("train", train.frame, columns)
    if ds.validation_strategy == "custom":
        valid = read_table("dataset.validation_dataset_id" if ds.validation_dataset_id
                           else "dataset.validation_dataframe", ds.validation_dataset_id, ds.validation_dataframe)
        check_columns("validation", valid.frame, columns)
    else:
        shuffled = train.frame.sample(frac=1.0, random_state=seed)
        n_valid = max(1, int(round(len(shuffled) * ds.validation_size)))
        if len(shuffled) - n_valid < 1:
            raise DatasetError(f"dataset.validation_size: {ds.validation_size} leaves no training rows "
                               f"out of {len(shuffled)}")
        valid = SplitData(shuffled.iloc[:n_valid], train.root)
        train = SplitData(shuffled.iloc[n_valid:], train.root)
        notes.append(f"validation: {n_valid} rows split off the training data (validation_size "
                     f"{ds.validation_size}, seed {seed})")
    if ds.data_sample < 1.0:
        for name in ds.data_sample_choice:
            split = train if name == "Train" else valid
            before = len(split.frame)
            keep = max(1, int(round(before * ds.data_sample)))
            split.frame = split.frame.sample(n=keep, random_state=seed)
            notes.append(f"data_sample {ds.data_sample}: {name} {before} -> {keep} rows")
    if cfg.training.train_validation_data:
        # Appended rows keep their numbers in the table they came from.
        train = SplitData(pd.concat([train.frame, valid.frame]), train.root)
        notes.append("train_validation_data: validation rows added to training; validation metrics "
                     "are measured on seen data")
    for name, split in (("train", train), ("validation", valid)):
        if len(split.frame) == 0:
            raise DatasetError(f"{name} data is empty")
    return train, valid, notes
