"""Owners and roles through the services: a member changes only what they created, an admin everything."""
from __future__ import annotations

import pytest

from studio.runner.supervisor import Supervisor
from studio.services.access_policy import AccessDenied, Actor
from studio.services.app_settings import save_credentials, save_settings
from studio.services.datasets import DatasetService
from studio.services.experiments import ExperimentService
from studio.services.push import HF_TOKEN_SECRET, PushError, push_experiment
from studio.store import Store

ANN, BEN, ADMIN = Actor("ann", "member"), Actor("ben", "member"), Actor("root", "admin")
DEMO_CSV = "instruction,output\n" + "".join(f"question {i},answer {i}\n" for i in range(8))


@pytest.fixture()
def service(studio_home):
    store = Store(studio_home)
    return ExperimentService(store, Supervisor(store, studio_home, gpus=[]), studio_home)


@pytest.fixture()
def dataset(service):
    return service.store.datasets.add({"name": "qa", "rows": 10})


def experiment_of(service, dataset, actor):
    return service.create({"dataset": {"train_dataset_id": dataset["id"]}}, actor=actor)


def test_a_member_cannot_delete_another_members_experiment_and_nothing_is_deleted(service, dataset):
    anns, bens = experiment_of(service, dataset, ANN), experiment_of(service, dataset, BEN)
    assert (anns["owner"], bens["owner"]) == ("ann", "ben")
    with pytest.raises(AccessDenied, match=r"only its owner \(ann\) or an admin"):
        service.delete([anns["id"]], actor=BEN)
    with pytest.raises(AccessDenied, match="Nothing was changed"):
        service.delete([bens["id"], anns["id"]], actor=BEN)  # all or none
    assert {r["id"] for r in service.store.experiments.list()} == {anns["id"], bens["id"]}
    assert service.run_dir(anns["id"]).is_dir()
    with pytest.raises(AccessDenied):
        service.stop(anns["id"], actor=BEN)
    assert service.supervisor.queued_ids() == [anns["id"], bens["id"]]

    assert service.delete([bens["id"]], actor=BEN) == 1
    assert service.delete([anns["id"]], actor=ADMIN) == 1
    assert service.store.experiments.list() == []


def test_a_rerun_belongs_to_who_asked_and_unowned_rows_only_to_admins(service, dataset):
    anns = experiment_of(service, dataset, ANN)
    assert service.rerun(anns["id"], actor=BEN)["owner"] == "ben"
    legacy = service.create({"dataset": {"train_dataset_id": dataset["id"]}})  # single-user: no owner
    assert "owner" not in legacy
    with pytest.raises(AccessDenied, match="only an admin may"):
        service.delete([legacy["id"]], actor=ANN)
    assert service.delete([legacy["id"]], actor=ADMIN) == 1


def test_datasets_record_their_owner_and_only_it_deletes_them(studio_home, tmp_path):
    upload = tmp_path / "qa.csv"
    upload.write_text(DEMO_CSV)
    datasets = DatasetService(Store(studio_home), studio_home)
    row = datasets.import_upload(upload, "qa.csv", "qa", None, actor=ANN)
    assert row["owner"] == "ann"
    with pytest.raises(AccessDenied):
        datasets.delete(row["id"], actor=BEN)
    assert datasets.get(row["id"]) is not None and not datasets.may_delete(row["id"], BEN)
    datasets.delete(row["id"], actor=ANN)
    assert datasets.get(row["id"]) is None


def test_members_change_only_their_own_credentials_and_admins_the_shared_settings(studio_home):
    store = Store(studio_home)
    with pytest.raises(AccessDenied, match="Only an admin"):
        save_settings(store, price=9, max_concurrent=None, actor=ANN)
    assert store.settings.get("price_per_gpu_hour") is None
    save_credentials(store, ANN, hf_token="hf_annsTokenValue0000000001")
    save_credentials(store, BEN, hf_token="hf_bensTokenValue0000000002")
    assert store.secrets.get(HF_TOKEN_SECRET) is None  # the shared key stays empty
    assert "hf_anns" not in (studio_home / "db.json").read_text()
    assert save_settings(store, price=2, max_concurrent=None, actor=ADMIN).startswith("Saved")


def test_a_member_cannot_push_another_members_experiment(service, dataset, monkeypatch):
    monkeypatch.delenv("HF_TOKEN", raising=False)
    anns = experiment_of(service, dataset, ANN)
    with pytest.raises(PushError, match=r"cannot push experiment .*only its owner \(ann\)"):
        push_experiment(service.store, anns["id"], "ben/model", token="hf_bensTokenValue0000000002", actor=BEN)


def test_a_study_and_its_trials_belong_to_who_created_it(service, dataset):
    from studio.services.studies import StudyService
    from studio.services.study_driver import StudyDriver

    studies = StudyService(service.store, service, service.home)
    base = {"experiment_name": "base", "prediction": {"metrics": ["BLEU"]},
            "dataset": {"train_dataset_id": dataset["id"]}}
    study = studies.create(base, {"max_trials": 2, "concurrent_trials": 2, "search": {"learning_rate": [1e-4, 1e-3]}},
                           actor=ANN)
    assert study["owner"] == "ann"
    StudyDriver(studies, service.supervisor).tick()
    trials = [service.store.experiments.get(t.experiment_id) for t in studies.trials(study["id"])]
    assert trials and {t["owner"] for t in trials} == {"ann"}
    with pytest.raises(AccessDenied, match=r"cannot stop study .*only its owner \(ann\)"):
        studies.stop(study["id"], actor=BEN)
    assert studies.stop(study["id"], actor=ADMIN)["status"] == "Stopped"
