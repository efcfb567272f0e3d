"""Jobs as local processes: ``python -m training RUN_DIR`` or its torchrun form, in their own session.

Each job leads its own process group (``start_new_session=True``), so Stop signals every
rank, data-loader worker and child at once, and closing the app does not stop a run.
After an app restart a job is found again by its pid, which must still lead its own
group and carry the run folder on its command line (a guard against pid reuse).
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import psutil

from studio.process_group import group_leader, kill_group, signal_group

from ..run_folder_reader import tail_log
from .base import Executor, Job, JobState, LaunchSpec
from .process_table import ProcessTable


class LocalExecutor(Executor):
    name = "local"

    def __init__(self):
        # torchrun starts each rank in a process group of its own, so a SIGKILL to the
        # leader's group alone would orphan them: remember every descendant seen.
        self._descendants: dict[int, list[psutil.Process]] = {}
        self._table = ProcessTable()

    def start(self, spec: LaunchSpec) -> Job:
        env = {**os.environ, **spec.env}
        with open(spec.log_path, "ab") as output:
            output.write(f"[studio] {time.strftime('%Y-%m-%d %H:%M:%S')} starting {' '.join(spec.argv)} on "
                         f"{'GPU ' + ','.join(spec.gpus) if spec.gpus else 'CPU'}\n".encode())
            output.flush()
            popen = subprocess.Popen(
                spec.argv, stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT,
                cwd=spec.run_dir, env=env, start_new_session=True, close_fds=True,
            )
        return Job(self.name, spec.experiment_id, spec.run_dir, pid=popen.pid, native=popen)

    def poll(self, job: Job) -> JobState:
        if isinstance(job.native, subprocess.Popen):
            try:
                # WNOWAIT leaves the exited leader a zombie, so its pid (= the group id)
                # cannot be reused while we kill whatever is left of its group.
                info = os.waitid(os.P_PID, job.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                info = True  # already reaped
            if info is None:
                return JobState(alive=True, pids=self._group_pids(job))
            kill_group(job.pid)
            self._kill_descendants(job)
            return JobState(alive=False, exit_code=job.native.wait(), pids=frozenset({job.pid}))
        try:
            alive = job.native is not None and job.native.is_running() and \
                job.native.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            alive = False
        if not alive and job.native is not None:  # never signal a pid that was not ours
            kill_group(job.pid)
            self._kill_descendants(job)
        if alive:
            return JobState(alive=True, pids=self._group_pids(job))
        return JobState(alive=False, pids=frozenset({job.pid}) if job.pid else frozenset())

    def stop(self, job: Job, force: bool = False) -> None:
        # SIGTERM goes to the leader's group only: torchrun passes it on to every rank.
        if force:
            self._group_pids(job, fresh=True)
            self._kill_descendants(job)
        signal_group(job.pid, signal.SIGKILL if force else signal.SIGTERM)

    def logs(self, job: Job, lines: int) -> str:
        return tail_log(job.run_dir / "system.log", lines)

    def reattach(self, row: dict, run_dir: Path) -> Job | None:
        pid = row.get("pid")
        leader = group_leader(pid)
        if leader is None:
            return None
        process, cmdline = leader
        if not any(arg == str(run_dir) or _same_path(arg, run_dir) for arg in cmdline[1:]):
            return None
        return Job(self.name, row["id"], run_dir, pid=int(pid), native=process)

    def _group_pids(self, job: Job, fresh: bool = False) -> frozenset[int]:
        known = {child.pid: child for child in self._descendants.get(job.pid, [])}
        for pid in self._table.descendants(job.pid, fresh):
            if pid not in known:
                try:
                    known[pid] = psutil.Process(pid)  # remembers its start time: a reused pid is not killed
                except psutil.Error:
                    pass
        self._descendants[job.pid] = list(known.values())
        return frozenset({job.pid, *known})

    def _kill_descendants(self, job: Job) -> None:
        """SIGKILL every descendant seen that still runs (psutil checks the pid was not reused)."""
        for child in self._descendants.pop(job.pid, []):
            try:
                if child.is_running():
                    child.kill()
            except psutil.Error:
                pass


def _same_path(arg: str, run_dir: Path) -> bool:
    try:
        return Path(arg).resolve() == run_dir
    except (OSError, ValueError):
        return False
