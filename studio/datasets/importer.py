"""Import an uploaded file as a dataset, and delete one; all or nothing on disk and in the DB."""
from __future__ import annotations

import json
import os
import shutil
import time
import uuid
from pathlib import Path

import pyarrow as pa

from studio.atomic_io import write_json_atomic
from studio.config.data_bounds import ImportLimits, size_text
from studio.paths import dataset_dir
from studio.store import NotFoundError, Store, StoreError
from studio.store.names import clean_name
from studio.store.records import new_id
from studio.store.storable import SURROGATE_REASON, has_surrogate

from .cell_checks import check_column_names
from .errors import DatasetError
from .images import convert_image_columns
from .parquet_io import frame_to_table, write_table
from .profile import build_profile
from .readers import Source, format_for, read_table, source_size
from .zip_archive import read_zip

DATA_FILE = "data.parquet"
PROFILE_FILE = "profile.json"
# Folders being written (.import-*) or removed (.delete-*) start with a dot; those left
# by a crash are removed once they are this old.
STALE_AFTER_S = 3600


def import_dataset(store: Store, path_or_bytes: Source | str, filename: str, name: str,
                   project_id: str | None = None, limits: ImportLimits = ImportLimits(),
                   owner: str | None = None) -> dict:
    """Read, check and profile the upload, store it under datasets/<id>/, and add its row.

    Raises ``DatasetError`` (nothing written, DB untouched) when the file cannot be used:
    whatever the upload holds, no other exception is meant to come out of here.
    """
    name = clean_name(name, "dataset", DatasetError)
    if has_surrogate(str(filename)):
        raise DatasetError(f"filename: {SURROGATE_REASON}")
    if "\0" in str(filename):
        raise DatasetError("filename: holds a NUL character; rename the file")
    fmt = format_for(filename)
    project_id = project_id or store.projects.default_id()
    if store.projects.get(project_id) is None:
        raise DatasetError(f"there is no project with id {project_id!r}")
    _check_name_free(store, project_id, name)
    source = Path(path_or_bytes) if isinstance(path_or_bytes, (str, os.PathLike)) else bytes(path_or_bytes)
    if isinstance(source, Path) and not source.is_file():
        raise DatasetError(f"{filename}: the uploaded file {source} does not exist")
    size = source_size(source)
    if size == 0:
        raise DatasetError(f"{filename}: the file is empty")
    if size > limits.max_upload_bytes:
        raise DatasetError(f"{filename}: the file has {size_text(size)}, more than the "
                           f"{size_text(limits.max_upload_bytes)} an upload may have; split it into smaller datasets")
    try:
        table, profile, image_columns, json_columns = _read_and_profile(source, fmt, filename, limits)
        return _store(store, project_id, name, filename, fmt, table, profile, image_columns, json_columns, owner)
    except MemoryError:  # ArrowMemoryError too
        raise DatasetError(f"{filename}: the data does not fit in the server's memory; "
                           "split it into smaller datasets") from None
    except RecursionError:
        raise DatasetError(f"{filename}: the data is nested too deeply to read") from None
    except pa.ArrowException as exc:  # a layout Arrow cannot store that the checks above let through
        raise DatasetError(f"{filename}: the data cannot be stored as Parquet ({str(exc)[:300]}); "
                           "nothing was stored") from None
    except OSError as exc:
        raise DatasetError(f"{filename}: the dataset could not be saved ({exc.strerror or exc}); "
                           "nothing was stored") from None


def _read_and_profile(source: Source, fmt: str, filename: str, limits: ImportLimits):
    if fmt == "zip":
        frame, image_columns = read_zip(source, filename, limits)
    else:
        frame = read_table(source, fmt, filename, limits)
        image_columns = []
    check_column_names(frame.columns, filename, limits.max_columns)
    image_columns += [c for c in convert_image_columns(frame) if c not in image_columns]
    frame = _usable(frame, filename)
    table, json_columns, text_columns = frame_to_table(frame)
    dtypes = {f.name: str(f.type) for f in table.schema}
    profile = build_profile(frame, image_columns, json_columns, text_columns, dtypes)
    profile["source"] = {"filename": filename, "format": fmt}
    return table, profile, image_columns, json_columns


def _store(store: Store, project_id: str, name: str, filename: str, fmt: str, table, profile: dict,
           image_columns: list[str], json_columns: list[str], owner: str | None = None) -> dict:
    """Write the folder under a staging name, then rename it and add the row together (or neither)."""
    dataset_id = new_id()
    datasets_root = dataset_dir(dataset_id, store.home).parent
    datasets_root.mkdir(parents=True, exist_ok=True)
    _remove_stale(datasets_root)
    staging = datasets_root / f".import-{dataset_id}-{uuid.uuid4().hex[:6]}"
    staging.mkdir()
    try:
        write_table(table, staging / DATA_FILE, json_columns, image_columns)
        write_json_atomic(staging / PROFILE_FILE, {"id": dataset_id, "name": name, **profile})
        final = dataset_dir(dataset_id, store.home)
        with store.lock:
            _check_name_free(store, project_id, name)  # a parallel import may have taken it meanwhile
            os.rename(staging, final)
            try:
                row = {
                    "id": dataset_id, "project_id": project_id, "name": name, "filename": filename,
                    "format": fmt, "rows": profile["rows"], "columns": list(table.column_names),
                    "image_columns": image_columns, "size_bytes": (final / DATA_FILE).stat().st_size,
                    **({"owner": owner} if owner else {}),
                }
                return store.datasets.add(row)
            except StoreError as exc:  # a value the database cannot hold: refused, nothing kept
                shutil.rmtree(final, ignore_errors=True)
                raise DatasetError(f"{filename}: {exc}") from None
            except BaseException:
                shutil.rmtree(final, ignore_errors=True)
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def delete_dataset(store: Store, dataset_id: str, force: bool = False) -> None:
    """Remove the dataset's folder and row together; refuses while experiments use it unless ``force``."""
    with store.lock:
        row = store.datasets.get(dataset_id)
        if row is None:
            raise DatasetError(f"there is no dataset with id {dataset_id!r}")
        users = experiments_using(store, dataset_id)
        if users and not force:
            names = ", ".join(repr(e.get("name") or e["id"]) for e in users[:3])
            more = f" and {len(users) - 3} more" if len(users) > 3 else ""
            raise DatasetError(f"dataset {row['name']!r} is used by {len(users)} experiment(s): {names}{more}; "
                               f"delete those experiments first, or delete with force to keep them without data")
        folder = dataset_dir(dataset_id, store.home)
        trash = folder.with_name(f".delete-{dataset_id}-{uuid.uuid4().hex[:6]}")
        moved = folder.exists()
        if moved:
            os.rename(folder, trash)
        try:
            store.datasets.delete(dataset_id)
        except NotFoundError:
            pass
        except BaseException:
            if moved:
                os.rename(trash, folder)
            raise
    if moved:
        shutil.rmtree(trash, ignore_errors=True)


def experiments_using(store: Store, dataset_id: str) -> list[dict]:
    """Experiments that train or validate on the dataset (row fields or their stored config)."""
    users = []
    for experiment in store.experiments.list():
        if dataset_id in (experiment.get("dataset_id"), experiment.get("validation_dataset_id")):
            users.append(experiment)
            continue
        config = experiment.get("config_overrides") or experiment.get("config")
        text = config if isinstance(config, str) else json.dumps(config or {})
        if dataset_id in text:
            users.append(experiment)
    return users


def _usable(frame, filename):
    empty = frame.isna().all().tolist()
    keep = [c for c, is_empty in zip(frame.columns, empty) if not is_empty]
    if not keep:
        raise DatasetError(f"{filename}: no usable columns (every column is empty); "
                           f"the file needs at least one column with values")
    if len(frame) == 0:
        raise DatasetError(f"{filename}: the file has no rows")
    return frame[keep].reset_index(drop=True)


def _check_name_free(store: Store, project_id: str, name: str) -> None:
    wanted = name.casefold()
    for row in store.datasets.list(project_id):
        if str(row.get("name", "")).casefold() == wanted:
            raise DatasetError(f"this project already has a dataset named {name!r}; choose another name")


def _remove_stale(datasets_root: Path) -> None:
    now = time.time()
    for folder in datasets_root.glob(".[id]*-*"):
        try:
            if folder.name.startswith((".import-", ".delete-")) and now - folder.stat().st_mtime > STALE_AFTER_S:
                shutil.rmtree(folder, ignore_errors=True)
        except FileNotFoundError:
            pass
