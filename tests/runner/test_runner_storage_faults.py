"""A full disk or an unwritable run folder ends the run Failed with the OS's reason, and never
leaves a row Starting, stops the queue or stops the app from starting again."""
from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys

import pytest

from run_watch import status_of, wait_for
from studio.atomic_io import write_json_atomic
from studio.runner import launcher, read_status, run_end
from studio.store.database import forget_database


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def _immutable(folder) -> bool:
    """chattr +i: a folder even root cannot add files to (chmod does not stop root)."""
    chattr = shutil.which("chattr")
    return bool(chattr) and subprocess.run([chattr, "+i", str(folder)], capture_output=True).returncode == 0


def _mutable(folder) -> None:
    subprocess.run([shutil.which("chattr") or "chattr", "-i", str(folder)], capture_output=True)


def _failing_writes_under(folder, code: int):
    """write_json_atomic that raises the OSError ``code`` for files under ``folder``, as the kernel would."""
    def write(path, obj):
        if str(path).startswith(str(folder)):
            raise OSError(code, os.strerror(code), str(path))
        write_json_atomic(path, obj)
    return write


def test_full_disk_fails_the_run_with_no_space_left_on_device(store, studio_home, add_experiment,
                                                              make_supervisor):
    experiment_id = add_experiment("complete")
    # /dev/full answers every write with ENOSPC: a full disk, as the kernel reports it.
    (studio_home / "runs" / experiment_id / "metrics.jsonl").symlink_to("/dev/full")
    make_supervisor().submit(experiment_id)
    wait_for(lambda: status_of(store, experiment_id) == "Failed", message="run failed")
    row = store.experiments.get(experiment_id)
    assert "No space left on device" in row["error"]
    assert row["pid"] is None and row["finished"]


def test_torch_checkpoint_on_a_full_disk_is_reported_as_no_space_not_inline_container(
        store, studio_home, add_experiment, make_supervisor):
    experiment_id = add_experiment("checkpoint")
    (studio_home / "runs" / experiment_id / "checkpoint.pt").symlink_to("/dev/full")
    make_supervisor().submit(experiment_id)
    wait_for(lambda: status_of(store, experiment_id) == "Failed", timeout=60, message="run failed")
    error = store.experiments.get(experiment_id)["error"]
    assert error.startswith("writing a checkpoint stopped part-way"), error
    assert "No space left on device" in error
    assert "inline_container.cc" in error  # kept at the end, for whoever debugs it


def test_read_only_run_folder_at_start_fails_that_run_and_the_queue_moves_on(
        store, studio_home, add_experiment, make_supervisor, monkeypatch):
    read_only, fine = add_experiment("complete"), add_experiment("complete")
    monkeypatch.setattr(launcher, "write_json_atomic",
                        _failing_writes_under(studio_home.resolve() / "runs" / read_only, errno.EROFS))
    supervisor = make_supervisor(max_concurrent=1)
    supervisor.submit(read_only)
    supervisor.submit(fine)
    wait_for(lambda: status_of(store, fine) == "Completed", message="the next run completed")
    row = store.experiments.get(read_only)
    assert row["status"] == "Failed" and "Read-only file system" in row["error"]


def test_a_final_status_that_cannot_be_written_still_ends_the_run_in_the_store(
        store, studio_home, add_experiment, make_supervisor, monkeypatch):
    experiment_id = add_experiment("crash")
    runs = studio_home.resolve() / "runs"

    def full_disk_for_final_status(path, obj):
        if str(path).startswith(str(runs)) and obj.get("status") == "Failed":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        write_json_atomic(path, obj)

    monkeypatch.setattr(run_end, "write_json_atomic", full_disk_for_final_status)
    supervisor = make_supervisor()
    supervisor.submit(experiment_id)
    wait_for(lambda: status_of(store, experiment_id) == "Failed", message="run failed")
    assert supervisor.running_ids() == []
    assert "learning_rate must be positive" in store.experiments.get(experiment_id)["error"]
    assert read_status(studio_home / "runs" / experiment_id)["status"] == "Training"  # the write did fail


def test_run_folder_that_turns_unwritable_mid_run_ends_failed_with_the_os_reason(
        store, studio_home, add_experiment, make_supervisor):
    experiment_id = add_experiment("status_until_fail")
    run_dir = studio_home / "runs" / experiment_id
    make_supervisor().submit(experiment_id)
    wait_for(lambda: (read_status(run_dir) or {}).get("stage", "").startswith("step"), timeout=30,
             message="the engine writing status.json")
    if not _immutable(run_dir):
        pytest.skip("chattr +i is not available on this file system")
    try:
        wait_for(lambda: status_of(store, experiment_id) == "Failed", timeout=30, message="run failed")
        row = store.experiments.get(experiment_id)
        assert "Operation not permitted" in row["error"], row["error"]
        assert "cannot be written" in row["error"]
    finally:
        _mutable(run_dir)


def test_app_starts_whatever_state_the_run_folders_are_in(store, studio_home, add_experiment, make_supervisor,
                                                          monkeypatch):
    started = "2026-01-01T00:00:00+00:00"
    missing = add_experiment("wait", status="Training", pid=_dead_pid(), started=started)
    shutil.rmtree(studio_home / "runs" / missing)
    a_file = add_experiment("wait", status="Starting", pid=_dead_pid(), started=started)
    shutil.rmtree(studio_home / "runs" / a_file)
    (studio_home / "runs" / a_file).write_text("not a folder")
    status_folder = add_experiment("wait", status="Validation", pid=_dead_pid(), started=started)
    (studio_home / "runs" / status_folder / "status.json").mkdir()
    read_only = add_experiment("wait", status="Training", pid=_dead_pid(), started=started)
    immutable = add_experiment("wait", status="Training", pid=_dead_pid(), started=started)
    _immutable(studio_home / "runs" / immutable)  # where chattr works; else an ordinary dead run
    for module in (launcher, run_end):
        monkeypatch.setattr(module, "write_json_atomic",
                            _failing_writes_under(studio_home.resolve() / "runs" / read_only, errno.EROFS))
    try:
        forget_database(studio_home / "db.json")
        supervisor = make_supervisor()  # restart recovery: must not raise
        for experiment_id in (missing, a_file, status_folder, read_only, immutable):
            assert status_of(store, experiment_id) == "Failed", experiment_id
        assert supervisor.running_ids() == []
    finally:
        _mutable(studio_home / "runs" / immutable)
