"""One app per STUDIO_HOME (issue 9, item 2), tried with real processes.

The attack: a second ``python app.py`` on the data folder of a running one. It must stop
at once with one line naming the running app, before restart recovery or any write,
and the lock must not outlive its holder, even one killed with SIGKILL.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from studio.services.serve_process import free_port
from studio.store.home_lock import HomeInUseError, HomeLock, read_owner
from tests.ui.browser_app import running_app

ROOT = Path(__file__).resolve().parents[2]


def start_app(home: Path, port: int) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "app.py", "--port", str(port)], cwd=ROOT, capture_output=True,
                          text=True, env={**os.environ, "STUDIO_HOME": str(home)}, timeout=180)


def test_second_app_on_the_same_home_is_refused_naming_the_first(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    with running_app(home, tmp_path / "app.log", lambda _home: []) as url:
        owner = read_owner(home)
        assert owner["role"] == "app" and owner["url"] == url and owner["pid"] != os.getpid()
        db_before = (home / "db.json").read_bytes()
        stamp_before = (home / "db.json").stat().st_mtime_ns

        second = start_app(home, free_port())

        assert second.returncode == 1
        lines = [line for line in second.stderr.splitlines() if line.strip()]
        assert lines[-1].startswith("Studio cannot start: STUDIO_HOME")
        assert f"pid {owner['pid']}" in lines[-1] and url in lines[-1]
        assert "Traceback" not in second.stderr
        assert (home / "db.json").read_bytes() == db_before  # no recovery, no write
        assert (home / "db.json").stat().st_mtime_ns == stamp_before


def test_lock_dies_with_its_holder_even_under_sigkill(tmp_path):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time\nfrom studio.store.home_lock import HomeLock\n"
         f"HomeLock({str(tmp_path)!r}, role='cli test').acquire()\nprint('held', flush=True)\ntime.sleep(600)\n"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(HomeInUseError, match=rf"running Studio cli test \(pid {holder.pid},"):
            HomeLock(tmp_path, role="app").acquire()
    finally:
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(30)
    with HomeLock(tmp_path, role="app") as lock:  # free again: no stale lock after a crash
        assert lock.held and read_owner(tmp_path)["pid"] == os.getpid()
    assert not lock.held


def test_processes_the_app_started_do_not_keep_the_lock_after_it_exits(tmp_path):
    """Training runs outlive the app; holding its lock, they would refuse the next app start."""
    holder = subprocess.Popen(
        [sys.executable, "-c", "import subprocess, sys\nfrom studio.store.home_lock import HomeLock\n"
         f"HomeLock({str(tmp_path)!r}, role='app').acquire()\n"
         "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'], start_new_session=True)\n"
         "print(child.pid, flush=True)\n"],
        cwd=ROOT, stdout=subprocess.PIPE, text=True)
    child_pid = int(holder.stdout.readline())
    holder.wait(30)
    try:
        os.kill(child_pid, 0)  # the "run" is still alive
        with HomeLock(tmp_path, role="app") as lock:
            assert lock.held
    finally:
        os.kill(child_pid, signal.SIGKILL)
