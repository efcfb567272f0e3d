"""Turn the end of a dead run into a one-line reason a user can act on, and the lines behind it.

The reason is the exception the logs end with, a storage failure said in the OS's words
("No space left on device", "Read-only file system") rather than torch's
``inline_container.cc`` text, or the signal that killed the process. An ordinary INFO
line is never a reason: it only says what the run did last, and it stays in the tail.
"""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

from .kill_cause import signal_text
from .run_folder_reader import SYSTEM_LOG, TRAIN_LOG, tail_log

TAIL_LINES = 20
MAX_SUMMARY_CHARS = 300
PROBE_BYTES = 64 * 1024

# "ValueError: ...", "torch.OutOfMemoryError: ...", "KeyboardInterrupt" and friends.
_EXCEPTION_LINE = re.compile(r"^[A-Za-z_][\w.]*(Error|Exception|Interrupt|Exit)\b.*")
# torch.save reports a short write (a full disk, a quota) as a C++ assertion, not an errno.
_TORCH_SHORT_WRITE = re.compile(r"inline_container\.cc|PytorchStreamWriter failed|file write failed")
# torchrun's summary of a rank that died of a signal: "exitcode  : -9 (pid: 1234)".
_RANK_SIGNAL = re.compile(r"exitcode\s*:\s*-(\d+)\s*\(pid:\s*(\d+)\)")
_OS_STORAGE_ERRORS = ("No space left on device", "Read-only file system", "Disk quota exceeded")


def exit_description(exit_code: int | None) -> str:
    if exit_code is None:
        return "ended"
    if exit_code < 0:
        return f"was killed by {signal_text(-exit_code)}"
    return f"exited with code {exit_code}"


def last_log_lines(run_dir: Path, lines: int = TAIL_LINES) -> str:
    """The end of system.log (stderr holds tracebacks), else of train.log."""
    for name in (SYSTEM_LOG, TRAIN_LOG):
        text = tail_log(run_dir / name, lines).strip()
        if text:
            return text
    return ""


def summarize(tail: str) -> str:
    """The last exception line of ``tail``, or "" when the logs end without one."""
    lines = [line.strip() for line in tail.splitlines() if line.strip()]
    for line in reversed(lines):
        if _EXCEPTION_LINE.match(line):
            return line
    return ""


def rank_killed_by_signal(tail: str) -> tuple[int, int] | None:
    """(signal, pid) when torchrun's summary says a rank died of a signal."""
    found = _RANK_SIGNAL.findall(tail)
    if not found:
        return None
    number, pid = found[-1]
    return int(number), int(pid)


def run_folder_write_error(run_dir: Path) -> str | None:
    """The OS's words for why ``run_dir`` takes no write now, or None when it does."""
    try:
        fd, probe = tempfile.mkstemp(dir=run_dir, prefix=".studio-write-probe-")
    except OSError as exc:
        return exc.strerror or str(exc)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(b"\0" * PROBE_BYTES)
            handle.flush()
            os.fsync(handle.fileno())
    except OSError as exc:
        return exc.strerror or str(exc)
    finally:
        Path(probe).unlink(missing_ok=True)
    return None


def storage_reason(error: str | None, run_dir: Path) -> str | None:
    """``error`` in storage terms when writing the run folder is what failed, else unchanged."""
    if not error or any(text in error for text in _OS_STORAGE_ERRORS):
        return error
    folder_problem = run_folder_write_error(run_dir) if run_dir.is_dir() else None
    if folder_problem:
        return _bounded(f"{folder_problem}: the run folder {run_dir} cannot be written ({error})")
    if _TORCH_SHORT_WRITE.search(error):
        return _bounded("writing a checkpoint stopped part-way, which torch reports when the disk is full "
                        f"(No space left on device) or a quota is reached; torch said: {error}")
    return error


def failure_reason(run_dir: Path, headline: str, tail: str | None = None) -> tuple[str, str]:
    """(one-line reason, last log lines) for a run that died without a final status."""
    tail = last_log_lines(run_dir) if tail is None else tail
    cause = summarize(tail)
    summary = f"{headline}: {cause}" if cause else headline
    return _bounded(storage_reason(summary, run_dir)), tail


def _bounded(text: str) -> str:
    text = " ".join(text.split())  # one line, like every status error
    return text if len(text) <= MAX_SUMMARY_CHARS else text[: MAX_SUMMARY_CHARS - 1] + "…"
