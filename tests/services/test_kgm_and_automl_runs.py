"""Ask KGM's Proceed creates real linked, queued experiments (AutoML studies: tests/services/test_studies.py).

A real store, ExperimentService and runner queue (the runner thread is not started, so nothing
trains); finished runs are simulated by writing their run folder and row the way the runner does.
"""
from __future__ import annotations

import json

import pytest
import yaml

from studio.config import ConfigError
from studio.runner.supervisor import Supervisor
from studio.services import kgm
from studio.services.experiments import ExperimentService
from studio.store import Store


@pytest.fixture()
def service(studio_home):
    store = Store(studio_home)
    return ExperimentService(store, Supervisor(store, studio_home, gpus=[]), studio_home)


@pytest.fixture()
def dataset(service):
    return service.store.datasets.add({"name": "toy", "rows": 10})


def finish(service, row, losses=(), final=None, status="Completed", error=None):
    """Make a queued experiment look finished: metrics.jsonl, final metrics and the row fields."""
    run_dir = service.run_dir(row["id"])
    with open(run_dir / "metrics.jsonl", "w") as handle:
        for step, (split, value) in enumerate(losses):
            handle.write(json.dumps({"step": step, "epoch": step / 10, "time": 0.0, "split": split,
                                     "name": "loss", "value": value}) + "\n")
    service.supervisor.stop(row["id"])  # off the queue, as a finished run would be
    return service.store.experiments.update(row["id"], status=status, error=error, final_metrics=final)


def test_kgm_proceed_queues_the_suggested_experiment_linked_to_its_source(service, dataset):
    source = service.create({"experiment_name": "flat", "dataset": {"train_dataset_id": dataset["id"]},
                             "training": {"learning_rate": 0.0001}})
    # A loss that barely moves: KGM raises the learning rate.
    finish(service, source, losses=[("train", 2.0), ("train", 1.999), ("train", 1.998), ("train", 1.998),
                                    ("train", 1.997), ("train", 1.997)])
    suggestion = kgm.ask(service, source["id"])
    assert suggestion.overrides == {"training": {"learning_rate": 0.0003}}
    assert "learning rate" in suggestion.title.lower()
    assert yaml.safe_load(kgm.overrides_yaml(suggestion)) == {"training": {"learning_rate": 0.0003}}

    created = kgm.proceed(service, source["id"], kgm.as_state(suggestion))
    assert (created["connected_to"], created["connection"], created["status"]) == (source["id"], "kgm", "Queued")
    assert created["name"] == "flat-kgm"
    assert created["id"] in service.supervisor.queued_ids()
    written = yaml.safe_load((service.run_dir(created["id"]) / "config.yaml").read_text())
    assert written["training"]["learning_rate"] == 0.0003
    assert written["dataset"]["train_dataset_id"] == dataset["id"]
    assert {r["id"] for r in service.connected(created["id"])} == {source["id"], created["id"]}


def test_kgm_reads_the_failure_reason_of_a_failed_run(service, dataset):
    source = service.create({"dataset": {"train_dataset_id": dataset["id"]}, "training": {"batch_size": 8}})
    finish(service, source, status="Failed", error="CUDA out of memory. Tried to allocate 2.00 GiB")
    suggestion = kgm.ask(service, source["id"])
    assert suggestion.overrides["training"]["batch_size"] == 4
    created = kgm.proceed(service, source["id"], suggestion)
    assert service.config_of(created).training.batch_size == 4


def test_kgm_proceed_reports_a_deleted_dataset_and_creates_nothing(service, dataset):
    source = service.create({"dataset": {"train_dataset_id": dataset["id"]}})
    finish(service, source)
    suggestion = kgm.ask(service, source["id"])
    service.store.datasets.delete(dataset["id"])
    with pytest.raises(ConfigError, match="dataset.train_dataset_id"):
        kgm.proceed(service, source["id"], suggestion)
    assert [r["id"] for r in service.store.experiments.list()] == [source["id"]]


def test_kgm_on_a_run_whose_model_could_not_be_loaded_proposes_a_registered_model_that_loads(
        service, dataset, studio_home, tiny_llama_dir, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the Hub default model can be neither fetched nor found
    monkeypatch.setenv("HF_HUB_CACHE", str(studio_home / "empty-hf-cache"))
    (studio_home / "models.yaml").write_text(f"models:\n  - {{id: '{tiny_llama_dir}', family: Local}}\n")
    source = service.create({"experiment_name": "offline", "dataset": {"train_dataset_id": dataset["id"]}})
    finish(service, source, losses=[("train", 2.0), ("train", 1.5), ("train", 1.2), ("train", 1.2)],
           status="Failed", error="llm_backbone: cannot load 'h2oai/h2o-danube3-500m-chat': We couldn't "
                                  "connect to 'https://huggingface.co' to load the files")
    suggestion = kgm.ask(service, source["id"])
    assert suggestion.overrides == {"llm_backbone": str(tiny_llama_dir)}
    assert "converged" not in suggestion.explanation
    created = kgm.proceed(service, source["id"], kgm.as_state(suggestion))
    assert created["backbone"] == str(tiny_llama_dir) and created["connection"] == "kgm"
