"""Tell a hung training process from a slow one by the engine's heartbeat in status.json.

The engine refreshes ``heartbeat`` from a thread every few seconds, so a long step or
evaluation keeps beating, and a stopped (SIGSTOP) or frozen process does not.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

from studio.config.runner_settings import HUNG_WARNING_FRACTION

from .timestamps import epoch, iso


@dataclass(frozen=True)
class HangVerdict:
    action: str  # "ok", "warn", "clear" (beating again after a warning) or "kill"
    message: str = ""


def judge(status: dict, launched: float, now: float, timeout_s: float, warned: bool) -> HangVerdict:
    if timeout_s <= 0:
        return HangVerdict("ok")
    beats = [epoch(status.get(key)) for key in ("heartbeat", "updated")]
    last = max([launched] + [beat for beat in beats if beat])
    silent = now - last
    minutes = f"{timeout_s / 60:g}"
    if silent >= timeout_s:
        return HangVerdict("kill", f"no progress for {minutes} minutes: the training process stopped "
                                   f"responding (last heartbeat {iso(last)}), so the runner killed its "
                                   "process group")
    if silent >= timeout_s * HUNG_WARNING_FRACTION:
        if warned:
            return HangVerdict("ok")
        return HangVerdict("warn", f"not responding: no heartbeat for {silent / 60:.1f} minutes; the run will "
                                   f"be failed as hung after {minutes} minutes")
    return HangVerdict("clear" if warned else "ok")


def watch_heartbeat(run, status: dict | None, timeout_s: float, update) -> None:
    """Warn about, then kill, a run whose engine stopped beating (SIGSTOP, a frozen node).

    ``run`` is the supervisor's LiveRun; ``update(experiment_id, changes)`` stores a change."""
    from .run_end import append_system_log

    if run.stop_requested or run.hung_reason:
        return
    this_attempt = status if status and run.is_this_attempt(status) else {}
    verdict = judge(this_attempt, run.started, time.time(), timeout_s, run.hang_warned)
    if verdict.action == "kill":
        run.hung_reason = verdict.message
        append_system_log(run, f"{verdict.message}; killing the job")
        run.executor.stop(run.job, force=True)  # SIGKILL also ends a stopped process
        update(run.experiment_id, {"stage": "killed: not responding"})
    elif verdict.action == "warn":
        run.hang_warned = True
        append_system_log(run, verdict.message)
        run.mirrored["stage"] = None  # the engine's next stage replaces the warning
        update(run.experiment_id, {"warning": verdict.message, "stage": verdict.message})
    elif verdict.action == "clear":
        run.hang_warned = False
        update(run.experiment_id, {"warning": None})
