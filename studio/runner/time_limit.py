"""Stop a run that passed the Settings' maximum run time (a public demo's guard), saying why.

The stop is the user's Stop (SIGTERM, then a forced kill after the grace period), so the engine
can end cleanly; the reason becomes the run's error, shown on its detail view.
"""
from __future__ import annotations

import time
from typing import Callable

from studio.config.runner_settings import MAX_RUN_MINUTES

from .live_run import LiveRun
from .run_end import STOPPED, append_system_log


def over_limit_reason(started: float, now: float, limit_minutes: float) -> str | None:
    """The run's stop reason once it has run ``limit_minutes`` (0 = no limit), else None."""
    if limit_minutes <= 0 or now - started < limit_minutes * 60:
        return None
    unit = "minute" if limit_minutes == 1 else "minutes"
    return (f"stopped after {limit_minutes:g} {unit}: the maximum run time on this Studio "
            f"({MAX_RUN_MINUTES.label} on the Admin page)")


def enforce(run: LiveRun, settings, stop: Callable[[str], None]) -> None:
    """Call ``stop(experiment_id)`` once ``run`` is over the limit; the reason is kept on the run."""
    if run.stop_requested:
        return
    reason = over_limit_reason(run.started, time.time(), float(MAX_RUN_MINUTES.value(settings) or 0.0))
    if reason:
        run.stop_reason = reason
        run.end_as = (STOPPED, "stopped: time limit")
        append_system_log(run, reason)
        stop(run.experiment_id)
