"""Every store write is all or nothing: a write that fails leaves memory and db.json as they were.

The attacks: text UTF-8 cannot encode (a lone surrogate) slipped past every check, a full
disk (ENOSPC injected at the file write), and a change that fails half way through TinyDB's
in-place update. After each, the next write must work and the store must equal its file.
"""
from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest
from tinydb.table import Document

from studio.store import Store, StoreError
from studio.store import storage as storage_module
from studio.store.database import forget_database


def snapshot(store: Store) -> dict:
    return {"projects": store.projects.list(), "experiments": store.experiments.list(),
            "datasets": store.datasets.list(), "settings": store.settings.all()}


def assert_intact(store: Store, home: Path, before: dict, file_before: bytes) -> None:
    """Memory and disk exactly as before the failed write, and the store still takes writes."""
    assert snapshot(store) == before
    assert (home / "db.json").read_bytes() == file_before
    store.settings.set("after_failure", 1)
    disk = json.loads((home / "db.json").read_bytes().decode("utf-8"))  # strict UTF-8
    assert disk["settings"]["after_failure"] == {"value": 1}
    forget_database(home / "db.json")
    assert snapshot(Store(home)) == snapshot(store)


@pytest.fixture()
def seeded(studio_home):
    store = Store(studio_home)
    row = store.experiments.add({"name": "kept", "status": "Training", "cfg": {"lr": 0.1}})
    store.settings.set("theme", "dark")
    return store, row


def test_surrogate_that_slips_past_the_checks_fails_the_write_without_poisoning(seeded, studio_home):
    store, row = seeded
    before, file_before = snapshot(store), (studio_home / "db.json").read_bytes()
    table = store.experiments._table  # below the repo's checks: the storage must still hold
    with pytest.raises(StoreError, match="lone surrogate.*nothing|nothing was saved.*surrogate"):
        table.update({"name": "bad\ud800"}, doc_ids=[row["id"]])
    with pytest.raises(StoreError, match="nothing was saved"):
        table.insert(Document({"name": "x\udfff"}, doc_id="abcdefabcdef"))
    assert_intact(store, studio_home, before, file_before)


def test_repo_refuses_unstorable_text_naming_the_nested_field(seeded, studio_home):
    store, row = seeded
    before, file_before = snapshot(store), (studio_home / "db.json").read_bytes()
    with pytest.raises(StoreError, match=r"experiment field cfg\.paths\[1\]: contains a lone surrogate"):
        store.experiments.update(row["id"], cfg={"paths": ["a.csv", "b\udc80.csv"]})
    with pytest.raises(StoreError, match="setting field judge_base_url"):
        store.settings.set("judge_base_url", "http://h\ud800/v1")
    with pytest.raises(StoreError, match="field name"):
        store.datasets.add({"name": "d", "bad\ud800key": 1})
    assert_intact(store, studio_home, before, file_before)


def test_disk_full_at_the_write_is_reported_and_rolled_back(seeded, studio_home, monkeypatch):
    store, row = seeded
    before, file_before = snapshot(store), (studio_home / "db.json").read_bytes()

    def full_disk(path, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(storage_module, "write_atomic", full_disk)
    with pytest.raises(StoreError, match="No space left on device"):
        store.experiments.update(row["id"], status="Completed")
    with pytest.raises(StoreError, match="No space left on device"):
        store.projects.create("New project")
    with pytest.raises(StoreError, match="No space left on device"):
        store.settings.set("theme", "light")
    assert store.experiments.get(row["id"])["status"] == "Training"  # not the unsaved change
    monkeypatch.undo()
    assert_intact(store, studio_home, before, file_before)


def test_change_that_fails_half_way_through_the_update_is_undone(seeded, studio_home):
    store, row = seeded
    before, file_before = snapshot(store), (studio_home / "db.json").read_bytes()

    def change_then_fail(doc):
        doc["status"] = "Completed"  # TinyDB lets this land in the cached row in place
        raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError, match="interrupted"):
        store.experiments._table.update(change_then_fail, doc_ids=[row["id"]])
    assert_intact(store, studio_home, before, file_before)


def test_interrupt_during_the_write_leaves_no_unsaved_change(seeded, studio_home, monkeypatch):
    store, row = seeded
    before, file_before = snapshot(store), (studio_home / "db.json").read_bytes()

    def interrupted(path, data):
        raise KeyboardInterrupt

    monkeypatch.setattr(storage_module, "write_atomic", interrupted)
    with pytest.raises(KeyboardInterrupt):
        store.experiments.update(row["id"], status="Failed")
    monkeypatch.undo()
    assert_intact(store, studio_home, before, file_before)
