"""Runner test fixtures: a store on a temp STUDIO_HOME and supervisors running the fake engine."""
from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

import psutil
import pytest

from studio.runner import Supervisor
from studio.store import Store
from studio.store.database import forget_database

from run_watch import pid_alive

FAKE_ENGINE = Path(__file__).with_name("fake_engine.py")


@pytest.fixture()
def store(studio_home):
    yield Store(studio_home)
    forget_database(studio_home / "db.json")


@pytest.fixture()
def add_experiment(store, studio_home):
    """Add an experiment row whose run folder holds a config.yaml; ``mode`` drives the fake engine."""
    def add(mode: str = "complete", gpus: int | None = None, **fields) -> str:
        row = store.experiments.add({"name": f"fake {mode}", "fake_mode": mode, "status": "Created", **fields})
        run_dir = studio_home / "runs" / row["id"]
        run_dir.mkdir(parents=True, exist_ok=True)
        environment = f"environment:\n  number_of_gpus: {gpus}\n" if gpus else ""
        (run_dir / "config.yaml").write_text("problem_type: causal_language_modeling\n" + environment)
        return row["id"]
    return add


@pytest.fixture()
def make_supervisor(store, studio_home):
    """Started supervisors over the fake engine; every process they left is killed afterwards."""
    made: list[Supervisor] = []

    def fake_command(experiment: dict) -> list[str]:
        return [sys.executable, str(FAKE_ENGINE), str(studio_home.resolve() / "runs" / experiment["id"]),
                experiment["fake_mode"]]

    def make(start: bool = True, **kwargs) -> Supervisor:
        kwargs.setdefault("poll_interval", 0.1)
        kwargs.setdefault("gpus", [])
        kwargs.setdefault("stop_grace_s", 2.0)
        kwargs.setdefault("progress_write_interval_s", 0.2)
        supervisor = Supervisor(Store(studio_home), studio_home, command_factory=fake_command, **kwargs)
        made.append(supervisor)
        return supervisor.start() if start else supervisor

    yield make
    for supervisor in made:
        supervisor.shutdown()
    for experiment in store.experiments.list():
        pid = experiment.get("pid")
        if pid and pid_alive(pid):
            try:  # torchrun's ranks lead groups of their own: kill them by pid first
                for child in psutil.Process(pid).children(recursive=True):
                    child.kill()
            except psutil.Error:
                pass
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
