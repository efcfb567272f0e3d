"""``list_read_only``: the rows of ``list()``, copied once per change, which no reader can corrupt."""
from __future__ import annotations

import copy
import errno
import json
import pickle

import pytest

from studio.store import Store, StoreError
from studio.store import storage as storage_module
from studio.store.database import forget_database


@pytest.fixture()
def store(studio_home):
    store = Store(studio_home)
    store.experiments.add({"name": "old", "created": "2026-01-01T00:00:00+00:00", "cfg": {"lr": 0.1, "tags": ["a"]}})
    store.experiments.add({"name": "new", "created": "2026-02-01T00:00:00+00:00", "cfg": {"lr": 0.2, "tags": []}})
    return store


def test_it_lists_what_list_lists_in_the_same_order(store):
    other = store.projects.create("Other")
    store.experiments.add({"name": "elsewhere", "project_id": other["id"]})
    assert store.experiments.list_read_only() == store.experiments.list()
    default = store.projects.default_id()
    assert store.experiments.list_read_only(default) == store.experiments.list(default)
    assert [r["name"] for r in store.experiments.list_read_only(other["id"])] == ["elsewhere"]


def test_no_reader_can_change_a_row_or_what_is_nested_in_it(store):
    row = store.experiments.list_read_only()[0]
    attempts = [lambda: row.__setitem__("name", "x"), lambda: row.update(name="x"), lambda: row.pop("name"),
                lambda: row.setdefault("extra", 1), lambda: row.clear(), lambda: row["cfg"].__setitem__("lr", 9),
                lambda: row["cfg"]["tags"].append("b"), lambda: row["cfg"]["tags"].__setitem__(0, "z")]
    for attempt in attempts:
        with pytest.raises(TypeError, match="read-only"):
            attempt()
    assert store.experiments.get(row["id"]) == {**row, "cfg": {"lr": 0.2, "tags": []}}
    assert store.experiments.list_read_only()[0]["name"] == "new"


def test_its_copies_are_plain_data_a_caller_may_change(store):
    row = store.experiments.list_read_only()[1]
    for changeable in (copy.deepcopy(row), pickle.loads(pickle.dumps(row)), json.loads(json.dumps(row))):
        changeable["cfg"]["tags"].append("b")
        changeable["name"] = "changed"
    shallow = dict(row)
    shallow["name"] = "changed"
    assert store.experiments.list_read_only()[1]["name"] == "old"
    assert store.experiments.list_read_only()[1]["cfg"]["tags"] == ["a"]


def test_unchanged_rows_are_shared_and_a_changed_row_is_copied_again(store):
    first = store.experiments.list_read_only()
    second = store.experiments.list_read_only()
    assert all(a is b for a, b in zip(first, second))  # no copy per read
    store.experiments.update(first[0]["id"], name="renamed")
    third = store.experiments.list_read_only()
    assert third[0]["name"] == "renamed" and third[0] is not first[0]
    assert third[1] is first[1]  # the untouched row is still the same copy
    assert first[0]["name"] == "new"  # a reader's earlier copy never changes under it


def test_added_and_deleted_rows_show_at_once(store):
    added = store.experiments.add({"name": "newest"})
    assert store.experiments.list_read_only()[0]["id"] == added["id"]
    store.experiments.delete(added["id"])
    assert [r["name"] for r in store.experiments.list_read_only()] == ["new", "old"]


def test_a_write_that_fails_leaves_no_unsaved_value_in_the_read_only_rows(store, studio_home, monkeypatch):
    target = store.experiments.list_read_only()[0]

    def full_disk(path, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(storage_module, "write_atomic", full_disk)
    with pytest.raises(StoreError):
        store.experiments.update(target["id"], name="unsaved")
    monkeypatch.undo()
    assert store.experiments.list_read_only()[0]["name"] == "new"


def test_a_change_made_to_the_file_behind_the_store_shows(store, studio_home):
    store.experiments.list_read_only()
    data = json.loads((studio_home / "db.json").read_text())
    for row in data["experiments"].values():
        row["name"] = "edited by hand"
    (studio_home / "db.json").write_text(json.dumps(data) + " ")  # another size: the store re-reads it
    assert {r["name"] for r in store.experiments.list_read_only()} == {"edited by hand"}
    forget_database(studio_home / "db.json")
