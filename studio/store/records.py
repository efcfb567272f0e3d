"""A table of records (datasets, experiments, deployments) keyed by a 12-hex id."""
from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone
from typing import Any, Callable

from tinydb import TinyDB
from tinydb.table import Document

from .database import LOCK
from .errors import NotFoundError, StoreError
from .read_only import ReadOnlyRow
from .storable import SURROGATE_REASON, has_surrogate, unstorable_path


def new_id() -> str:
    # Never all digits: YAML reads an unquoted 624152434822 as a number, and ids are typed into YAML.
    while True:
        found = uuid.uuid4().hex[:12]
        if not found.isdigit():
            return found


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="microseconds")


def copy_record(raw: dict) -> dict:
    """A copy the caller may change freely without touching the cached database.

    Rows are JSON data, so copying dicts and lists one level at a time (then recursing
    only into nested ones) is all that is needed, and much cheaper than deepcopy.
    """
    return {k: (_copy_nested(v) if type(v) in (dict, list) else v) for k, v in raw.items()}


def _copy_nested(value: Any) -> Any:
    if type(value) is dict:
        return {k: _copy_nested(v) for k, v in value.items()}
    if type(value) is list:
        return [_copy_nested(v) for v in value]
    return value


def check_serializable(kind: str, fields: dict) -> None:
    """Refuse, naming the field, any value db.json cannot hold (before anything changes)."""
    for key, value in fields.items():
        if not isinstance(key, str):
            raise StoreError(f"{kind} field names must be text, got {key!r}")
        if has_surrogate(key):
            raise StoreError(f"a {kind} field name {SURROGATE_REASON}")
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise StoreError(f"{kind} field {unstorable_path(value, key)}: {SURROGATE_REASON}") from None
        except RecursionError:
            raise StoreError(f"{kind} field {key!r} cannot be stored: it is nested too deeply") from None
        except (TypeError, ValueError) as exc:
            raise StoreError(
                f"{kind} field {key!r} cannot be stored: {exc}. Store plain JSON values "
                f"(text, numbers, booleans, None, lists, dicts)."
            ) from exc


class RecordRepo:
    """Add/get/list/update/delete/find over one TinyDB table.

    ``default_project`` supplies the project id for records added without one, so
    every dataset, experiment and deployment belongs to a project.
    """

    def __init__(self, db: TinyDB, table: str, kind: str, default_project: Callable[[], str]):
        self._table = db.table(table)
        self._storage = db.storage
        self._name = table
        self.kind = kind
        self._default_project = default_project

    def _rows(self) -> dict[str, dict]:
        # TinyDB's Table.all() wraps every row in a Document; reading the cached
        # table dict directly keeps listing 5,000 rows to a few milliseconds.
        return self._table._read_table()

    def add(self, record: dict) -> dict:
        row = copy_record(dict(record))
        row.setdefault("id", None)
        row["id"] = str(row["id"]) if row["id"] else new_id()
        if not row.get("created"):
            row["created"] = utc_now()
        check_serializable(self.kind, row)
        with LOCK:
            if row.get("project_id") is None:
                row["project_id"] = self._default_project()
            if row["id"] in self._rows():
                raise StoreError(f"a {self.kind} with id {row['id']} already exists")
            with self._storage.changing(self._name, [row["id"]]):
                self._table.insert(Document(row, doc_id=row["id"]))
        return copy_record(row)

    def get(self, record_id: str) -> dict | None:
        with LOCK:
            raw = self._rows().get(str(record_id))
            return copy_record(raw) if raw is not None else None

    def require(self, record_id: str) -> dict:
        row = self.get(record_id)
        if row is None:
            raise NotFoundError(f"no {self.kind} with id {record_id!r}")
        return row

    def list(self, project_id: str | None = None) -> list[dict]:
        """All records (of one project when given), newest first."""
        with LOCK:
            raws = list(self._rows().values())
        if project_id is not None:
            raws = [r for r in raws if r.get("project_id") == project_id]
        # Reversing insertion order first keeps the newest first among equal timestamps.
        raws.reverse()
        raws.sort(key=lambda r: r.get("created") or "", reverse=True)
        return [copy_record(r) for r in raws]

    def list_read_only(self, project_id: str | None = None) -> list[ReadOnlyRow]:
        """``list()`` for a caller that only reads: the same rows, newest first, as read-only copies
        made once per change and shared (no copy per call; see studio.store.read_only)."""
        with LOCK:
            rows = self._storage.read_only_rows(self._name, self._rows())
        if project_id is not None:
            rows = [r for r in rows if r.get("project_id") == project_id]
        rows.reverse()
        rows.sort(key=lambda r: r.get("created") or "", reverse=True)
        return rows

    def update(self, record_id: str, **fields) -> dict:
        if "id" in fields and fields["id"] != record_id:
            raise StoreError(f"the id of {self.kind} {record_id} cannot be changed")
        check_serializable(self.kind, fields)
        fields = copy_record(fields)
        with LOCK:
            if str(record_id) not in self._rows():
                raise NotFoundError(f"no {self.kind} with id {record_id!r}")
            with self._storage.changing(self._name, [str(record_id)]):
                self._table.update(fields, doc_ids=[str(record_id)])
            return copy_record(self._rows()[str(record_id)])

    def delete(self, record_id: str) -> None:
        with LOCK:
            if str(record_id) not in self._rows():
                raise NotFoundError(f"no {self.kind} with id {record_id!r}")
            with self._storage.changing(self._name, [str(record_id)]):
                self._table.remove(doc_ids=[str(record_id)])

    def find(self, **equals) -> list[dict]:
        """Records whose fields equal every given value, newest first."""
        with LOCK:
            raws = [r for r in self._rows().values()
                    if all(r.get(k) == v for k, v in equals.items())]
        raws.reverse()
        raws.sort(key=lambda r: r.get("created") or "", reverse=True)
        return [copy_record(r) for r in raws]

    def count(self, project_id: str | None = None) -> int:
        with LOCK:
            if project_id is None:
                return len(self._rows())
            return sum(1 for r in self._rows().values() if r.get("project_id") == project_id)
