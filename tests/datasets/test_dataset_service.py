"""The Datasets page's one door: DatasetService imports, shows and deletes, all or nothing."""
from __future__ import annotations

import errno

import pytest

from studio.config.data_bounds import ImportLimits
from studio.datasets import DatasetError
from studio.services.datasets import DatasetService
from studio.store import Store


@pytest.fixture()
def service(studio_home, tmp_path):
    return DatasetService(Store(studio_home), studio_home)


def upload(tmp_path, name: str, data: bytes):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def nothing_stored(service) -> bool:
    folder = service.home / "datasets"
    return service.store.datasets.list() == [] and (not folder.exists() or not any(folder.iterdir()))


def test_an_upload_imports_under_its_file_name_and_shows_its_preview(service, tmp_path):
    project = service.store.projects.default_id()
    row = service.import_upload(upload(tmp_path, "greetings.csv", b"input,output\nhi,there\n"), "greetings.csv",
                                "  ", project)
    assert row["name"] == "greetings" and [d["id"] for d in service.list(project)] == [row["id"]]
    frame, profile = service.show(row["id"], 5)
    assert frame.to_dict("records") == [{"input": "hi", "output": "there"}] and profile["rows"] == 1


def test_an_upload_over_the_size_limit_is_refused_before_it_is_read(studio_home, tmp_path):
    service = DatasetService(Store(studio_home), studio_home, ImportLimits(max_upload_bytes=10))
    with pytest.raises(DatasetError, match="more than the 10 bytes an upload may have"):
        service.import_upload(upload(tmp_path, "d.csv", b"input,output\nhi,there\n"), "d.csv", "d",
                              service.store.projects.default_id())
    assert nothing_stored(service)


def test_a_full_disk_while_saving_is_a_clean_error_that_leaves_nothing(service, tmp_path, monkeypatch):
    from studio.datasets import importer

    def full_disk(*_args, **_kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(importer, "write_table", full_disk)
    with pytest.raises(DatasetError, match="could not be saved \\(No space left on device\\); nothing was stored"):
        service.import_upload(upload(tmp_path, "d.csv", b"a,b\n1,2\n"), "d.csv", "d",
                              service.store.projects.default_id())
    assert nothing_stored(service)


def test_a_dataset_in_use_cannot_be_deleted_and_an_unused_one_goes_with_its_folder(service, tmp_path):
    project = service.store.projects.default_id()
    used = service.import_upload(upload(tmp_path, "a.csv", b"input,output\nhi,there\n"), "a.csv", "a", project)
    free = service.import_upload(upload(tmp_path, "b.csv", b"input,output\nhi,there\n"), "b.csv", "b", project)
    service.store.experiments.add({"name": "uses a", "project_id": project, "dataset_id": used["id"]})
    assert [e["name"] for e in service.users(used["id"])] == ["uses a"]
    with pytest.raises(DatasetError, match="is used by 1 experiment"):
        service.delete(used["id"])
    service.delete(free["id"])
    assert service.get(free["id"]) is None and not (service.home / "datasets" / free["id"]).exists()
    assert service.get(used["id"]) is not None
