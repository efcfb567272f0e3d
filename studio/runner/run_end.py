"""Decide how a run whose job is gone ended, in one set of row changes, and say it in its files."""
from __future__ import annotations

import logging
import time

from studio.atomic_io import write_json_atomic

from .failure_reason import (TAIL_LINES, exit_description, failure_reason, last_log_lines,
                             rank_killed_by_signal, storage_reason)
from .kill_cause import describe_signal_death
from .live_run import LiveRun
from .run_folder_reader import SYSTEM_LOG, TERMINAL_STATUSES, read_status
from .run_results import final_metric_fields
from .timestamps import iso

log = logging.getLogger(__name__)

STOPPED, FAILED, COMPLETED = "Stopped", "Failed", "Completed"


def decide_end(run: LiveRun, exit_code: int | None, gone_reason: str | None) -> dict:
    """The row changes for the end of ``run``, plus the status.json it had (``status_file``)."""
    status = read_status(run.run_dir) or {}
    reported = status.get("status") if run.is_this_attempt(status) else None
    now = time.time()
    changes: dict = {"finished": iso(now), "runtime_s": round(now - run.started, 3), "pid": None,
                     "warning": None, "reported_status": reported, "status_file": status}
    if reported == COMPLETED:
        changes.update(status=COMPLETED, stage=status.get("stage") or COMPLETED, error=None)
    elif run.hung_reason:
        changes.update(status=FAILED, stage="killed: not responding", error=run.hung_reason,
                       error_log=_tail(run))
    elif reported in TERMINAL_STATUSES and not run.stop_requested:
        changes.update(status=reported, stage=status.get("stage") or reported,
                       error=storage_reason(status.get("error"), run.run_dir))
    elif run.stop_requested:
        status_after, stage = run.end_as or (STOPPED, "stopped by the user")
        changes.update(status=status_after, stage=stage, error=run.stop_reason)
    else:
        tail = _tail(run)
        summary, _ = failure_reason(run.run_dir, _death_headline(run, exit_code, gone_reason, tail), tail)
        changes.update(status=FAILED, stage=status.get("stage") or "failed", error=summary, error_log=tail)
    if changes["status"] == COMPLETED:
        changes["progress"] = 1.0
    changes.update(final_metric_fields(run.run_dir))
    return changes


def _tail(run: LiveRun) -> str:
    """The job's own output (tracebacks land there), else the run folder's logs."""
    try:
        tail = run.executor.logs(run.job, TAIL_LINES).strip()
    except Exception:  # an unreachable cluster must not hide the run folder's logs
        tail = ""
    return tail or last_log_lines(run.run_dir)


def _death_headline(run: LiveRun, exit_code: int | None, gone_reason: str | None, tail: str) -> str:
    if gone_reason:
        return gone_reason
    if exit_code is not None and exit_code < 0:
        return describe_signal_death(-exit_code, set(run.pids) | {run.job.pid or 0}, run.oom_kills_at_start)
    rank = rank_killed_by_signal(tail)
    if rank is not None:  # torchrun exits 1 when one of its ranks was killed
        number, pid = rank
        return describe_signal_death(number, {pid}, run.oom_kills_at_start).replace(
            "the training process", f"a training rank (pid {pid})", 1)
    return f"the training process {exit_description(exit_code)} without reporting a final status"


def write_final_status(run: LiveRun, changes: dict) -> None:
    """Make the files say what the store says, for the UI and file readers alike; best effort."""
    status = changes.pop("status_file")
    reported = changes.pop("reported_status")
    try:
        if reported != changes["status"] and run.run_dir.is_dir():
            write_json_atomic(run.run_dir / "status.json", {
                **status, "status": changes["status"], "stage": changes["stage"],
                "progress": status.get("progress", 0.0), "pid": run.job.pid,
                "started": status.get("started") or iso(run.started), "updated": changes["finished"],
                "error": changes["error"],
            })
    except OSError as exc:  # a full disk or a read-only folder: the store still gets the end
        log.warning("could not write the final status of %s: %s", run.experiment_id, exc)
    append_system_log(run, f"run ended: {changes['status']}"
                      + (f" ({changes['error']})" if changes.get("error") else ""))


def append_system_log(run: LiveRun, message: str) -> None:
    if not run.run_dir.is_dir():
        return
    try:
        with open(run.run_dir / SYSTEM_LOG, "a", encoding="utf-8") as handle:
            handle.write(f"[studio] {time.strftime('%Y-%m-%d %H:%M:%S')} {message}\n")
    except OSError:
        pass
