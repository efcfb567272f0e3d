"""Download links expire and are private to their request (issue 9, item 13): the service side."""
from __future__ import annotations

import time
import zipfile

import pytest

from studio.config.downloads import DOWNLOAD_LINK_TTL_SETTING
from studio.runner.supervisor import Supervisor
from studio.services.downloads import FOLDER_PREFIX, ExpiringDownloads
from studio.services.experiments import ExperimentService
from studio.store import NotFoundError, Store


@pytest.fixture()
def service(studio_home):
    store = Store(studio_home)
    service = ExperimentService(store, Supervisor(store, studio_home, gpus=[]), studio_home)
    row = store.experiments.add({"name": "done", "status": "Completed"})
    run = service.run_dir(row["id"])
    run.mkdir(parents=True)
    (run / "config.yaml").write_text("experiment_name: done\n")
    (run / "train.log").write_text("loss 1.0\n")
    return service, row["id"]


def test_each_request_gets_its_own_folder_outside_studio_home_that_expires(service, tmp_path):
    service, experiment_id = service
    served_from = tmp_path / "web-cache"
    service.store.settings.set(DOWNLOAD_LINK_TTL_SETTING, 1.0)
    first = service.download(experiment_id, "logs", served_from)
    second = service.download(experiment_id, "logs", served_from)
    assert first != second and first.parent != second.parent
    assert first.parent.parent == served_from and first.parent.name.startswith(FOLDER_PREFIX)
    assert len(first.parent.name.rsplit("-", 1)[1]) == 32  # 128 random bits: not guessable
    assert not (service.home / "exports").exists()  # nothing left at a fixed, guessable path
    with zipfile.ZipFile(first) as archive:
        assert f"{experiment_id}/train.log" in archive.namelist()
    deadline = time.time() + 10
    while (first.exists() or second.exists()) and time.time() < deadline:
        time.sleep(0.1)
    assert not first.parent.exists() and not second.parent.exists()  # the timer removed both


def test_sweep_removes_folders_an_earlier_app_left_and_keeps_live_ones(tmp_path):
    downloads = ExpiringDownloads(tmp_path, ttl_s=600)
    stale = tmp_path / f"{FOLDER_PREFIX}{time.time() - 5:.3f}-{'0' * 32}"
    stale.mkdir()
    (stale / "x-logs.zip").write_bytes(b"old")
    live = downloads.new_folder()  # sweeps first
    assert not stale.exists() and live.exists()
    other = tmp_path / "someone-else"
    other.mkdir()
    assert downloads.sweep(now=time.time() + 601) == [live]
    assert other.exists()


def test_a_failed_archive_leaves_no_folder(service, tmp_path):
    service, _ = service
    with pytest.raises(NotFoundError):
        service.download("no-such-id", "logs", tmp_path)
    assert not any(tmp_path.glob(FOLDER_PREFIX + "*"))
