"""The supervisor reads the process table once for all runs (every few seconds), and still finds every descendant."""
from __future__ import annotations

import subprocess
import sys
import time

import psutil

from studio.runner.executors import process_table
from studio.runner.executors.process_table import ProcessTable

# A parent that starts a child that starts a grandchild, then all sleep.
TREE = ("import subprocess, sys, time\n"
        "depth = int(sys.argv[1])\n"
        "if depth: subprocess.Popen([sys.executable, '-c', sys.argv[2], str(depth - 1), sys.argv[2]])\n"
        "time.sleep(60)\n")


def _descendants_once_started(table: ProcessTable, pid: int, count: int) -> list[int]:
    deadline = time.time() + 30
    while time.time() < deadline:
        found = table.descendants(pid, fresh=True)
        if len(found) >= count:
            return found
        time.sleep(0.1)
    return found


def test_children_and_grandchildren_are_found():
    root = subprocess.Popen([sys.executable, "-c", TREE, "2", TREE])
    try:
        found = _descendants_once_started(ProcessTable(), root.pid, 2)
        assert len(found) == 2
        child = next(pid for pid in found if psutil.Process(pid).ppid() == root.pid)
        grandchild = next(pid for pid in found if psutil.Process(pid).ppid() != root.pid)
        assert psutil.Process(grandchild).ppid() == child
    finally:
        for process in psutil.Process(root.pid).children(recursive=True):
            process.kill()
        root.kill()
        root.wait()


def test_one_read_of_the_table_serves_every_run_of_a_tick(monkeypatch):
    reads = []
    real = process_table.psutil.process_iter

    def counting(*args, **kwargs):
        reads.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(process_table.psutil, "process_iter", counting)
    table = ProcessTable(max_age_s=60)
    for pid in (1, 2, 3, 4):  # four live runs polled in the same tick
        table.descendants(pid)
    assert len(reads) == 1
    table.descendants(1, fresh=True)  # before a kill: read again
    assert len(reads) == 2
