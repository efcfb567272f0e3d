"""A hung (SIGSTOPped) run is warned about, then failed and killed; a kill -9 is reported as one."""
from __future__ import annotations

import os
import signal
import time

from run_watch import pid_alive, status_of, wait_for
from studio.config.runner_settings import HUNG_RUN_TIMEOUT_MINUTES
from studio.runner import read_status
from studio.runner.failure_reason import rank_killed_by_signal
from studio.runner.kill_cause import describe_signal_death, oom_kill_count, oom_victims
from training.run_folder import StatusWriter

TIMEOUT_MINUTES = 0.1  # a warning at 3 s, the failure at 6 s


def test_sigstopped_run_gets_a_warning_then_fails_with_no_progress_and_its_group_killed(
        store, studio_home, add_experiment, make_supervisor):
    store.settings.set(HUNG_RUN_TIMEOUT_MINUTES.key, TIMEOUT_MINUTES)
    experiment_id = add_experiment("beat")
    make_supervisor().submit(experiment_id)
    wait_for(lambda: status_of(store, experiment_id) == "Training", timeout=30, message="run training")
    time.sleep(TIMEOUT_MINUTES * 60 + 1)  # idle but beating: longer than the timeout, still fine
    row = store.experiments.get(experiment_id)
    assert row["status"] == "Training" and not row.get("warning")

    pid = row["pid"]
    os.kill(pid, signal.SIGSTOP)
    stopped_at = time.monotonic()
    warning = wait_for(lambda: store.experiments.get(experiment_id).get("warning"), message="hang warning")
    assert warning.startswith("not responding: no heartbeat for")
    assert status_of(store, experiment_id) == "Training"
    wait_for(lambda: status_of(store, experiment_id) == "Failed", message="hung run failed")
    assert time.monotonic() - stopped_at < TIMEOUT_MINUTES * 60 + 3
    row = store.experiments.get(experiment_id)
    assert row["error"].startswith(f"no progress for {TIMEOUT_MINUTES:g} minutes")
    assert not row.get("warning") and row["error_log"]
    assert not pid_alive(pid)
    assert read_status(studio_home / "runs" / experiment_id)["status"] == "Failed"


def test_a_run_that_recovers_from_a_pause_loses_its_warning(store, studio_home, add_experiment, make_supervisor):
    store.settings.set(HUNG_RUN_TIMEOUT_MINUTES.key, TIMEOUT_MINUTES)
    experiment_id = add_experiment("beat")
    make_supervisor().submit(experiment_id)
    wait_for(lambda: status_of(store, experiment_id) == "Training", timeout=30, message="run training")
    pid = store.experiments.get(experiment_id)["pid"]
    os.kill(pid, signal.SIGSTOP)
    wait_for(lambda: store.experiments.get(experiment_id).get("warning"), message="hang warning")
    os.kill(pid, signal.SIGCONT)
    wait_for(lambda: not store.experiments.get(experiment_id).get("warning"), message="warning cleared")
    (studio_home / "runs" / experiment_id / "release").touch()
    wait_for(lambda: status_of(store, experiment_id) == "Completed", message="run completed")


def test_engine_heartbeat_moves_while_the_main_thread_is_busy_and_stops_at_the_end(tmp_path):
    writer = StatusWriter(tmp_path, heartbeat_every_s=0.2)
    writer.update("Training", stage="a long step")
    first = read_status(tmp_path)
    time.sleep(1.5)
    beating = read_status(tmp_path)
    assert beating["heartbeat"] > first["heartbeat"] and beating["updated"] == first["updated"]
    writer.update("Completed", stage="completed")
    ended = read_status(tmp_path)
    time.sleep(1.2)
    assert read_status(tmp_path) == ended


def test_kill_9_is_reported_as_signal_9_with_the_last_log_lines_kept_below(store, studio_home, add_experiment,
                                                                            make_supervisor):
    experiment_id = add_experiment("wait")
    make_supervisor().submit(experiment_id)
    wait_for(lambda: status_of(store, experiment_id) == "Training", message="run training")
    system_log = studio_home / "runs" / experiment_id / "system.log"
    wait_for(lambda: "fake engine wait" in system_log.read_text(), message="the engine's log line")
    os.kill(store.experiments.get(experiment_id)["pid"], signal.SIGKILL)
    killed_at = time.monotonic()
    wait_for(lambda: status_of(store, experiment_id) == "Failed", message="killed run failed")
    assert time.monotonic() - killed_at < 1.5
    row = store.experiments.get(experiment_id)
    assert row["error"].startswith("the training process was killed by signal 9 (SIGKILL)")
    assert "fake engine" not in row["error"]  # the last INFO line is no reason
    assert "fake engine wait" in row["error_log"]


def test_oom_kill_is_named_from_the_kernel_log_or_the_memory_cgroup():
    kernel_log = ("[12.3] Memory cgroup out of memory: Killed process 4242 (python) total-vm:9000kB\n"
                  "[12.4] oom-kill:constraint=CONSTRAINT_MEMCG,task_memcg=/x,task=python,pid=4243,uid=0\n")
    assert oom_victims(kernel_log) == {4242, 4243}
    by_log = describe_signal_death(9, {4242}, None, kernel_log=kernel_log, oom_kills_now=None)
    assert by_log.startswith("the training process was killed by the kernel's out-of-memory killer")
    by_cgroup = describe_signal_death(9, {1}, 3, kernel_log="", oom_kills_now=4)
    assert "oom_kill count rose" in by_cgroup
    plain = describe_signal_death(9, {1}, 3, kernel_log="", oom_kills_now=3)
    assert plain == "the training process was killed by signal 9 (SIGKILL) before reporting a final status"


def test_oom_kill_count_reads_cgroup_v1_and_v2(tmp_path):
    v2 = tmp_path / "v2"
    (v2 / "app.slice").mkdir(parents=True)
    (v2 / "app.slice" / "memory.events").write_text("low 0\nhigh 0\nmax 2\noom 1\noom_kill 1\n")
    (tmp_path / "cgroup2").write_text("0::/app.slice\n")
    assert oom_kill_count(v2, tmp_path / "cgroup2") == 1
    v1 = tmp_path / "v1"
    (v1 / "memory").mkdir(parents=True)
    (v1 / "memory" / "memory.oom_control").write_text("oom_kill_disable 0\nunder_oom 0\noom_kill 7\n")
    (tmp_path / "cgroup1").write_text("5:memory:/docker/abc\n0::/\n")
    assert oom_kill_count(v1, tmp_path / "cgroup1") == 7
    assert oom_kill_count(tmp_path / "none", tmp_path / "cgroup1") is None


def test_a_rank_killed_under_torchrun_is_found_in_its_failure_summary():
    summary = ("[1]:\n  time      : 2026-12-01_10:00:00\n  host      : box\n  rank      : 1 (local_rank: 1)\n"
               "  exitcode  : -9 (pid: 5151) (SIGKILL)\n  error_file: <N/A>\n"
               "  traceback : Signal 9 (SIGKILL) received by PID 5151\n")
    assert rank_killed_by_signal(summary) == (9, 5151)
    assert rank_killed_by_signal("exitcode  : 1 (pid: 5151)") is None
