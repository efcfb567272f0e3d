"""Projects group datasets and experiments; a project named "Default" always exists."""
from __future__ import annotations

from tinydb import TinyDB
from tinydb.table import Document

from .database import LOCK
from .errors import DuplicateNameError, NotFoundError, StoreError
from .names import clean_name
from .records import copy_record, new_id, utc_now

DEFAULT_PROJECT_NAME = "Default"


class ProjectRepo:
    def __init__(self, db: TinyDB):
        self._table = db.table("projects")
        self._storage = db.storage

    def _rows(self) -> dict[str, dict]:
        return self._table._read_table()

    def default(self) -> dict:
        """The default project (flagged ``is_default``), created on first use.

        It is found by its flag, not its name, so renaming it keeps it the default.
        """
        with LOCK:
            for raw in self._rows().values():
                if raw.get("is_default"):
                    return copy_record(raw)
            name = DEFAULT_PROJECT_NAME
            if self._find_by_name(name) is not None:
                name = f"{DEFAULT_PROJECT_NAME} ({new_id()[:4]})"
            return self._insert(name, is_default=True)

    def default_id(self) -> str:
        return self.default()["id"]

    def create(self, name: str, owner: str | None = None) -> dict:
        name = clean_name(name, "project", StoreError)
        with LOCK:
            self.default()
            if self._find_by_name(name) is not None:
                raise DuplicateNameError(f"a project named {name!r} already exists; choose another name")
            return self._insert(name, is_default=False, owner=owner)

    def rename(self, project_id: str, name: str) -> dict:
        name = clean_name(name, "project", StoreError)
        with LOCK:
            if project_id not in self._rows():
                raise NotFoundError(f"no project with id {project_id!r}")
            other = self._find_by_name(name)
            if other is not None and other["id"] != project_id:
                raise DuplicateNameError(f"a project named {name!r} already exists; choose another name")
            with self._storage.changing("projects", [project_id]):
                self._table.update({"name": name}, doc_ids=[project_id])
            return copy_record(self._rows()[project_id])

    def set_members(self, project_id: str, members: list[str]) -> dict:
        """Replace who belongs to the project (the caller checks who may)."""
        with LOCK:
            if project_id not in self._rows():
                raise NotFoundError(f"no project with id {project_id!r}")
            with self._storage.changing("projects", [project_id]):
                self._table.update({"members": sorted(set(members))}, doc_ids=[project_id])
            return copy_record(self._rows()[project_id])

    def list(self) -> list[dict]:
        """The default project first, then the others oldest first."""
        with LOCK:
            self.default()
            raws = list(self._rows().values())
        raws.sort(key=lambda r: (not r.get("is_default"), r.get("created") or ""))
        return [copy_record(r) for r in raws]

    def get(self, project_id: str) -> dict | None:
        with LOCK:
            raw = self._rows().get(str(project_id))
            return copy_record(raw) if raw is not None else None

    def _find_by_name(self, name: str) -> dict | None:
        wanted = name.casefold()
        for raw in self._rows().values():
            if str(raw.get("name", "")).casefold() == wanted:
                return raw
        return None

    def _insert(self, name: str, is_default: bool, owner: str | None = None) -> dict:
        row = {"id": new_id(), "name": name, "is_default": is_default, "created": utc_now(),
               **({"owner": owner, "members": [owner]} if owner else {})}
        with self._storage.changing("projects", [row["id"]]):
            self._table.insert(Document(row, doc_id=row["id"]))
        return dict(row)
