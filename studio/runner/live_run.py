"""A run the supervisor watches, and the few facts it keeps about it between ticks."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from .executors import Executor, Job


@dataclass
class LiveRun:
    experiment_id: str
    run_dir: Path
    job: Job
    executor: Executor
    started: float
    gpus: list[str]
    stop_requested: bool = False
    kill_at: float | None = None  # when the forced kill follows the SIGTERM of a stop
    delete_when_done: bool = False
    mirrored: dict = field(default_factory=dict)  # what the store last got from status.json
    last_write: float = 0.0
    oom_kills_at_start: int | None = None  # the memory cgroup's count, to tell an OOM kill
    pids: frozenset[int] = frozenset()  # processes of the job seen last, for the OOM check
    hang_warned: bool = False
    hung_reason: str | None = None  # set when the runner killed it for a stale heartbeat
    end_as: tuple[str, str] | None = None  # (status, stage) a requested stop ends with: a pruned trial
    stop_reason: str | None = None  # the error a stop by the runner ends with (the maximum run time)
    final_changes: dict | None = None  # decided but not yet stored: retried on the next tick

    def is_this_attempt(self, status: dict) -> bool:
        """Whether status.json was written by this attempt, not one before it.

        Rank 0 under torchrun, or a Ray node, writes its own pid, so besides the leader's
        pid a status started since this launch counts (started is whole seconds).
        """
        pid = status.get("pid")
        if pid is None or pid == self.job.pid:
            return True
        from .timestamps import epoch
        started = epoch(status.get("started"))
        return started is not None and started >= int(self.started) - 1
