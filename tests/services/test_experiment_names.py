"""Experiment names follow the dataset/project rule (issue 9, item 8): at most 100 characters, plain text."""
from __future__ import annotations

import pytest
import yaml

from studio.config import ConfigError
from studio.runner.supervisor import Supervisor
from studio.services.experiments import ExperimentService
from studio.store import Store
from studio.store.names import MAX_NAME_LENGTH


@pytest.fixture()
def service(studio_home):
    store = Store(studio_home)
    return ExperimentService(store, Supervisor(store, studio_home, gpus=[]), studio_home)


def config(name: str, **extra) -> dict:
    return {"experiment_name": name, "llm_backbone": "m", "dataset": {"train_dataframe": "a.csv"}, **extra}


@pytest.mark.parametrize("name, message", [
    ("x" * 101, "experiment_name: can have at most 100 characters (this one has 101)"),
    ("x" * 100_000, "experiment_name: can have at most 100 characters"),
    ("nul\x00name", "experiment_name: character 4 is the control character U+0000"),
    ("tab\there", "experiment_name: character 4 is the control character U+0009"),
    ("\u202eevil", "experiment_name: character 1 is the control character U+202E"),
    ("bad\ud800", "experiment_name: contains a lone surrogate"),
])
def test_bad_names_are_refused_with_the_field_named_and_nothing_stored(service, name, message):
    with pytest.raises(ConfigError) as caught:
        service.create(config(name, training={"epochs": 0}))
    assert any(error.startswith(message) for error in caught.value.errors)
    assert any(error.startswith("training.epochs") for error in caught.value.errors) or "surrogate" in message
    assert service.store.experiments.list() == []


def test_names_made_from_a_full_length_name_stay_within_the_limit(service):
    row = service.create(config("n" * MAX_NAME_LENGTH))
    rerun = service.rerun(row["id"])
    assert len(rerun["name"]) == MAX_NAME_LENGTH and rerun["name"].endswith("-rerun")
    copied = yaml.safe_load(service.copy_yaml(row["id"]))["experiment_name"]
    assert len(copied) == MAX_NAME_LENGTH and copied.endswith("-copy")
    generated = service.create(config("", llm_backbone="org/" + "b" * 200))
    assert len(generated["name"]) <= MAX_NAME_LENGTH


def test_a_copy_of_settings_that_no_longer_validate_opens_them_as_stored(service):
    row = service.create(config("old-run"))
    stale = "experiment_name: old-run\ntraining:\n  learnig_rate: 0.1\n  batch_size: abc\n"
    service.store.experiments.update(row["id"], config=stale)
    copied = yaml.safe_load(service.copy_yaml(row["id"]))
    # Nothing the user wrote is lost: the dialog gets every key, and its validation lists the mistakes.
    assert copied == {"experiment_name": "old-run-copy", "training": {"learnig_rate": 0.1, "batch_size": "abc"}}
    with pytest.raises(ConfigError) as caught:
        service.rerun(row["id"])
    assert any("training.learnig_rate" in error for error in caught.value.errors)
    service.store.experiments.update(row["id"], config="training: [unclosed")
    assert service.copy_yaml(row["id"]) == "training: [unclosed"
