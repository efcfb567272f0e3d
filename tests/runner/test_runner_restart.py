"""A new Supervisor over the same STUDIO_HOME (the app restarted) picks up where the last one left."""
from __future__ import annotations

import subprocess
import sys

from run_watch import read_events, status_of, wait_for
from studio.atomic_io import write_json_atomic
from studio.runner.supervisor import GONE_AFTER_RESTART
from studio.store.database import forget_database


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_restart_reattaches_live_runs_fails_dead_ones_and_keeps_the_queue(store, studio_home, add_experiment,
                                                                          make_supervisor):
    live, first_queued, second_queued = add_experiment("wait"), add_experiment("complete"), add_experiment("complete")
    before = make_supervisor(max_concurrent=1)
    for experiment_id in (live, first_queued, second_queued):
        before.submit(experiment_id)
    wait_for(lambda: status_of(store, live) == "Training", message="first run training")
    before.shutdown()

    dead = add_experiment("wait", status="Training", pid=dead_pid(), started="2026-01-01T00:00:00+00:00")
    (studio_home / "runs" / dead / "system.log").write_text("loading model\nRuntimeError: CUDA error\n")
    # A live process with a reused pid that is not this run's training process.
    stranger = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    impostor = add_experiment("wait", status="Training", pid=stranger.pid)
    try:
        forget_database(studio_home / "db.json")  # the new app process reads db.json afresh
        after = make_supervisor(max_concurrent=1)
        assert after.running_ids() == [live]
        assert after.queued_ids() == [first_queued, second_queued]
        for gone in (dead, impostor):
            row = store.experiments.get(gone)
            assert row["status"] == "Failed"
            assert row["error"].startswith(GONE_AFTER_RESTART)
        assert store.experiments.get(dead)["error"].endswith("RuntimeError: CUDA error")
        assert stranger.poll() is None, "a process that is not ours must be left alone"
    finally:
        stranger.kill()
        stranger.wait()

    (studio_home / "runs" / live / "release").touch()
    wait_for(lambda: status_of(store, second_queued) == "Completed", message="queue drained")
    assert status_of(store, live) == "Completed"
    assert store.experiments.get(live)["best_metric"] == 3.5
    starts = [run for kind, run, _ in read_events(studio_home) if kind == "start"]
    assert starts == [live, first_queued, second_queued]


def test_run_that_completed_while_the_app_was_down_keeps_its_result(store, studio_home, add_experiment,
                                                                    make_supervisor):
    pid = dead_pid()
    experiment_id = add_experiment("wait", status="Training", pid=pid, started="2026-01-01T00:00:00+00:00")
    run_dir = studio_home / "runs" / experiment_id
    write_json_atomic(run_dir / "status.json", {"status": "Completed", "stage": "done", "progress": 1.0,
                                                "pid": pid, "started": None, "updated": None, "error": None})
    write_json_atomic(run_dir / "final_metrics.json", {"BLEU": 20.0})
    make_supervisor()
    row = store.experiments.get(experiment_id)
    assert row["status"] == "Completed" and row["best_metric"] == 20.0 and row["metric_name"] == "BLEU"
