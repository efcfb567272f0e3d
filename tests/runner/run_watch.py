"""Waiting on and looking at runs from runner tests."""
from __future__ import annotations

import time
from pathlib import Path

import psutil


def wait_for(predicate, timeout: float = 15.0, message: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {message}")


def pid_alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def read_events(home: Path) -> list[tuple[str, str, float]]:
    path = home / "events.log"
    if not path.exists():
        return []
    return [(kind, run, float(t)) for kind, run, t in
            (line.split() for line in path.read_text().splitlines() if line.strip())]


def status_of(store, experiment_id: str) -> str | None:
    row = store.experiments.get(experiment_id)
    return row.get("status") if row else None
