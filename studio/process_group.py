"""Process groups we started (training runs and servers each lead their own): recognising and signalling them."""
from __future__ import annotations

import os
import signal

import psutil


def group_leader(pid: int | str | None) -> tuple[psutil.Process, list[str]] | None:
    """The live process ``pid`` and its command line if it leads its own process group, else None.

    We start runs and servers in a new session, so each leads its own group. A pid can be
    reused after it ended, so callers must still check the command line is the one they started.
    """
    try:
        if not pid or int(pid) <= 1:
            return None  # 0 or 1 is never ours, and killpg(0 or 1) would hit the app itself
        process = psutil.Process(int(pid))
        if process.status() == psutil.STATUS_ZOMBIE or os.getpgid(process.pid) != process.pid:
            return None
        return process, process.cmdline()
    except (psutil.Error, ProcessLookupError, ValueError):
        return None


def signal_group(pid: int | None, sig: signal.Signals) -> bool:
    """Send ``sig`` to the process group ``pid`` leads; False when it leads none (any more) or is gone."""
    if not pid or pid <= 1:
        return False  # killpg(0 or 1) would hit the app itself
    try:
        if os.getpgid(pid) != pid:
            return False  # the pid now belongs to some other process: leave it alone
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        return False
    return True


def kill_group(pgid: int | None) -> None:
    """SIGKILL whatever is left in the group ``pgid``, even after its leader has gone, so no child outlives it."""
    if not pgid or pgid <= 1:
        return  # killpg(0 or 1) would hit the app itself
    try:
        os.killpg(pgid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
