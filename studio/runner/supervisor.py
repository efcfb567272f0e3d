"""The supervisor: a FIFO queue of experiments, a GPU pool, and the jobs it watches.

One daemon thread in the app process starts queued experiments while slots and GPUs are
free, mirrors each run's ``status.json`` into the store, and decides the final status
when a job ends. Callers (UI, services) only change in-memory state and send signals, so
no request ever waits on a training process.

Where a job runs is an executor's business (``executors/``: local processes or a Ray
cluster); the supervisor only starts, polls, stops and reattaches through that
interface, and reads the run folder, the one channel from the engine. When the app
starts again it reattaches to runs that are still alive and fails the ones that died.
"""
from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import Callable

from studio import paths
from studio.config.runner_settings import HUNG_RUN_TIMEOUT_MINUTES, MAX_CONCURRENT_RUNS
from studio.store import NotFoundError

from . import hang_watch, time_limit
from .errors import RunError
from .executors import Executor, Job, chosen_executor, make_executor
from .gpu_inventory import detect_gpus
from .gpu_pool import GpuPool
from .launcher import Launcher
from .live_run import LiveRun
from .run_end import append_system_log, decide_end, write_final_status
from .run_folder_reader import ACTIVE_STATUSES, RESUME_CHECKPOINT, has_resume_checkpoint, read_status
from .run_trash import delete_left_over_trash, remove_run_folder
from .timestamps import epoch as _epoch, iso as _iso

log = logging.getLogger(__name__)

QUEUED, STOPPED, FAILED = "Queued", "Stopped", "Failed"
GONE_AFTER_RESTART = "the app restarted and the training process was gone"

CommandFactory = Callable[[dict], list[str]]
ChangeCallback = Callable[[str, dict], None]


class Supervisor:
    """Queue, start, watch, stop, resume and delete training runs.

    ``store`` is a ``studio.store.Store``; ``home`` is STUDIO_HOME. ``command_factory``
    replaces the engine command (tests run small scripts); it receives the experiment row
    and returns a Python argv, which runs under torchrun for a multi-process run. ``gpus``
    replaces GPU detection ([] forces CPU). ``executor`` replaces the one the settings
    and STUDIO_EXECUTOR choose.
    """

    def __init__(self, store, home: str | os.PathLike, max_concurrent: int | None = None,
                 python: str = sys.executable, poll_interval: float = 1.0,
                 command_factory: CommandFactory | None = None, stop_grace_s: float = 10.0,
                 progress_write_interval_s: float = 3.0, gpus: list[str] | None = None,
                 executor: Executor | None = None):
        self.store = store
        self.home = Path(home).resolve()
        self.python = python
        self.poll_interval = poll_interval
        self.command_factory = command_factory
        self.stop_grace_s = stop_grace_s
        self.progress_write_interval_s = progress_write_interval_s
        self.gpus = list(detect_gpus() if gpus is None else gpus)
        self.pool = GpuPool(self.gpus)
        self.launcher = Launcher(store, self.home, python, command_factory, self.pool, self._update)
        self._executor = executor
        self._executors: dict[str, Executor] = {executor.name: executor} if executor else {}
        self._max_concurrent = max_concurrent
        self._queue: deque[str] = deque()
        self._live: dict[str, LiveRun] = {}
        self._callbacks: list[ChangeCallback] = []
        self._tick_hooks: list[Callable[[], None]] = []
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
        """Stop watching. Training jobs keep running; the next ``start()`` reattaches."""
        self._halt.set()
        self._wake.set()
        thread, self._thread = self._thread, None
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout)

    def on_change(self, callback: ChangeCallback) -> None:
        """Call ``callback(experiment_id, changes)`` after each change the runner stores."""
        with self._lock:
            self._callbacks.append(callback)

    def on_tick(self, hook: Callable[[], None]) -> None:
        """Call ``hook()`` on the watcher thread after each tick (the study driver reads its trials
        there, so a study needs no thread of its own); it runs under the runner's lock."""
        with self._lock:
            self._tick_hooks.append(hook)

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

    def stop(self, experiment_id: str, end_as: tuple[str, str] | None = None) -> None:
        """Take a queued run off the queue, or end a running one (SIGTERM, then a forced kill).

        ``end_as`` (status, stage) replaces "Stopped" as its end: ("Pruned", why) from its study."""
        with self._lock:
            if end_as and experiment_id in self._live:
                self._live[experiment_id].end_as = end_as
            self._stop(experiment_id)
        self._wake.set()

    def resume(self, experiment_id: str) -> None:
        """Queue a Failed or Stopped run again, continuing from its ``checkpoint/last/``."""
        with self._lock:
            status = self._experiment(experiment_id).get("status")
            if status not in (FAILED, STOPPED):
                raise RunError(f"experiment {experiment_id} is {status}; only Failed or Stopped runs "
                               "can be resumed")
            if not has_resume_checkpoint(self._run_dir(experiment_id)):
                raise RunError(f"experiment {experiment_id} has no {RESUME_CHECKPOINT}/ to resume "
                               "from (it stopped before its first checkpoint); rerun it instead")
            self.submit(experiment_id, resume=True)

    def delete(self, experiment_id: str) -> None:
        """Remove the run folder and the database row; a running run is stopped first.

        Returns at once: a live run is deleted by the watcher thread once its job is gone,
        so nothing keeps writing into a removed folder.
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
        for value in (MAX_CONCURRENT_RUNS.value(self.store.settings), self._max_concurrent):
            if value is not None and int(value) >= 1:
                return int(value)
        return max(1, len(self.gpus))

    def hung_timeout_s(self) -> float:
        """Seconds without a heartbeat after which a run is failed as hung; 0 = never."""
        return float(HUNG_RUN_TIMEOUT_MINUTES.value(self.store.settings) or 0.0) * 60.0

    def executor(self, name: str | None = None) -> Executor:
        """The executor new runs go to (settings / STUDIO_EXECUTOR), or the one called ``name``."""
        if name is None:
            if self._executor is not None:
                return self._executor
            name = chosen_executor(self.store.settings)
        if name not in self._executors:
            self._executors[name] = make_executor(name, self.store.settings)
        return self._executors[name]

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
        # Strict FIFO: the head starts or waits; nothing behind it overtakes (see gpu_pool).
        while self._queue and len(self._live) < self.max_concurrent():
            experiment_id = self._queue[0]
            try:
                started = self.launcher.launch(experiment_id, self.executor())
            except Exception as exc:  # e.g. an unwritable run folder: fail this run, keep going
                log.exception("starting experiment %s failed", experiment_id)
                self.launcher.fail_before_start(experiment_id,
                                                f"the runner could not start the training process: {exc}")
                started = True
            if started is False:
                break  # the head waits for GPUs
            self._queue.popleft()
            if isinstance(started, LiveRun):
                self._live[experiment_id] = started
        for hook in list(self._tick_hooks):
            try:
                hook()
            except Exception:  # a broken study must not stop the runner
                log.exception("runner tick hook failed")

    def _poll(self, run: LiveRun) -> None:
        if run.final_changes is not None:
            self._finish(run, None)  # its end is decided; storing it failed last time
            return
        state = run.executor.poll(run.job)
        run.pids = state.pids or run.pids
        if state.alive and not run.delete_when_done and self.store.experiments.get(run.experiment_id) is None:
            # The row was deleted behind the runner's back (a cheap in-memory read):
            # stop the orphaned run and remove its folder too.
            run.delete_when_done = True
            self._stop(run.experiment_id)
        if state.alive:
            if run.kill_at is not None and time.time() >= run.kill_at:
                run.executor.stop(run.job, force=True)
                run.kill_at = None
            status = read_status(run.run_dir)
            self._mirror(run, status)
            hang_watch.watch_heartbeat(run, status, self.hung_timeout_s(), self._update)
            time_limit.enforce(run, self.store.settings, self._stop)
        else:
            self._finish(run, state.exit_code)

    # ------------------------------------------------------------------ watching
    def _mirror(self, run: LiveRun, status: dict | None) -> None:
        """Copy status/stage/progress into the store when they changed.

        Every store write rewrites db.json, so a new status is written at once but
        stage and progress (which change every step) at most every few seconds.
        """
        if not status or not run.is_this_attempt(status) or status.get("status") not in ACTIVE_STATUSES:
            return  # a terminal status is taken when the job has ended
        current = {key: status.get(key) for key in ("status", "stage", "progress")}
        changed = {key: value for key, value in current.items() if run.mirrored.get(key) != value}
        if not changed:
            return
        if run.stop_requested:
            changed.pop("stage", None)  # keep showing "stopping"
        if "status" in changed or time.time() - run.last_write >= self.progress_write_interval_s:
            run.mirrored.update(current)
            run.last_write = time.time()
            if changed:
                self._update(run.experiment_id, changed)

    def _finish(self, run: LiveRun, exit_code: int | None, gone_reason: str | None = None) -> None:
        """Record the end of a run whose job is gone.

        The run leaves the watch list only once the store holds its end: a full disk or a
        read-only run folder must not leave a row that says Starting for ever.
        """
        if run.final_changes is None:
            run.final_changes = decide_end(run, exit_code, gone_reason)
            write_final_status(run, run.final_changes)
        if run.delete_when_done:
            self._remove(run.experiment_id)
        else:
            self._update(run.experiment_id, run.final_changes)
        self._live.pop(run.experiment_id, None)
        self.pool.release(run.experiment_id)

    # ------------------------------------------------------------------ stopping
    def _stop(self, experiment_id: str) -> None:
        if experiment_id in self._queue:
            self._queue.remove(experiment_id)
            self.pool.release(experiment_id)
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
            append_system_log(run, f"stop requested: SIGTERM to every process of the job ({run.executor.name})")
            run.executor.stop(run.job)
            self._update(experiment_id, {"stage": "stopping"})

    # ------------------------------------------------------------------ restart recovery
    def _recover(self) -> None:
        delete_left_over_trash(self.home / "runs")
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
        executor = self.executor(experiment.get("executor") or "local")
        job = executor.reattach(experiment, run_dir)
        gone = job is None
        if gone:
            job = Job(executor.name, experiment_id, run_dir, pid=experiment.get("pid"),
                      job_id=experiment.get("job_id"))
        gpus = list(experiment.get("gpus") or [])
        run = LiveRun(experiment_id, run_dir, job, executor, _epoch(experiment.get("started")) or time.time(),
                      gpus, mirrored={key: experiment.get(key) for key in ("status", "stage", "progress")})
        self._live[experiment_id] = run  # until its end is stored, even if storing it fails now
        self.pool.hold(experiment_id, gpus)
        if gone:
            self._finish(run, None, gone_reason=GONE_AFTER_RESTART)
        else:
            append_system_log(run, f"app restarted: watching {job.job_id or f'pid {job.pid}'} again")

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
            # fail on every tick; its job is still stopped if it was live.
            run = self._live.get(experiment_id)
            if run is not None:
                run.delete_when_done = True
                self._stop(experiment_id)
            return
        self._notify(experiment_id, changes)

    def _remove(self, experiment_id: str) -> None:
        remove_run_folder(self._run_dir(experiment_id))
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
