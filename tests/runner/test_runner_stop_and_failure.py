"""Stop, crash, SIGKILL after the grace period, resume and delete, with real processes."""
from __future__ import annotations

import time

import pytest

from run_watch import pid_alive, status_of, wait_for
from studio.runner import RunError, read_status


def _running_with_a_child(studio_home, add_experiment, make_supervisor):
    """A submitted fake run once it has started a child process: (experiment id, supervisor, child pid)."""
    experiment_id = add_experiment("spawn_child")
    supervisor = make_supervisor()
    supervisor.submit(experiment_id)
    child_file = studio_home / "runs" / experiment_id / "child.pid"
    wait_for(child_file.exists, message="the run's child process")
    return experiment_id, supervisor, int(child_file.read_text())


def test_stop_kills_the_whole_process_group(store, studio_home, add_experiment, make_supervisor):
    experiment_id, supervisor, child = _running_with_a_child(studio_home, add_experiment, make_supervisor)
    leader = store.experiments.get(experiment_id)["pid"]
    assert pid_alive(child) and pid_alive(leader)

    supervisor.stop(experiment_id)
    wait_for(lambda: status_of(store, experiment_id) == "Stopped", message="run stopped")
    wait_for(lambda: not pid_alive(child), timeout=5, message="the child to die")
    assert not pid_alive(leader)
    assert read_status(studio_home / "runs" / experiment_id)["status"] == "Stopped"
    assert supervisor.running_ids() == []


def test_stop_takes_a_queued_run_off_the_queue(store, studio_home, add_experiment, make_supervisor):
    running, queued = add_experiment("wait"), add_experiment("complete")
    supervisor = make_supervisor(max_concurrent=1)
    supervisor.submit(running)
    supervisor.submit(queued)
    supervisor.stop(queued)
    assert status_of(store, queued) == "Stopped" and supervisor.queued_ids() == []
    (studio_home / "runs" / running / "release").touch()
    wait_for(lambda: status_of(store, running) == "Completed", message="run completed")
    time.sleep(0.3)
    assert status_of(store, queued) == "Stopped"
    assert not (studio_home / "runs" / queued / "env.json").exists()  # it never started


def test_crashing_run_fails_with_the_reason_from_its_last_log_lines(store, studio_home, add_experiment,
                                                                     make_supervisor):
    experiment_id = add_experiment("crash")
    make_supervisor().submit(experiment_id)
    wait_for(lambda: status_of(store, experiment_id) == "Failed", message="run failed")
    row = store.experiments.get(experiment_id)
    assert row["error"] == ("the training process exited with code 1 without reporting a final status: "
                            "ValueError: learning_rate must be positive")
    assert "Traceback (most recent call last):" in row["error_log"]
    assert "\n" not in row["error"]
    status = read_status(studio_home / "runs" / experiment_id)
    assert status["status"] == "Failed" and status["error"] == row["error"]


def test_run_that_ignores_sigterm_is_killed_after_the_grace_period(store, studio_home, add_experiment,
                                                                    make_supervisor):
    experiment_id = add_experiment("ignore_term")
    supervisor = make_supervisor(stop_grace_s=0.5)
    supervisor.submit(experiment_id)
    wait_for((studio_home / "runs" / experiment_id / "ignoring").exists, message="SIGTERM ignored")
    pid = store.experiments.get(experiment_id)["pid"]
    asked = time.monotonic()
    supervisor.stop(experiment_id)
    assert time.monotonic() - asked < 0.2, "stop() must not wait for the process"
    time.sleep(0.3)
    assert pid_alive(pid), "SIGTERM alone should not end this run"
    wait_for(lambda: status_of(store, experiment_id) == "Stopped", message="run stopped")
    assert time.monotonic() - asked >= 0.5
    assert not pid_alive(pid)


def test_resume_requeues_a_failed_run_from_its_last_checkpoint(store, studio_home, add_experiment,
                                                               make_supervisor):
    experiment_id = add_experiment("crash_after_checkpoint")
    supervisor = make_supervisor()
    supervisor.submit(experiment_id)
    wait_for(lambda: status_of(store, experiment_id) == "Failed", message="run failed")

    supervisor.resume(experiment_id)
    wait_for(lambda: status_of(store, experiment_id) == "Completed", message="resumed run completed")
    run_dir = studio_home / "runs" / experiment_id
    assert (run_dir / "resumed").read_text() == "yes"
    row = store.experiments.get(experiment_id)
    assert row["resume"] is True and row["error"] is None


def test_resume_is_refused_without_a_checkpoint_or_for_a_completed_run(store, add_experiment, make_supervisor):
    crashed, completed = add_experiment("crash"), add_experiment("complete")
    supervisor = make_supervisor(max_concurrent=2)
    supervisor.submit(crashed)
    supervisor.submit(completed)
    wait_for(lambda: status_of(store, crashed) == "Failed" and status_of(store, completed) == "Completed",
             message="both runs ended")
    with pytest.raises(RunError, match="checkpoint/last"):
        supervisor.resume(crashed)
    with pytest.raises(RunError, match="only Failed or Stopped"):
        supervisor.resume(completed)


def test_delete_stops_a_running_run_then_removes_folder_and_row(store, studio_home, add_experiment,
                                                                make_supervisor):
    experiment_id, supervisor, child = _running_with_a_child(studio_home, add_experiment, make_supervisor)
    run_dir = studio_home / "runs" / experiment_id

    supervisor.delete(experiment_id)
    wait_for(lambda: store.experiments.get(experiment_id) is None, message="row deleted")
    assert not run_dir.exists()
    wait_for(lambda: not pid_alive(child), timeout=5, message="the child to die")


def test_delete_of_a_finished_run_is_immediate(store, studio_home, add_experiment, make_supervisor):
    experiment_id = add_experiment("complete")
    supervisor = make_supervisor()
    supervisor.submit(experiment_id)
    wait_for(lambda: status_of(store, experiment_id) == "Completed", message="run completed")
    supervisor.delete(experiment_id)
    assert store.experiments.get(experiment_id) is None
    assert not (studio_home / "runs" / experiment_id).exists()
    wait_for(lambda: not any((studio_home / "runs").iterdir()), timeout=5, message="files removed")


def test_run_whose_row_was_deleted_behind_the_runner_is_stopped_and_cleaned_up(
        store, studio_home, add_experiment, make_supervisor):
    experiment_id, supervisor, child = _running_with_a_child(studio_home, add_experiment, make_supervisor)
    run_dir = studio_home / "runs" / experiment_id
    store.experiments.delete(experiment_id)
    wait_for(lambda: not run_dir.exists(), message="run folder removed")
    wait_for(lambda: not pid_alive(child), timeout=5, message="the child to die")
    assert supervisor.running_ids() == []
