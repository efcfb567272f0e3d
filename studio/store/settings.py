"""App settings (key → JSON value) in db.json; secrets are refused here and kept in secrets.json."""
from __future__ import annotations

import re
from typing import Any

from tinydb import TinyDB
from tinydb.table import Document

from .database import LOCK
from .errors import StoreError
from .records import check_serializable, copy_record

_SECRET_KEY = re.compile(r"(^|[_\-.])(token|key|secret|password|passwd|api_key|apikey)$", re.IGNORECASE)
# Values that are recognisably credentials whatever key they are filed under.
_SECRET_VALUE = re.compile(r"^(hf_[A-Za-z0-9]{20,}|sk-[A-Za-z0-9_\-]{20,}|ghp_[A-Za-z0-9]{20,})$")


def looks_like_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key)) or key.lower() in {"hf_token", "api_key", "token", "secret"}


class SettingsRepo:
    def __init__(self, db: TinyDB):
        self._table = db.table("settings")
        self._storage = db.storage

    def get(self, key: str, default: Any = None) -> Any:
        with LOCK:
            raw = self._table._read_table().get(key)
            if raw is None:
                return default
            return copy_record(raw)["value"]

    def set(self, key: str, value: Any) -> None:
        if not isinstance(key, str) or not key.strip():
            raise StoreError("a setting needs a non-empty text key")
        if looks_like_secret_key(key) or (isinstance(value, str) and _SECRET_VALUE.match(value.strip())):
            raise StoreError(
                f"setting {key!r} looks like a secret; secrets are never written to db.json. "
                f"Use store.secrets.set({key!r}, ...) which keeps it in secrets.json (mode 0600)."
            )
        check_serializable("setting", {key: value})
        with LOCK:
            stored = {"value": copy_record({"v": value})["v"]}
            with self._storage.changing("settings", [key]):
                if key in self._table._read_table():
                    self._table.update(stored, doc_ids=[key])
                else:
                    self._table.insert(Document(stored, doc_id=key))

    def delete(self, key: str) -> None:
        with LOCK:
            if key in self._table._read_table():
                with self._storage.changing("settings", [key]):
                    self._table.remove(doc_ids=[key])

    def all(self) -> dict[str, Any]:
        with LOCK:
            return {k: copy_record(v)["value"] for k, v in self._table._read_table().items()}
