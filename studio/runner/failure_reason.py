"""Turn the end of a dead run's logs into a one-line reason and the lines behind it."""
from __future__ import annotations

import re
import signal
from pathlib import Path

from .run_folder_reader import SYSTEM_LOG, TRAIN_LOG, tail_log

TAIL_LINES = 20
MAX_SUMMARY_CHARS = 300

# "ValueError: ...", "torch.OutOfMemoryError: ...", "KeyboardInterrupt" and friends.
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)\b.*")


def exit_description(exit_code: int | None) -> str:
    if exit_code is None:
        return "ended"
    if exit_code < 0:
        try:
            name = signal.Signals(-exit_code).name
        except ValueError:
            name = f"signal {-exit_code}"
        return f"was killed by {name}"
    return f"exited with code {exit_code}"


def last_log_lines(run_dir: Path, lines: int = TAIL_LINES) -> str:
    """The end of system.log (stderr holds tracebacks), else of train.log."""
    for name in (SYSTEM_LOG, TRAIN_LOG):
        text = tail_log(run_dir / name, lines).strip()
        if text:
            return text
    return ""


def summarize(tail: str) -> str:
    """The line of ``tail`` that best says what went wrong: the last exception line if any."""
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    for line in reversed(lines):
        if _EXCEPTION_LINE.match(line):
            return line
    return lines[-1] if lines else ""


def failure_reason(run_dir: Path, headline: str) -> tuple[str, str]:
    """(one-line reason, last log lines) for a run that died without a final status."""
    tail = last_log_lines(run_dir)
    cause = summarize(tail)
    summary = f"{headline}: {cause}" if cause else f"{headline} (its logs are empty)"
    if len(summary) > MAX_SUMMARY_CHARS:
        summary = summary[: MAX_SUMMARY_CHARS - 1] + "…"
    return summary, tail
