"""Tell a hung training process from a slow one by the engine's heartbeat in status.json.

The engine refreshes ``heartbeat`` from a thread every few seconds, so a long step or
evaluation keeps beating, and a stopped (SIGSTOP) or frozen process does not.
"""
from __future__ import annotations

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
