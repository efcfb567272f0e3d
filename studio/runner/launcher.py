"""Starting the queue's head: its devices from the GPU pool, its command, its job."""
from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Callable

from studio import paths
from studio.atomic_io import write_json_atomic
from studio.services.judge_endpoint import judge_environment

from .executors import Executor, ExecutorError, LaunchSpec
from .gpu_inventory import runs_get_gpus
from .gpu_pool import GpuPool, plan_devices
from .kill_cause import oom_kill_count
from .launch_command import distributed, engine_argv, with_resume
from .live_run import LiveRun
from .run_folder_reader import SYSTEM_LOG
from .run_results import requested_gpus
from .timestamps import iso as _iso

STARTING, FAILED = "Starting", "Failed"


class Launcher:
    """Turns a queued experiment into a started job, or records why it cannot start."""

    def __init__(self, store, home: Path, python: str, command_factory, pool: GpuPool,
                 update: Callable[[str, dict], None]):
        self.store = store
        self.home = home
        self.python = python
        self.command_factory = command_factory
        self.pool = pool
        self.gpus = pool.gpus
        self._update = update

    def _run_dir(self, experiment_id: str) -> Path:
        return paths.run_dir(experiment_id, self.home)

    def launch(self, experiment_id: str, executor: Executor) -> LiveRun | None | bool:
        """Start the queue's head: its LiveRun; True when it ended before starting (recorded);
        False while it waits for GPUs (it stays at the head)."""
        experiment = self.store.experiments.get(experiment_id)
        if experiment is None:
            return True  # deleted while it waited: just drop it
        run_dir = self._run_dir(experiment_id)
        if not (run_dir / "config.yaml").is_file():
            self.fail_before_start(experiment_id, f"{run_dir / 'config.yaml'} is missing")
            return True
        plan = plan_devices(requested_gpus(run_dir), runs_get_gpus(executor, self.gpus))
        gpus: list[str] = []
        if plan.num_gpus and not executor.schedules_gpus:
            if not self.pool.can_ever_fit(plan.num_gpus):
                self.fail_before_start(experiment_id, f"environment.number_of_gpus is {plan.num_gpus} but this "
                                        f"machine has {len(self.gpus)} GPU(s); lower it or use a cluster executor")
                return True
            taken = self.pool.take(experiment_id, plan.num_gpus)
            if taken is None:
                self._set_waiting(experiment_id, plan.num_gpus)
                return False
            gpus = taken
        base = self.command_factory(experiment) if self.command_factory else engine_argv(self.python, run_dir)
        argv = with_resume(distributed(base, plan.num_processes), bool(experiment.get("resume")))
        started = time.time()
        try:
            # A status.json left by an earlier attempt (resume) must not be read as this one's end.
            write_json_atomic(run_dir / "status.json", {
                "status": STARTING, "stage": "starting", "progress": 0.0, "pid": None,
                "started": _iso(started), "updated": _iso(started), "error": None,
            })
            spec = LaunchSpec(experiment_id, run_dir, argv, self._environment(gpus, experiment_id), gpus, plan.num_gpus,
                              plan.num_processes, run_dir / SYSTEM_LOG)
            job = executor.start(spec)
        except (OSError, ExecutorError) as exc:
            where = argv[0] if isinstance(exc, OSError) and exc.filename == argv[0] else "the job"
            self.fail_before_start(experiment_id, f"could not start {where}: {exc}")
            return True
        except Exception:
            self.pool.release(experiment_id)
            raise
        run = LiveRun(experiment_id, run_dir, job, executor, started, gpus,
                      mirrored={"status": STARTING}, oom_kills_at_start=oom_kill_count())
        self._update(experiment_id, {
            "status": STARTING, "stage": "starting", "progress": 0.0, **job.row_fields(),
            "started": _iso(started), "gpus": gpus, "num_gpus": plan.num_gpus,
            "num_processes": plan.num_processes, "finished": None, "runtime_s": None, "error": None,
            "error_log": None, "warning": None,
        })
        return run

    def _set_waiting(self, experiment_id: str, count: int) -> None:
        stage = f"waiting for {count} free GPU(s)"
        if (self.store.experiments.get(experiment_id) or {}).get("stage") != stage:
            self._update(experiment_id, {"stage": stage})

    def _environment(self, gpus: list[str], experiment_id: str | None = None) -> dict[str, str]:
        """What the engine needs beyond the executor's own environment (the judge key of the run's owner)."""
        owner = (self.store.experiments.get(experiment_id) or {}).get("owner") if experiment_id else None
        env = {
            "STUDIO_HOME": str(self.home),
            "CUDA_VISIBLE_DEVICES": ",".join(gpus),  # "" hides every GPU: a CPU run
            "PYTHONUNBUFFERED": "1",  # so system.log shows output as it happens
            **judge_environment(self.store, owner),
        }
        # `python -m training` must import this checkout's engine whatever the cwd.
        project_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (project_root, os.environ.get("PYTHONPATH")) if p)
        return env

    def fail_before_start(self, experiment_id: str, reason: str) -> None:
        now = time.time()
        reason = " ".join(reason.split())  # one line, like every status error
        self.pool.release(experiment_id)
        try:
            write_json_atomic(self._run_dir(experiment_id) / "status.json", {
                "status": FAILED, "stage": "not started", "progress": 0.0, "pid": None,
                "started": None, "updated": _iso(now), "error": reason,
            })
        except OSError:
            pass  # the store row below still tells the user why
        self._update(experiment_id, {"status": FAILED, "stage": "not started", "error": reason,
                                     "finished": _iso(now), "pid": None})

