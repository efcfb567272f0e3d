"""Which executor runs new experiments: the Settings entry, overridden by STUDIO_EXECUTOR."""
from __future__ import annotations

import pytest

from run_watch import status_of, wait_for
from studio.runner.executors import ExecutorError, LocalExecutor, RayExecutor, chosen_executor, make_executor
from studio.services.app_settings import save_settings
from studio.store import StoreError


def test_setting_chooses_the_executor_and_the_environment_overrides_it(store, monkeypatch):
    monkeypatch.delenv("STUDIO_EXECUTOR", raising=False)
    monkeypatch.delenv("STUDIO_RAY_ADDRESS", raising=False)
    assert chosen_executor(store.settings) == "local"
    save_settings(store, price=0, max_concurrent=None, executor="ray", ray_address="http://10.0.0.5:8265")
    assert chosen_executor(store.settings) == "ray"
    assert make_executor("ray", store.settings).address == "http://10.0.0.5:8265"
    monkeypatch.setenv("STUDIO_RAY_ADDRESS", "http://127.0.0.1:8265")
    assert make_executor("ray", store.settings).address == "http://127.0.0.1:8265"
    monkeypatch.setenv("STUDIO_EXECUTOR", "local")
    assert chosen_executor(store.settings) == "local"
    assert isinstance(make_executor("local", store.settings), LocalExecutor)
    monkeypatch.setenv("STUDIO_EXECUTOR", "slurm")
    with pytest.raises(ExecutorError, match="unknown executor 'slurm'"):
        chosen_executor(store.settings)


def test_settings_refuse_an_unknown_executor_and_a_bad_address_with_the_field_named(store):
    with pytest.raises(StoreError, match="^Run experiments on: must be one of local, ray"):
        save_settings(store, price=0, max_concurrent=None, executor="kubernetes")
    with pytest.raises(StoreError, match="^Ray dashboard address: must start with http"):
        save_settings(store, price=0, max_concurrent=None, ray_address="127.0.0.1:8265")
    assert store.settings.get("executor") is None


def test_an_unreachable_ray_cluster_fails_the_run_with_its_address(store, add_experiment, make_supervisor):
    experiment_id = add_experiment("complete")
    make_supervisor(executor=RayExecutor("http://127.0.0.1:9")).submit(experiment_id)
    wait_for(lambda: status_of(store, experiment_id) == "Failed", timeout=60, message="run failed")
    assert "cannot reach the Ray cluster at http://127.0.0.1:9" in store.experiments.get(experiment_id)["error"]
