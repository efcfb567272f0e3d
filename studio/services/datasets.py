"""Import, list, show and delete datasets: what the Datasets page asks for, through one door.

The importer (``studio.datasets``) does the work; this service is where a rule about who may
import or delete what (a permission, a demo's tighter size bounds) is checked once for every
caller. Every failure a user can cause comes out as a ``DatasetError`` with the file or row named.
"""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from studio.config.data_bounds import ImportLimits
from studio.datasets import (DatasetError, delete_dataset, experiments_using, import_dataset, load_profile,
                             preview)

from .access_policy import SINGLE_USER, Actor, check_change, check_create, may_change, owner_fields
from .limits import max_upload_bytes, upload_problem


# The demo dataset an empty project offers one click away (instructions → answers, Causal LM).
DEMO_DATASET = Path(__file__).resolve().parents[2] / "assets" / "data" / "demo_instructions.csv"
DEMO_NAME = "demo_instructions"


class DatasetService:
    def __init__(self, store, home: Path, limits: ImportLimits | None = None):
        self.store = store
        self.home = Path(home)
        self._limits = limits  # None: the defaults, with the upload size from Settings

    @property
    def limits(self) -> ImportLimits:
        return self._limits or ImportLimits(max_upload_bytes=max_upload_bytes(self.store))

    def list(self, project_id: str) -> list[dict]:
        return self.store.datasets.list(project_id)

    def get(self, dataset_id: str | None) -> dict | None:
        return self.store.datasets.get(dataset_id) if dataset_id else None

    def import_upload(self, path: str | Path, filename: str, name: str | None, project_id: str,
                      actor: Actor = SINGLE_USER) -> dict:
        """Import an uploaded file, owned by ``actor``; its name (without extension) names the dataset
        when ``name`` is blank."""
        check_create(actor, "a dataset")
        name = (name or "").strip() or Path(filename).stem
        if self._limits is None:  # checked before a byte is read, with the Settings entry named
            problem = upload_problem(self.store, filename, _size(path))
            if problem:
                raise DatasetError(problem)
        return import_dataset(self.store, Path(path), filename, name, project_id, limits=self.limits,
                              owner=owner_fields(actor).get("owner"))

    def import_demo(self, project_id: str, actor: Actor = SINGLE_USER) -> dict:
        """The shipped demo dataset in this project (the one already imported, if it is there)."""
        for row in self.store.datasets.list(project_id):
            if row.get("name") == DEMO_NAME:
                return row
        if not DEMO_DATASET.is_file():
            raise DatasetError(f"the demo dataset {DEMO_DATASET} is missing from this installation")
        return self.import_upload(DEMO_DATASET, DEMO_DATASET.name, DEMO_NAME, project_id, actor)

    def users(self, dataset_id: str) -> list[dict]:
        """The experiments that train or validate on the dataset (they block its deletion)."""
        return experiments_using(self.store, dataset_id)

    def delete(self, dataset_id: str, actor: Actor = SINGLE_USER) -> None:
        row = self.store.datasets.get(dataset_id)
        if row is not None:
            check_change(actor, row, "delete", "dataset")
        delete_dataset(self.store, dataset_id)

    def may_delete(self, dataset_id: str | None, actor: Actor) -> bool:
        return may_change(actor, self.get(dataset_id))

    def show(self, dataset_id: str, rows: int) -> tuple[pd.DataFrame, dict]:
        """The first ``rows`` rows shortened for display, and the profile (DatasetError if unreadable)."""
        return preview(dataset_id, rows, self.home), load_profile(dataset_id, self.home)


def _size(path: str | Path) -> int:
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0  # the importer says the file is missing


__all__ = ["DatasetError", "DatasetService"]
