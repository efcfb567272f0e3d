"""The Settings' maximum run time: a run past it is stopped (its whole group) with the limit as its reason."""
from __future__ import annotations

import time

from run_watch import pid_alive, status_of, wait_for
from studio.config.runner_settings import MAX_RUN_MINUTES
from studio.runner import read_status
from studio.runner.time_limit import over_limit_reason
from studio.services.experiments import ExperimentService

LIMIT_MINUTES = 0.05  # 3 s


def test_a_run_past_the_maximum_run_time_is_stopped_with_the_reason_shown(store, studio_home, add_experiment,
                                                                          make_supervisor):
    store.settings.set(MAX_RUN_MINUTES.key, LIMIT_MINUTES)
    experiment_id = add_experiment("spawn_child")  # runs until stopped, with a child in its group
    supervisor = make_supervisor()
    supervisor.submit(experiment_id)
    child_file = studio_home / "runs" / experiment_id / "child.pid"
    wait_for(child_file.exists, message="the run's child process")
    child = int(child_file.read_text())
    started = time.monotonic()

    wait_for(lambda: status_of(store, experiment_id) == "Stopped", timeout=30, message="run stopped by the limit")
    assert time.monotonic() - started < LIMIT_MINUTES * 60 + 5
    row = store.experiments.get(experiment_id)
    reason = f"stopped after {LIMIT_MINUTES:g} minutes: the maximum run time on this Studio"
    assert row["error"].startswith(reason) and MAX_RUN_MINUTES.label in row["error"]
    assert row["stage"] == "stopped: time limit"
    wait_for(lambda: not pid_alive(child), timeout=5, message="the child to die")
    run_dir = studio_home / "runs" / experiment_id
    assert read_status(run_dir)["error"] == row["error"]
    assert reason in (run_dir / "system.log").read_text()
    # What the detail view's status bar shows under the badge.
    shown = ExperimentService(store, supervisor, studio_home).live_status(row)
    assert shown["status"] == "Stopped" and shown["error"] == row["error"]


def test_without_a_limit_a_run_goes_on_and_a_user_stop_has_no_error(store, studio_home, add_experiment,
                                                                    make_supervisor):
    experiment_id = add_experiment("wait")
    supervisor = make_supervisor()
    supervisor.submit(experiment_id)
    wait_for(lambda: status_of(store, experiment_id) == "Training", message="run training")
    time.sleep(LIMIT_MINUTES * 60 + 1)
    assert status_of(store, experiment_id) == "Training"
    supervisor.stop(experiment_id)
    wait_for(lambda: status_of(store, experiment_id) == "Stopped", message="run stopped")
    row = store.experiments.get(experiment_id)
    assert row["stage"] == "stopped by the user" and row["error"] is None


def test_the_limit_counts_from_the_start_and_zero_means_none():
    assert over_limit_reason(100.0, 100.0 + 59, 1) is None
    assert over_limit_reason(100.0, 100.0 + 60, 1).startswith("stopped after 1 minute: the maximum run time")
    assert over_limit_reason(0.0, 1e9, 0) is None
