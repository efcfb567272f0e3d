"""One TinyDB per database file in this process, and the one lock every access takes.

Sharing the instance matters: two ``Store()`` objects on the same STUDIO_HOME must see
each other's writes at once, which separate in-memory caches would not.
"""
from __future__ import annotations

import threading
from pathlib import Path

from tinydb import TinyDB
from tinydb.table import Table

from .storage import AtomicJSONStorage

# The single writer lock of the process. Reads take it too: TinyDB changes cached
# documents in place while writing, so an unlocked reader could see a half update.
LOCK = threading.RLock()

_open: dict[Path, TinyDB] = {}


class HexIdTable(Table):
    """Documents keyed by our 12-hex record ids (or setting keys) instead of TinyDB's ints."""

    document_id_class = str

    def _update_table(self, updater) -> None:
        # All or nothing: TinyDB changes the cached rows in place before it writes, so a
        # change that fails part way (in the updater or in the write) must not stay in
        # memory, where every later write would carry it to disk or fail on it again.
        try:
            super()._update_table(updater)
        except BaseException:
            self._storage.discard_unsaved()
            raise
        finally:
            self.clear_cache()


class StudioTinyDB(TinyDB):
    table_class = HexIdTable


def database_for(path: Path) -> TinyDB:
    path = path.resolve()
    with LOCK:
        db = _open.get(path)
        if db is None:
            storage = AtomicJSONStorage(path)
            db = StudioTinyDB(storage=lambda: storage)
            _open[path] = db
        return db


def forget_database(path: Path) -> None:
    """Drop the shared instance (tests that simulate a restart of the app)."""
    with LOCK:
        _open.pop(path.resolve(), None)
