"""The column names of a stored dataset, for the dialog's column dropdowns."""
from __future__ import annotations

from studio.datasets import DatasetError, columns


def dataset_columns(store, dataset_id: str | int | None) -> list[str]:
    dataset_id = str(dataset_id) if dataset_id is not None else None  # an unquoted all-digit id in YAML is a number
    if not dataset_id or store.datasets.get(dataset_id) is None:
        return []
    try:
        return [str(c) for c in columns(dataset_id, store.home)]
    except DatasetError:  # its files are gone: the user can still type a column name
        return []
