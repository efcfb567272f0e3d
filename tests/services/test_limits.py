"""The operator's limits: a demo's defaults, saving them from Settings, and each service refusing past them."""
from __future__ import annotations

import re

import pytest

from studio.config import ConfigError
from studio.config.problem_types import CAUSAL_LM
from studio.config.limits import ALLOW_DEPLOY, ALLOW_PUSH, DEMO_DEFAULTS, MAX_EPOCHS, MAX_UPLOAD_MB
from studio.config.runner_settings import MAX_CONCURRENT_RUNS, MAX_RUN_MINUTES
from studio.datasets import DatasetError
from studio.runner import Supervisor
from studio.services.access_policy import AccessDenied, Actor
from studio.services.app_settings import save_limits
from studio.services.datasets import DatasetService
from studio.services.deploy import DeployError, DeploymentService
from studio.services.experiments import ExperimentService
from studio.services.push import PushError, push_experiment
from studio.services.limits import action_refusal, apply_demo_defaults
from studio.store import Store, StoreError
from studio.ui.ship_actions import action_state


@pytest.fixture()
def store(studio_home):
    return Store(studio_home)


def test_a_demo_gets_its_limits_once_and_keeps_what_the_operator_set(store):
    store.settings.set(MAX_RUN_MINUTES.key, 30.0)

    added = apply_demo_defaults(store)

    assert MAX_RUN_MINUTES.key not in added
    assert MAX_RUN_MINUTES.value(store.settings) == 30.0
    assert MAX_CONCURRENT_RUNS.value(store.settings) == 1
    assert MAX_UPLOAD_MB.value(store.settings) == DEMO_DEFAULTS[MAX_UPLOAD_MB.key]
    assert not ALLOW_PUSH.value(store.settings) and not ALLOW_DEPLOY.value(store.settings)
    assert Supervisor(store, store.home, gpus=["0", "1"]).max_concurrent() == 1  # the rest wait in the queue
    store.settings.delete(MAX_EPOCHS.key)  # the operator cleared the cap: a restart must not bring it back
    assert apply_demo_defaults(store) == []
    assert MAX_EPOCHS.value(store.settings) is None


def test_without_demo_mode_nothing_is_limited(store):
    assert MAX_RUN_MINUTES.value(store.settings) == 0
    assert MAX_EPOCHS.value(store.settings) is None
    assert action_refusal(store, "push") is None and action_refusal(store, "deploy") is None


def test_the_admin_page_saves_limits_and_names_a_wrong_one(store):
    save_limits(store, {
        MAX_RUN_MINUTES.key: 5, MAX_UPLOAD_MB.key: 2, MAX_EPOCHS.key: "", ALLOW_PUSH.key: False, ALLOW_DEPLOY.key: True})
    assert MAX_RUN_MINUTES.value(store.settings) == 5 and MAX_UPLOAD_MB.value(store.settings) == 2
    assert MAX_EPOCHS.value(store.settings) is None
    assert action_refusal(store, "push") == ALLOW_PUSH.off_reason and action_refusal(store, "deploy") is None

    with pytest.raises(StoreError, match=r"^Max run time \(minutes\): must be a number, at least 0"):
        save_limits(store, {MAX_RUN_MINUTES.key: -1, MAX_UPLOAD_MB.key: 9})
    assert MAX_RUN_MINUTES.value(store.settings) == 5 and MAX_UPLOAD_MB.value(store.settings) == 2  # nothing changed
    with pytest.raises(AccessDenied, match="Only an admin may change the limits"):
        save_limits(store, {ALLOW_PUSH.key: True}, Actor("ann", "member"))
    assert action_refusal(store, "push") == ALLOW_PUSH.off_reason


def test_an_upload_over_the_limit_is_refused_naming_the_setting_and_nothing_is_stored(store, studio_home, tmp_path):
    store.settings.set(MAX_UPLOAD_MB.key, 1)
    service = DatasetService(store, studio_home)
    big = tmp_path / "big.csv"
    big.write_text("input,output\n" + "a question,an answer\n" * 120_000)  # about 2.4 MB
    small = tmp_path / "small.csv"
    small.write_text("input,output\n" + "a question,an answer\n" * 100)
    project = store.projects.default_id()

    with pytest.raises(DatasetError) as refused:
        service.import_upload(big, "big.csv", None, project)

    assert str(refused.value) == ("big.csv: the file has 2 MB, more than the 1 MB an upload may have on this "
                                  "Studio (Max upload size (MB) on the Admin page); nothing was stored")
    assert store.datasets.list() == []
    assert not (studio_home / "datasets").exists() or not any((studio_home / "datasets").iterdir())
    assert service.import_upload(small, "small.csv", None, project)["rows"] == 100


def test_more_epochs_than_the_cap_is_a_validation_error_naming_the_field(store, studio_home):
    store.settings.set(MAX_EPOCHS.key, 2)
    experiments = ExperimentService(store, None, studio_home)
    config = {"dataset": {"train_dataframe": str(studio_home / "data.csv")}}
    (studio_home / "data.csv").write_text("input,output\nq,a\n")

    with pytest.raises(ConfigError) as refused:
        experiments.validate({**config, "training": {"epochs": 3}})

    assert refused.value.errors == ["training.epochs: 3 is more than the 2 epochs this Studio allows "
                                    "(Epochs cap on the Admin page); lower it"]
    assert experiments.validate({**config, "training": {"epochs": 2}}).training.epochs == 2


def test_push_and_deploy_turned_off_are_refused_by_the_services_and_the_ui_says_why(store, studio_home):
    save_limits(store, {ALLOW_PUSH.key: False, ALLOW_DEPLOY.key: False})
    row = store.experiments.add({"name": "done", "status": "Completed", "problem_type": CAUSAL_LM})

    with pytest.raises(PushError, match=re.escape(ALLOW_PUSH.off_reason)):
        push_experiment(store, row["id"], "me/model", token="hf_not_used_at_all", home=studio_home)
    with pytest.raises(DeployError, match=re.escape(ALLOW_DEPLOY.off_reason)):
        DeploymentService(store, studio_home).create(row["id"])
    assert store.deployments.list() == []

    state = action_state(store.experiments.get(row["id"]), {"deploy": action_refusal(store, "deploy"),
                                                            "push": action_refusal(store, "push")})
    assert state["deploy"] and not state["deployable"] and not state["push"]
    assert state["reason"] == f"{ALLOW_DEPLOY.off_reason} {ALLOW_PUSH.off_reason}"
