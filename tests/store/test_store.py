"""The Studio database: records, projects, settings, durability and concurrency."""
from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest

from studio.store import DuplicateNameError, NotFoundError, Store, StoreError
from studio.store.database import forget_database


def reopen(home: Path) -> Store:
    """A fresh Store as after an app restart (no shared in-memory cache)."""
    forget_database(home / "db.json")
    return Store(home)


def test_default_project_exists_and_survives_rename(studio_home):
    store = Store()
    default = store.projects.default()
    assert default["name"] == "Default"
    store.projects.rename(default["id"], "Main")
    again = reopen(studio_home)
    assert again.projects.default()["id"] == default["id"]
    assert [p["name"] for p in again.projects.list()] == ["Main"]


def test_project_names_are_unique_case_insensitively(studio_home):
    store = Store()
    created = store.projects.create("Vision")
    with pytest.raises(DuplicateNameError, match="already exists"):
        store.projects.create("vision")
    other = store.projects.create("Text")
    with pytest.raises(DuplicateNameError):
        store.projects.rename(other["id"], "VISION")
    assert store.projects.get(created["id"])["name"] == "Vision"
    with pytest.raises(NotFoundError):
        store.projects.rename("nope", "X")


def test_records_get_ids_timestamps_and_default_project(studio_home):
    store = Store()
    row = store.experiments.add({"name": "exp-1", "config_overrides": {"training": {"epochs": 1}}})
    assert len(row["id"]) == 12 and int(row["id"], 16) >= 0
    assert row["created"].endswith("+00:00")
    assert row["project_id"] == store.projects.default()["id"]
    assert store.experiments.get(row["id"]) == row
    assert store.experiments.get("missing") is None


def test_list_is_newest_first_and_filters_by_project(studio_home):
    store = Store()
    other = store.projects.create("Other")
    a = store.experiments.add({"name": "a"})
    b = store.experiments.add({"name": "b", "project_id": other["id"]})
    c = store.experiments.add({"name": "c"})
    assert [r["name"] for r in store.experiments.list()] == ["c", "b", "a"]
    assert [r["id"] for r in store.experiments.list(other["id"])] == [b["id"]]
    assert {r["id"] for r in store.experiments.list(a["project_id"])} == {a["id"], c["id"]}


def test_update_delete_find(studio_home):
    store = Store()
    row = store.experiments.add({"name": "e", "status": "Queued", "dataset_id": "d1"})
    store.experiments.add({"name": "f", "status": "Queued", "dataset_id": "d2"})
    updated = store.experiments.update(row["id"], status="Completed", best_metric={"name": "BLEU", "value": 3.0})
    assert updated["status"] == "Completed" and updated["best_metric"]["value"] == 3.0
    assert [r["name"] for r in store.experiments.find(status="Queued")] == ["f"]
    assert [r["name"] for r in store.experiments.find(dataset_id="d1", status="Completed")] == ["e"]
    store.experiments.delete(row["id"])
    assert store.experiments.get(row["id"]) is None
    with pytest.raises(NotFoundError, match=row["id"]):
        store.experiments.update(row["id"], status="Failed")
    with pytest.raises(NotFoundError):
        store.experiments.delete(row["id"])
    with pytest.raises(StoreError, match="id"):
        store.experiments.update(store.experiments.list()[0]["id"], id="other")


def test_returned_rows_are_copies_that_cannot_change_the_database(studio_home):
    store = Store()
    row = store.experiments.add({"name": "e", "best_metric": {"name": "BLEU", "value": 1.0}})
    listed = store.experiments.list()[0]
    listed["best_metric"]["value"] = 99.0
    listed["name"] = "changed"
    fresh = store.experiments.get(row["id"])
    assert fresh["best_metric"]["value"] == 1.0 and fresh["name"] == "e"


def test_non_json_values_are_refused_with_the_field_name(studio_home):
    store = Store()
    with pytest.raises(StoreError, match="'path'"):
        store.datasets.add({"name": "d", "path": Path("/x")})
    assert store.datasets.list() == []


def test_changes_reach_disk_and_survive_a_restart(studio_home):
    store = Store()
    row = store.deployments.add({"name": "dep", "port": 8000})
    store.deployments.update(row["id"], port=8001)
    store.settings.set("max_concurrent_runs", 2)
    on_disk = json.loads((studio_home / "db.json").read_text())
    assert on_disk["deployments"][row["id"]]["port"] == 8001
    again = reopen(studio_home)
    assert again.deployments.get(row["id"])["port"] == 8001
    assert again.settings.get("max_concurrent_runs") == 2
    assert again.settings.get("missing", "x") == "x"
    assert again.settings.all() == {"max_concurrent_runs": 2}


def test_file_written_after_row_updates_equals_full_encoding(studio_home):
    """Updates re-encode only the changed row; the file must still be the exact database."""
    store = Store()
    ids = [store.experiments.add({"name": f"e{i}", "progress": 0.0})["id"] for i in range(20)]
    store.datasets.add({"name": "d"})
    store.experiments.update(ids[3], progress=0.5, stage="epoch 1/2")
    store.experiments.delete(ids[7])
    store.settings.set("theme", "dark")
    store.projects.create("P2")
    store.experiments.add({"name": "late"})
    on_disk = json.loads((studio_home / "db.json").read_text())
    again = reopen(studio_home)
    assert on_disk["experiments"][ids[3]]["stage"] == "epoch 1/2"
    assert ids[7] not in on_disk["experiments"]
    assert len(again.experiments.list()) == 20
    assert again.settings.get("theme") == "dark"
    assert [p["name"] for p in again.projects.list()] == ["Default", "P2"]


def test_previous_good_file_is_kept_as_backup(studio_home):
    store = Store()
    store.experiments.add({"name": "first"})
    store.experiments.add({"name": "second"})
    backup = json.loads((studio_home / "db.json.bak").read_text())
    assert [r["name"] for r in backup["experiments"].values()] == ["first"]
    assert not list(studio_home.glob("*.tmp")) and not list(studio_home.glob(".db.json.*"))


def test_truncated_database_raises_and_keeps_backup(studio_home):
    store = Store()
    for i in range(3):
        store.experiments.add({"name": f"e{i}"})
    db = studio_home / "db.json"
    backup_before = (studio_home / "db.json.bak").read_bytes()
    db.write_bytes(db.read_bytes()[: db.stat().st_size // 2])  # a half-written file
    with pytest.raises(StoreError) as err:
        reopen(studio_home)
    message = str(err.value)
    assert str(db) in message and "db.json.bak" in message and "line 1" in message
    assert (studio_home / "db.json.bak").read_bytes() == backup_before
    assert len(db.read_bytes()) < len(backup_before) + 200  # not reset, not rewritten


def test_corruption_under_a_running_store_is_reported_not_reset(studio_home):
    store = Store()
    store.experiments.add({"name": "e"})
    (studio_home / "db.json").write_text("{not json")
    with pytest.raises(StoreError, match="corrupt"):
        store.experiments.list()
    assert (studio_home / "db.json").read_text() == "{not json"


def test_corrupt_database_without_backup_says_how_to_start_over(studio_home):
    (studio_home / "db.json").write_text("[1, 2")
    with pytest.raises(StoreError, match="no backup"):
        reopen(studio_home)


def test_missing_database_with_backup_is_not_silently_recreated(studio_home):
    store = Store()
    store.experiments.add({"name": "a"})
    store.experiments.add({"name": "b"})
    (studio_home / "db.json").unlink()
    with pytest.raises(StoreError, match="missing"):
        reopen(studio_home)


def test_two_store_objects_share_writes(studio_home):
    first, second = Store(), Store()
    row = first.experiments.add({"name": "shared"})
    assert second.experiments.get(row["id"])["name"] == "shared"


def test_threads_writing_at_once_lose_nothing(studio_home):
    store = Store()
    target = store.experiments.add({"name": "counter", "count": 0})
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(15):
                store.experiments.add({"name": f"w{worker}-{i}"})
                with store.lock:  # read-modify-write must hold the writer lock
                    current = store.experiments.get(target["id"])["count"]
                    store.experiments.update(target["id"], count=current + 1)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    again = reopen(studio_home)
    assert again.experiments.count() == 1 + 6 * 15
    assert again.experiments.get(target["id"])["count"] == 6 * 15


@pytest.mark.parametrize("key", ["hf_token", "api_key", "openai_api_key", "judge_token", "HF_TOKEN", "password"])
def test_settings_refuse_secret_looking_keys(studio_home, key):
    store = Store()
    with pytest.raises(StoreError, match="secrets"):
        store.settings.set(key, "value-1234")


def test_settings_refuse_values_that_are_tokens(studio_home):
    store = Store()
    with pytest.raises(StoreError, match="secret"):
        store.settings.set("hub_auth", "hf_" + "a" * 30)
    store.settings.set("max_new_tokens", 256)  # plural "tokens" is a number, not a secret
    assert store.settings.get("max_new_tokens") == 256


def test_secrets_live_only_in_a_private_file(studio_home):
    store = Store()
    token = "hf_abcdefghijklmnopqrstuvwxyz1234"
    store.secrets.set("hf_token", token)
    store.experiments.add({"name": "e"})
    store.settings.set("judge_model", "gpt-4o")
    secrets_file = studio_home / "secrets.json"
    assert stat.S_IMODE(os.stat(secrets_file).st_mode) == 0o600
    assert token not in (studio_home / "db.json").read_text()
    assert json.loads(secrets_file.read_text()) == {"hf_token": token}
    assert reopen(studio_home).secrets.get("hf_token") == token
    assert store.secrets.masked("hf_token") == "hf_…1234"
    assert store.secrets.masked("absent") is None
    store.secrets.delete("hf_token")
    assert store.secrets.get("hf_token") is None
    assert token not in secrets_file.read_text()
