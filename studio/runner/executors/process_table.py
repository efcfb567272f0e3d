"""Who is whose child among this machine's processes, read once for all the runs being watched.

Each ``psutil.Process.children(recursive=True)`` reads every process of the machine; the
supervisor asked once per run each second, so four live runs read the whole process table four
times a second (most of the app's CPU while runs were live). One snapshot now serves every run
for ``max_age_s``: the descendants are wanted to kill ranks that left the leader's process group
and to name an OOM-killed one, and ranks start with the run, so a few seconds old is fresh enough
(a kill reads the table anew).
"""
from __future__ import annotations

import time
from collections import defaultdict

import psutil


class ProcessTable:
    def __init__(self, max_age_s: float = 5.0):
        # One read of a few hundred /proc entries costs ~20 ms here: each second, 2% of a core.
        self.max_age_s = max_age_s
        self._children: dict[int, list[int]] = {}
        self._read_at = float("-inf")

    def descendants(self, pid: int, fresh: bool = False) -> list[int]:
        """Every process below ``pid`` (children, their children, ...), as of at most ``max_age_s`` ago
        (``fresh``: as of now, e.g. right before killing them all)."""
        if fresh or time.monotonic() - self._read_at > self.max_age_s:
            self._read()
        found, todo = [], list(self._children.get(pid, ()))
        while todo:
            child = todo.pop()
            found.append(child)
            todo.extend(self._children.get(child, ()))
        return found

    def _read(self) -> None:
        children: dict[int, list[int]] = defaultdict(list)
        for process in psutil.process_iter(["ppid"]):
            parent = process.info.get("ppid")
            if parent is not None:
                children[parent].append(process.pid)
        self._children, self._read_at = dict(children), time.monotonic()
