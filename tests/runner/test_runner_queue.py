"""Queue order, concurrency, GPU assignment and what the store records for a finished run."""
from __future__ import annotations

import json
import sys

import pytest

from run_watch import read_events, status_of, wait_for
from studio.runner import RunError, Supervisor, read_status
from studio.store import Store


def test_runs_start_in_submission_order_and_record_their_results(store, studio_home, add_experiment,
                                                                 make_supervisor):
    ids = [add_experiment("complete") for _ in range(3)]
    supervisor = make_supervisor(max_concurrent=1)
    for experiment_id in ids:
        supervisor.submit(experiment_id)
    wait_for(lambda: all(status_of(store, i) == "Completed" for i in ids), message="all runs completed")

    starts = [run for kind, run, _ in read_events(studio_home) if kind == "start"]
    assert starts == ids
    row = store.experiments.get(ids[0])
    assert row["progress"] == 1.0 and row["pid"] is None and row["error"] is None
    assert row["runtime_s"] > 0.2 and row["started"] and row["finished"]
    # No validation metric list in config.yaml: the problem type's first default wins.
    assert row["metric_name"] == "Perplexity" and row["best_metric"] == 3.5
    assert row["final_metrics"] == {"Perplexity": 3.5, "BLEU": 12.0}


def test_never_more_runs_alive_than_max_concurrent(store, studio_home, add_experiment, make_supervisor):
    ids = [add_experiment("wait") for _ in range(4)]
    supervisor = make_supervisor(max_concurrent=2)
    for experiment_id in ids:
        supervisor.submit(experiment_id)
    wait_for(lambda: [status_of(store, i) for i in ids[:2]] == ["Training"] * 2, message="two runs training")
    assert [status_of(store, i) for i in ids[2:]] == ["Queued", "Queued"]
    assert supervisor.queued_ids() == ids[2:]
    for experiment_id in ids:
        (studio_home / "runs" / experiment_id / "release").touch()
    wait_for(lambda: all(status_of(store, i) == "Completed" for i in ids), message="all runs completed")

    alive, most = 0, 0
    for kind, _, _ in sorted(read_events(studio_home), key=lambda event: event[2]):
        alive += 1 if kind == "start" else -1
        most = max(most, alive)
    assert most == 2


def test_max_concurrent_runs_setting_overrides_the_constructor(store, studio_home, add_experiment,
                                                               make_supervisor):
    store.settings.set("max_concurrent_runs", 1)
    ids = [add_experiment("wait") for _ in range(2)]
    supervisor = make_supervisor(max_concurrent=3)
    assert supervisor.max_concurrent() == 1
    for experiment_id in ids:
        supervisor.submit(experiment_id)
    wait_for(lambda: status_of(store, ids[0]) == "Training", message="first run training")
    assert status_of(store, ids[1]) == "Queued"
    (studio_home / "runs" / ids[0] / "release").touch()
    wait_for(lambda: status_of(store, ids[1]) == "Training", message="second run training")
    (studio_home / "runs" / ids[1] / "release").touch()
    wait_for(lambda: status_of(store, ids[1]) == "Completed", message="second run completed")


def test_each_concurrent_run_gets_its_own_gpu_and_the_studio_home(store, studio_home, add_experiment,
                                                                  make_supervisor):
    ids = [add_experiment("wait") for _ in range(2)]
    supervisor = make_supervisor(gpus=["0", "1"])
    assert supervisor.max_concurrent() == 2  # one run per GPU by default
    for experiment_id in ids:
        supervisor.submit(experiment_id)
    wait_for(lambda: all(status_of(store, i) == "Training" for i in ids), message="both runs training")
    envs = [json.loads((studio_home / "runs" / i / "env.json").read_text()) for i in ids]
    assert sorted(env["CUDA_VISIBLE_DEVICES"] for env in envs) == ["0", "1"]
    assert {env["STUDIO_HOME"] for env in envs} == {str(studio_home.resolve())}
    assert sorted(store.experiments.get(i)["gpus"][0] for i in ids) == ["0", "1"]
    for experiment_id in ids:
        (studio_home / "runs" / experiment_id / "release").touch()
    wait_for(lambda: all(status_of(store, i) == "Completed" for i in ids), message="both completed")


def test_cpu_runs_hide_every_gpu_and_default_to_one_at_a_time(store, studio_home, add_experiment,
                                                              make_supervisor):
    experiment_id = add_experiment("complete")
    supervisor = make_supervisor()
    assert supervisor.max_concurrent() == 1
    supervisor.submit(experiment_id)
    wait_for(lambda: status_of(store, experiment_id) == "Completed", message="run completed")
    env = json.loads((studio_home / "runs" / experiment_id / "env.json").read_text())
    assert env["CUDA_VISIBLE_DEVICES"] == ""
    assert "fake engine complete" in (studio_home / "runs" / experiment_id / "system.log").read_text()


def test_training_status_and_stage_are_mirrored_into_the_store(store, studio_home, add_experiment,
                                                               make_supervisor):
    experiment_id = add_experiment("wait")
    changes = []
    supervisor = make_supervisor()
    supervisor.on_change(lambda eid, change: changes.append((eid, change)))
    supervisor.submit(experiment_id)
    wait_for(lambda: status_of(store, experiment_id) == "Training", message="run training")
    row = store.experiments.get(experiment_id)
    assert row["stage"] == "epoch 1/1, step 1/2" and row["progress"] == 0.1
    (studio_home / "runs" / experiment_id / "release").touch()
    wait_for(lambda: status_of(store, experiment_id) == "Completed", message="run completed")
    seen = [change["status"] for eid, change in changes if eid == experiment_id and "status" in change]
    assert seen == ["Queued", "Starting", "Training", "Completed"]


def test_submit_refuses_a_run_without_config_or_already_queued(store, studio_home, add_experiment,
                                                               make_supervisor):
    supervisor = make_supervisor(max_concurrent=1)
    blocker, queued = add_experiment("wait"), add_experiment("complete")
    supervisor.submit(blocker)
    supervisor.submit(queued)
    with pytest.raises(RunError, match="already queued or running"):
        supervisor.submit(queued)
    missing = store.experiments.add({"name": "no config"})["id"]
    with pytest.raises(RunError, match="config.yaml"):
        supervisor.submit(missing)
    with pytest.raises(RunError, match="no experiment"):
        supervisor.submit("doesnotexist")
    supervisor.stop(queued)
    supervisor.stop(blocker)
    wait_for(lambda: status_of(store, blocker) == "Stopped", message="blocker stopped")


def test_run_that_exits_without_a_final_status_is_failed_and_status_json_agrees(
        store, studio_home, add_experiment, make_supervisor):
    experiment_id = add_experiment("silent_exit")
    make_supervisor().submit(experiment_id)
    wait_for(lambda: status_of(store, experiment_id) == "Failed", message="run failed")
    row = store.experiments.get(experiment_id)
    assert row["error"].startswith("the training process exited with code 0 without reporting a final status")
    assert read_status(studio_home / "runs" / experiment_id)["status"] == "Failed"


def test_engine_that_cannot_be_started_fails_the_run_and_the_queue_moves_on(store, studio_home, add_experiment):
    broken, fine = add_experiment("complete"), add_experiment("complete")
    supervisor = Supervisor(Store(studio_home), studio_home, poll_interval=0.1, gpus=[],
                            command_factory=lambda e: [str(studio_home / "no-such-engine")] if e["id"] == broken
                            else [sys.executable, "-c", "import sys; sys.exit(0)", e["id"]]).start()
    try:
        supervisor.submit(broken)
        supervisor.submit(fine)
        wait_for(lambda: status_of(store, fine) == "Failed", message="second run ended")
        row = store.experiments.get(broken)
        assert row["status"] == "Failed" and row["error"].startswith("could not start")
        assert "no-such-engine" in row["error"]
        assert read_status(studio_home / "runs" / broken)["status"] == "Failed"
    finally:
        supervisor.shutdown()
