"""The one interface the supervisor runs jobs through: start, poll, stop, logs, reattach.

The supervisor never knows where a job runs. An executor turns a ``LaunchSpec`` (the
engine command and its environment) into a running ``Job``, says whether it still runs
and how it ended, stops it, reads its output, and finds it again after an app restart
from the fields ``Job.row_fields()`` stored on the experiment row. The engine reports
only through its run folder, whichever executor started it.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class ExecutorError(Exception):
    """An executor could not start or reach a job (its message says what to fix)."""


@dataclass
class LaunchSpec:
    experiment_id: str
    run_dir: Path
    argv: list[str]  # the engine command, its torchrun form for several processes
    env: dict[str, str]  # what the engine needs on top of the executor's own environment
    gpus: list[str]  # indices from the local GPU pool; [] for CPU or cluster-scheduled GPUs
    num_gpus: int  # how many GPUs the run asked for
    num_processes: int  # training processes (ranks)
    log_path: Path  # where the job's own output goes (RUN_DIR/system.log)


@dataclass
class Job:
    executor: str
    experiment_id: str
    run_dir: Path
    pid: int | None = None  # local: the process-group leader
    job_id: str | None = None  # ray: the submission id
    native: Any = field(default=None, repr=False)  # the executor's own handle (Popen, psutil.Process)

    def row_fields(self) -> dict:
        """What the experiment row keeps so that ``reattach`` finds the job again."""
        return {"executor": self.executor, "pid": self.pid, "job_id": self.job_id}


@dataclass(frozen=True)
class JobState:
    alive: bool
    exit_code: int | None = None  # negative: killed by that signal; None: unknown
    pids: frozenset[int] = frozenset()  # processes of the job we know of, for an OOM check


class Executor(ABC):
    name: str
    # True when the executor's cluster places GPUs itself (the local GPU pool is not used).
    schedules_gpus: bool = False

    def cluster_has_gpus(self) -> bool:
        """Whether the cluster that places GPUs has any (only asked when ``schedules_gpus``)."""
        return False

    @abstractmethod
    def start(self, spec: LaunchSpec) -> Job:
        """Start the job; raises OSError or ExecutorError when it cannot."""

    @abstractmethod
    def poll(self, job: Job) -> JobState:
        """Whether the job still runs, and how it ended once it does not."""

    @abstractmethod
    def stop(self, job: Job, force: bool = False) -> None:
        """Ask every process of the job to end (SIGTERM); ``force`` kills them."""

    @abstractmethod
    def logs(self, job: Job, lines: int) -> str:
        """The last ``lines`` lines of the job's own output (stdout and stderr)."""

    @abstractmethod
    def reattach(self, row: dict, run_dir: Path) -> Job | None:
        """The job of a row stored as running by an earlier app process, or None when it is gone."""
