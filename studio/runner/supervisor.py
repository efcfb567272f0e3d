"""The supervisor: a FIFO queue of experiments and the training processes it watches.

One daemon thread in the app process starts ``python -m training RUN_DIR`` for queued
experiments while slots are free, mirrors each run's ``status.json`` into the store, and
decides the final status when a process ends. Callers (UI, services) only change
in-memory state and send signals, so no request ever waits on a training process.

Training processes run in their own session (``start_new_session=True``): Stop signals
the whole process group, so data-loader workers and other children die with the run,
and closing the app or the browser does not stop a run. When the app starts again it
reattaches to runs that are still alive and fails the ones that died meanwhile.
"""
from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import psutil
import yaml

from studio import paths
from studio.atomic_io import write_json_atomic
from studio.config.problem_types import DEFAULT_METRICS
from studio.config.runner_settings import HUNG_RUN_TIMEOUT_MINUTES, HUNG_WARNING_FRACTION, MAX_CONCURRENT_RUNS
from studio.process_group import group_leader, kill_group, signal_group
from studio.services.judge_endpoint import judge_environment
from studio.store import NotFoundError

from .errors import RunError
from .failure_reason import (exit_description, failure_reason, last_log_lines, rank_killed_by_signal,
                             storage_reason)
from .gpu_inventory import detect_gpus
from .kill_cause import describe_signal_death, oom_kill_count
from .run_folder_reader import (ACTIVE_STATUSES, RESUME_CHECKPOINT, SYSTEM_LOG, TERMINAL_STATUSES,
                                has_resume_checkpoint, read_final_metrics,
                                read_status)
from .timestamps import epoch as _epoch, iso as _iso

log = logging.getLogger(__name__)

QUEUED, STARTING, STOPPED, FAILED, COMPLETED = "Queued", "Starting", "Stopped", "Failed", "Completed"
MAX_CONCURRENT_SETTING = MAX_CONCURRENT_RUNS.key
GONE_AFTER_RESTART = "the app restarted and the training process was gone"
# A deleted run folder is renamed to this prefix first, then removed in the background.
TRASH_PREFIX = ".deleting-"

CommandFactory = Callable[[dict], list[str]]
ChangeCallback = Callable[[str, dict], None]


@dataclass
class _LiveRun:
    """A training process the supervisor watches."""

    experiment_id: str
    run_dir: Path
    pid: int
    started: float
    gpus: list[str]
    popen: subprocess.Popen | None = None  # None after a restart: not our child any more
    process: psutil.Process | None = None  # for reattached runs; remembers create time
    stop_requested: bool = False
    kill_at: float | None = None  # when SIGKILL follows the SIGTERM of a stop
    delete_when_done: bool = False
    mirrored: dict = field(default_factory=dict)  # what the store last got from status.json
    last_write: float = 0.0
    oom_kills_at_start: int | None = None  # the memory cgroup's count, to tell an OOM kill
    hang_warned: bool = False
    hung_reason: str | None = None  # set when the runner killed it for a stale heartbeat
    final_changes: dict | None = None  # decided but not yet stored: retried on the next tick


class Supervisor:
    """Queue, start, watch, stop, resume and delete training runs.

    ``store`` is a ``studio.store.Store``; ``home`` is STUDIO_HOME. ``command_factory``
    replaces the engine command (tests run small scripts); it receives the experiment row
    and returns an argv. ``gpus`` replaces GPU detection ([] forces CPU).
    """

    def __init__(self, store, home: str | os.PathLike, max_concurrent: int | None = None,
                 python: str = sys.executable, poll_interval: float = 1.0,
                 command_factory: CommandFactory | None = None, stop_grace_s: float = 10.0,
                 progress_write_interval_s: float = 3.0, gpus: list[str] | None = None):
        self.store = store
        self.home = Path(home).resolve()
        self.python = python
        self.poll_interval = poll_interval
        self.command_factory = command_factory
        self.stop_grace_s = stop_grace_s
        self.progress_write_interval_s = progress_write_interval_s
        self.gpus = list(detect_gpus() if gpus is None else gpus)
        self._max_concurrent = max_concurrent
        self._queue: deque[str] = deque()
        self._live: dict[str, _LiveRun] = {}
        self._callbacks: list[ChangeCallback] = []
        self._lock = threading.RLock()
        self._wake = threading.Event()
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> "Supervisor":
        """Reattach to runs left by a previous app process, then start the watcher thread."""
        with self._lock:
            if self._thread is not None:
                return self
            self._recover()
            self._halt.clear()
            self._thread = threading.Thread(target=self._loop, name="studio-runner", daemon=True)
            self._thread.start()
        return self

    def shutdown(self, timeout: float = 5.0) -> None:
        """Stop watching. Training processes keep running; the next ``start()`` reattaches."""
        self._halt.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def on_change(self, callback: ChangeCallback) -> None:
        """Call ``callback(experiment_id, changes)`` after each change the runner stores."""
        with self._lock:
            self._callbacks.append(callback)

    # ------------------------------------------------------------------ requests
    def submit(self, experiment_id: str, resume: bool = False) -> None:
        """Put an experiment at the end of the queue; its run folder must hold config.yaml."""
        with self._lock:
            self._experiment(experiment_id)
            if experiment_id in self._live or experiment_id in self._queue:
                raise RunError(f"experiment {experiment_id} is already queued or running")
            config = self._run_dir(experiment_id) / "config.yaml"
            if not config.is_file():
                raise RunError(f"cannot queue experiment {experiment_id}: {config} does not exist; "
                               "write the experiment's config.yaml before submitting it")
            self._queue.append(experiment_id)
            self._update(experiment_id, {
                "status": QUEUED, "stage": "waiting for a free slot", "progress": 0.0, "error": None,
                "error_log": None, "queued_at": _iso(time.time(), "microseconds"), "resume": resume, "pid": None,
                "finished": None, "warning": None,
            })
        self._wake.set()

    def stop(self, experiment_id: str) -> None:
        """Take a queued run off the queue, or end a running one (SIGTERM, then SIGKILL)."""
        with self._lock:
            self._stop(experiment_id)
        self._wake.set()

    def resume(self, experiment_id: str) -> None:
        """Queue a Failed or Stopped run again, continuing from its ``checkpoint/last/``."""
        with self._lock:
            experiment = self._experiment(experiment_id)
            status = experiment.get("status")
            if status not in (FAILED, STOPPED):
                raise RunError(f"experiment {experiment_id} is {status}; only Failed or Stopped runs "
                               "can be resumed")
            if not has_resume_checkpoint(self._run_dir(experiment_id)):
                raise RunError(f"experiment {experiment_id} has no {RESUME_CHECKPOINT}/ to resume "
                               "from (it stopped before its first checkpoint); rerun it instead")
            self.submit(experiment_id, resume=True)

    def delete(self, experiment_id: str) -> None:
        """Remove the run folder and the database row; a running run is stopped first.

        Returns at once: a live run is deleted by the watcher thread once its process
        group is gone, so nothing keeps writing into a removed folder.
        """
        with self._lock:
            self._experiment(experiment_id)
            run = self._live.get(experiment_id)
            if run is not None:
                run.delete_when_done = True
                self._stop(experiment_id)
            else:
                if experiment_id in self._queue:
                    self._queue.remove(experiment_id)
                self._remove(experiment_id)
        self._wake.set()

    # ------------------------------------------------------------------ views
    def queued_ids(self) -> list[str]:
        with self._lock:
            return list(self._queue)

    def running_ids(self) -> list[str]:
        with self._lock:
            return list(self._live)

    def max_concurrent(self) -> int:
        """The ``max_concurrent_runs`` setting, else the constructor value, else one per GPU."""
        setting = MAX_CONCURRENT_RUNS.value(self.store.settings)
        for value in (setting, self._max_concurrent):
            if value is not None and int(value) >= 1:
                return int(value)
        return max(1, len(self.gpus))

    def hung_timeout_s(self) -> float:
        """Seconds without a heartbeat after which a run is failed as hung; 0 = never."""
        return float(HUNG_RUN_TIMEOUT_MINUTES.value(self.store.settings) or 0.0) * 60.0

    # ------------------------------------------------------------------ watcher thread
    def _loop(self) -> None:
        while not self._halt.is_set():
            try:
                with self._lock:
                    self._tick()
            except Exception:  # the watcher must outlive any single bad run or store hiccup
                log.exception("runner tick failed")
            self._wake.wait(self.poll_interval)
            self._wake.clear()

    def _tick(self) -> None:
        for run in list(self._live.values()):
            try:
                self._poll(run)
            except Exception:  # one unreadable run must not stop the others being watched
                log.exception("watching experiment %s failed", run.experiment_id)
        slots = self.max_concurrent() - len(self._live)
        while slots > 0 and self._queue:
            experiment_id = self._queue.popleft()
            try:
                launched = self._launch(experiment_id)
            except Exception as exc:  # e.g. an unwritable run folder: fail this run, keep going
                log.exception("starting experiment %s failed", experiment_id)
                self._fail_before_start(experiment_id, self._run_dir(experiment_id),
                                        f"the runner could not start the training process: {exc}")
                launched = False
            if launched:
                slots -= 1

    def _poll(self, run: _LiveRun) -> None:
        if run.final_changes is not None:
            self._finish(run, None)  # its end is decided; storing it failed last time
            return
        exit_code, alive = self._exit_state(run)
        if alive and not run.delete_when_done and self.store.experiments.get(run.experiment_id) is None:
            # The row was deleted behind the runner's back (a cheap in-memory read):
            # stop the orphaned run and remove its folder too.
            run.delete_when_done = True
            self._stop(run.experiment_id)
        if alive:
            if run.kill_at is not None and time.time() >= run.kill_at:
                signal_group(run.pid, signal.SIGKILL)
                run.kill_at = None
            status = read_status(run.run_dir)
            self._mirror(run, status)
            self._watch_heartbeat(run, status)
        else:
            self._finish(run, exit_code)

    def _exit_state(self, run: _LiveRun) -> tuple[int | None, bool]:
        """(exit code or None, whether the process still runs); kills group stragglers on exit."""
        if run.popen is not None:
            try:
                # WNOWAIT leaves the exited leader a zombie, so its pid (= the group id)
                # cannot be reused while we kill whatever is left of its group.
                info = os.waitid(os.P_PID, run.pid, os.WEXITED | os.WNOHANG | os.WNOWAIT)
            except ChildProcessError:
                info = True  # already reaped
            if info is None:
                return None, True
            kill_group(run.pid)
            return run.popen.wait(), False
        try:
            alive = run.process is not None and run.process.is_running() and \
                run.process.status() != psutil.STATUS_ZOMBIE
        except psutil.Error:
            alive = False
        if not alive and run.process is not None:  # never signal a pid that was not ours
            kill_group(run.pid)
        return None, alive

    # ------------------------------------------------------------------ starting
    def _launch(self, experiment_id: str) -> bool:
        experiment = self.store.experiments.get(experiment_id)
        if experiment is None:
            return False  # deleted while it waited
        run_dir = self._run_dir(experiment_id)
        if not (run_dir / "config.yaml").is_file():
            self._fail_before_start(experiment_id, run_dir, f"{run_dir / 'config.yaml'} is missing")
            return False
        gpus = self._pick_gpus()
        argv = self.command_factory(experiment) if self.command_factory else \
            [self.python, "-m", "training", str(run_dir)]
        if experiment.get("resume"):
            argv = [*argv, "--resume"]
        started = time.time()
        # A status.json left by an earlier attempt (resume) must not be read as this one's end.
        write_json_atomic(run_dir / "status.json", {
            "status": STARTING, "stage": "starting", "progress": 0.0, "pid": None,
            "started": _iso(started), "updated": _iso(started), "error": None,
        })
        try:
            with open(run_dir / SYSTEM_LOG, "ab") as system_log:
                system_log.write(f"[studio] {time.strftime('%Y-%m-%d %H:%M:%S')} starting "
                                 f"{' '.join(argv)} on {'GPU ' + ','.join(gpus) if gpus else 'CPU'}\n"
                                 .encode())
                system_log.flush()
                popen = subprocess.Popen(
                    argv, stdin=subprocess.DEVNULL, stdout=system_log, stderr=subprocess.STDOUT,
                    cwd=run_dir, env=self._environment(gpus), start_new_session=True, close_fds=True,
                )
        except OSError as exc:
            self._fail_before_start(experiment_id, run_dir, f"could not start {argv[0]}: {exc}")
            return False
        self._live[experiment_id] = _LiveRun(experiment_id, run_dir, popen.pid, started, gpus,
                                             popen=popen, mirrored={"status": STARTING},
                                             oom_kills_at_start=oom_kill_count())
        self._update(experiment_id, {
            "status": STARTING, "stage": "starting", "progress": 0.0, "pid": popen.pid,
            "started": _iso(started), "gpus": gpus, "finished": None, "runtime_s": None, "error": None,
            "error_log": None, "warning": None,
        })
        return True

    def _pick_gpus(self) -> list[str]:
        """One GPU per run: the one fewest live runs use (runs share when slots exceed GPUs)."""
        if not self.gpus:
            return []
        load = {gpu: 0 for gpu in self.gpus}
        for run in self._live.values():
            for gpu in run.gpus:
                if gpu in load:
                    load[gpu] += 1
        return [min(self.gpus, key=lambda gpu: load[gpu])]

    def _environment(self, gpus: list[str]) -> dict[str, str]:
        env = dict(os.environ)
        env["STUDIO_HOME"] = str(self.home)
        env["CUDA_VISIBLE_DEVICES"] = ",".join(gpus)  # "" hides every GPU: a CPU run
        env["PYTHONUNBUFFERED"] = "1"  # so system.log shows output as it happens
        env.update(judge_environment(self.store))
        # `python -m training` must import this checkout's engine whatever the cwd.
        project_root = str(Path(__file__).resolve().parents[2])
        env["PYTHONPATH"] = os.pathsep.join(p for p in (project_root, env.get("PYTHONPATH")) if p)
        return env

    def _fail_before_start(self, experiment_id: str, run_dir: Path, reason: str) -> None:
        now = time.time()
        reason = " ".join(reason.split())  # one line, like every status error
        try:
            write_json_atomic(run_dir / "status.json", {
                "status": FAILED, "stage": "not started", "progress": 0.0, "pid": None,
                "started": None, "updated": _iso(now), "error": reason,
            })
        except OSError:
            pass  # the store row below still tells the user why
        self._update(experiment_id, {"status": FAILED, "stage": "not started", "error": reason,
                                     "finished": _iso(now), "pid": None})

    # ------------------------------------------------------------------ watching
    def _mirror(self, run: _LiveRun, status: dict | None) -> None:
        """Copy status/stage/progress into the store when they changed.

        Every store write rewrites db.json, so a new status is written at once but
        stage and progress (which change every step) at most every few seconds.
        """
        if not status or not self._is_this_attempt(run, status):
            return
        if status.get("status") not in ACTIVE_STATUSES:
            return  # a terminal status is taken when the process has exited
        current = {key: status.get(key) for key in ("status", "stage", "progress")}
        changed = {key: value for key, value in current.items() if run.mirrored.get(key) != value}
        if not changed:
            return
        if run.stop_requested:
            changed.pop("stage", None)  # keep showing "stopping"
        due = time.time() - run.last_write >= self.progress_write_interval_s
        if "status" in changed or due:
            run.mirrored.update(current)
            run.last_write = time.time()
            if changed:
                self._update(run.experiment_id, changed)

    @staticmethod
    def _is_this_attempt(run: _LiveRun, status: dict) -> bool:
        pid = status.get("pid")
        return pid is None or pid == run.pid

    def _finish(self, run: _LiveRun, exit_code: int | None, gone_reason: str | None = None) -> None:
        """Decide the final status of a run whose process is gone, and record it.

        The run leaves the watch list only once the store holds its end: a full disk or a
        read-only run folder must not leave a row that says Starting for ever.
        """
        if run.final_changes is None:
            run.final_changes = self._final_changes(run, exit_code, gone_reason)
            self._write_final_status(run, run.final_changes)
        changes = run.final_changes
        if run.delete_when_done:
            self._remove(run.experiment_id)
        else:
            self._update(run.experiment_id, changes)
        self._live.pop(run.experiment_id, None)

    def _final_changes(self, run: _LiveRun, exit_code: int | None, gone_reason: str | None) -> dict:
        status = read_status(run.run_dir) or {}
        reported = status.get("status") if self._is_this_attempt(run, status) else None
        now = time.time()
        changes: dict = {"finished": _iso(now), "runtime_s": round(now - run.started, 3), "pid": None,
                         "warning": None, "reported_status": reported, "status_file": status}
        if reported == COMPLETED:
            changes.update(status=COMPLETED, stage=status.get("stage") or COMPLETED, error=None)
        elif run.hung_reason:
            changes.update(status=FAILED, stage="killed: not responding", error=run.hung_reason,
                           error_log=failure_reason(run.run_dir, run.hung_reason)[1])
        elif reported in TERMINAL_STATUSES and not run.stop_requested:
            changes.update(status=reported, stage=status.get("stage") or reported,
                           error=storage_reason(status.get("error"), run.run_dir))
        elif run.stop_requested:
            changes.update(status=STOPPED, stage="stopped by the user", error=None)
        else:
            summary, tail = failure_reason(run.run_dir, self._death_headline(run, exit_code, gone_reason))
            changes.update(status=FAILED, stage=status.get("stage") or "failed", error=summary,
                           error_log=tail)
        if changes["status"] == COMPLETED:
            changes["progress"] = 1.0
        changes.update(self._final_metrics(run.run_dir))
        return changes

    def _death_headline(self, run: _LiveRun, exit_code: int | None, gone_reason: str | None) -> str:
        if gone_reason:
            return gone_reason
        if exit_code is not None and exit_code < 0:
            return describe_signal_death(-exit_code, {run.pid}, run.oom_kills_at_start)
        rank = rank_killed_by_signal(last_log_lines(run.run_dir))
        if rank is not None:  # torchrun exits 1 when one of its ranks was killed
            number, pid = rank
            return describe_signal_death(number, {pid}, run.oom_kills_at_start).replace(
                "the training process", f"a training rank (pid {pid})", 1)
        return f"the training process {exit_description(exit_code)} without reporting a final status"

    def _write_final_status(self, run: _LiveRun, changes: dict) -> None:
        """Make the files say what the store says, for the UI and file readers alike; best effort."""
        status = changes.pop("status_file")
        reported = changes.pop("reported_status")
        try:
            if reported != changes["status"] and run.run_dir.is_dir():
                write_json_atomic(run.run_dir / "status.json", {
                    **status, "status": changes["status"], "stage": changes["stage"],
                    "progress": status.get("progress", 0.0), "pid": run.pid,
                    "started": status.get("started") or _iso(run.started), "updated": changes["finished"],
                    "error": changes["error"],
                })
        except OSError as exc:  # a full disk or a read-only folder: the store still gets the end
            log.warning("could not write the final status of %s: %s", run.experiment_id, exc)
        self._append_system_log(run.run_dir, f"run ended: {changes['status']}"
                                + (f" ({changes['error']})" if changes.get("error") else ""))

    def _final_metrics(self, run_dir: Path) -> dict:
        metrics = read_final_metrics(run_dir)
        if not metrics:
            return {}
        name = self._primary_metric(run_dir)
        scalars = {k: v for k, v in metrics.items() if not isinstance(v, dict)}
        if name not in scalars:
            name = next(iter(scalars), None)
        if name is None:
            return {"final_metrics": metrics}
        # The engine records the best evaluation of the primary metric beside the last one.
        best = (metrics.get("best") or {}).get(name, scalars[name])
        return {"final_metrics": metrics, "metric_name": name, "best_metric": best}

    @staticmethod
    def _primary_metric(run_dir: Path) -> str | None:
        """The first of the run's validation metrics (the one the leaderboard sorts by)."""
        try:
            config = yaml.safe_load((run_dir / "config.yaml").read_text(encoding="utf-8")) or {}
        except (OSError, yaml.YAMLError):
            return None
        metrics = (config.get("prediction") or {}).get("metrics")
        if metrics:
            return metrics[0]
        defaults = DEFAULT_METRICS.get(config.get("problem_type"))
        return defaults[0] if defaults else None

    def _watch_heartbeat(self, run: _LiveRun, status: dict | None) -> None:
        """Warn about, then kill, a run whose engine stopped beating (SIGSTOP, a frozen node).

        The engine refreshes ``heartbeat`` in status.json from a thread every few seconds,
        so a long step or evaluation is not a hang; a stopped or frozen process is.
        """
        timeout = self.hung_timeout_s()
        if timeout <= 0 or run.stop_requested or run.hung_reason:
            return
        this_attempt = status if status and self._is_this_attempt(run, status) else {}
        beats = [_epoch(this_attempt.get(key)) for key in ("heartbeat", "updated")]
        last = max([run.started] + [beat for beat in beats if beat])
        silent = time.time() - last
        minutes = f"{timeout / 60:g}"
        if silent >= timeout:
            run.hung_reason = (f"no progress for {minutes} minutes: the training process stopped "
                               f"responding (last heartbeat {_iso(last)}), so the runner killed its "
                               "process group")
            self._append_system_log(run.run_dir, f"{run.hung_reason}; SIGKILL to the process group")
            signal_group(run.pid, signal.SIGKILL)  # SIGKILL also ends a stopped process
            self._update(run.experiment_id, {"stage": "killed: not responding"})
        elif silent >= timeout * HUNG_WARNING_FRACTION and not run.hang_warned:
            run.hang_warned = True
            warning = (f"not responding: no heartbeat for {silent / 60:.1f} minutes; the run will be failed "
                       f"as hung after {minutes} minutes")
            self._append_system_log(run.run_dir, warning)
            run.mirrored["stage"] = None  # the engine's next stage replaces the warning
            self._update(run.experiment_id, {"warning": warning, "stage": warning})
        elif silent < timeout * HUNG_WARNING_FRACTION and run.hang_warned:
            run.hang_warned = False
            self._update(run.experiment_id, {"warning": None})

    # ------------------------------------------------------------------ stopping
    def _stop(self, experiment_id: str) -> None:
        if experiment_id in self._queue:
            self._queue.remove(experiment_id)
            self._update(experiment_id, {"status": STOPPED, "stage": "removed from the queue",
                                         "finished": _iso(time.time())})
            return
        run = self._live.get(experiment_id)
        if run is None:
            self._experiment(experiment_id)
            return  # not queued nor running: nothing to stop
        if not run.stop_requested:
            run.stop_requested = True
            run.kill_at = time.time() + self.stop_grace_s
            self._append_system_log(run.run_dir, "stop requested: SIGTERM to the process group")
            signal_group(run.pid, signal.SIGTERM)
            self._update(experiment_id, {"stage": "stopping"})

    # ------------------------------------------------------------------ restart recovery
    def _recover(self) -> None:
        runs_root = self.home / "runs"
        if runs_root.is_dir():  # folders a deletion left half removed when the app stopped
            _delete_in_background(list(runs_root.glob(f"{TRASH_PREFIX}*")))
        queued = []
        for experiment in self.store.experiments.list():
            experiment_id = experiment["id"]
            if experiment_id in self._live or experiment_id in self._queue:
                continue
            status = experiment.get("status")
            if status == QUEUED:
                queued.append(experiment)
            elif status in ACTIVE_STATUSES:
                try:
                    self._reattach(experiment)
                except Exception:  # the app must start whatever state one run folder is in
                    log.exception("reattaching experiment %s failed; the watcher retries it", experiment_id)
        queued.sort(key=lambda e: (str(e.get("queued_at") or ""), str(e.get("created") or "")))
        self._queue.extend(e["id"] for e in queued)

    def _reattach(self, experiment: dict) -> None:
        experiment_id = experiment["id"]
        run_dir = self._run_dir(experiment_id)
        started = _epoch(experiment.get("started")) or time.time()
        gpus = list(experiment.get("gpus") or [])
        process = self._our_process(experiment.get("pid"), run_dir)
        pid = experiment.get("pid") or 0
        run = _LiveRun(experiment_id, run_dir, pid, started, gpus, process=process,
                       mirrored={"status": experiment.get("status"), "stage": experiment.get("stage"),
                                 "progress": experiment.get("progress")})
        self._live[experiment_id] = run  # until its end is stored, even if storing it fails now
        if process is None:
            self._finish(run, None, gone_reason=GONE_AFTER_RESTART)
        else:
            self._append_system_log(run_dir, f"app restarted: watching pid {pid} again")

    @staticmethod
    def _our_process(pid, run_dir: Path) -> psutil.Process | None:
        """The process ``pid`` if it is still our run's training process, else None.

        A pid can be reused after a reboot or a long time, so besides leading its own process
        group it must have the run folder on its command line.
        """
        leader = group_leader(pid)
        if leader is None:
            return None
        process, cmdline = leader
        wanted = str(run_dir)
        if any(arg == wanted or _same_path(arg, run_dir) for arg in cmdline[1:]):
            return process
        return None

    # ------------------------------------------------------------------ store and files
    def _experiment(self, experiment_id: str) -> dict:
        experiment = self.store.experiments.get(experiment_id)
        if experiment is None:
            raise RunError(f"there is no experiment {experiment_id}")
        return experiment

    def _run_dir(self, experiment_id: str) -> Path:
        return paths.run_dir(experiment_id, self.home)

    def _update(self, experiment_id: str, changes: dict) -> None:
        try:
            self.store.experiments.update(experiment_id, **changes)
        except NotFoundError:
            # The row was deleted behind the runner's back: forget the run rather than
            # fail on every tick; its process group is still stopped if it was live.
            run = self._live.get(experiment_id)
            if run is not None:
                run.delete_when_done = True
                self._stop(experiment_id)
            return
        self._notify(experiment_id, changes)

    def _remove(self, experiment_id: str) -> None:
        run_dir = self._run_dir(experiment_id)
        if run_dir.exists():
            # Checkpoints can be gigabytes: rename now (instant, the run is gone for every
            # reader) and delete the files off the caller's and the watcher's path.
            trash = run_dir.with_name(f"{TRASH_PREFIX}{experiment_id}-{uuid.uuid4().hex[:6]}")
            try:
                run_dir.rename(trash)
            except OSError:
                shutil.rmtree(run_dir, ignore_errors=True)
            else:
                _delete_in_background([trash])
        try:
            self.store.experiments.delete(experiment_id)
        except NotFoundError:
            pass  # already gone: deleting twice is not an error
        self._notify(experiment_id, {"deleted": True})

    def _notify(self, experiment_id: str, changes: dict) -> None:
        for callback in list(self._callbacks):
            try:
                callback(experiment_id, dict(changes))
            except Exception:  # a broken listener must not stop the runner
                log.exception("runner on_change callback failed")

    @staticmethod
    def _append_system_log(run_dir: Path, message: str) -> None:
        if not run_dir.is_dir():
            return
        try:
            with open(run_dir / SYSTEM_LOG, "a", encoding="utf-8") as handle:
                handle.write(f"[studio] {time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")
        except OSError:
            pass


def _delete_in_background(folders: list[Path]) -> None:
    if folders:
        threading.Thread(target=lambda: [shutil.rmtree(f, ignore_errors=True) for f in folders],
                         name="studio-runner-delete", daemon=True).start()


def _same_path(arg: str, run_dir: Path) -> bool:
    try:
        return Path(arg).resolve() == run_dir
    except (OSError, ValueError):
        return False
