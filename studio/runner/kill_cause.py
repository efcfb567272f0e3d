"""Why a training process died of a signal, including whether the kernel's OOM killer sent it.

A SIGKILL leaves nothing in the run's own logs, so its last line ("best Perplexity so far
…") says nothing about the death. The kernel records out-of-memory kills in two places
we can read without privileges beyond the app's: the memory cgroup's ``oom_kill``
counter (cgroup v2 ``memory.events``, v1 ``memory.oom_control``) and the kernel log
(``dmesg``, often refused inside containers). Either one is evidence; neither is required.
"""
from __future__ import annotations

import re
import shutil
import signal
import subprocess
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PROC_CGROUP = Path("/proc/self/cgroup")

# "Out of memory: Killed process 1234 (python)" and
# "oom-kill:constraint=CONSTRAINT_NONE,...,task=python,pid=1234,uid=0"
_DMESG_VICTIM = re.compile(r"(?:Killed process (\d+)|oom-kill:.*?\bpid=(\d+))")
_OOM_KILL_LINE = re.compile(r"^oom_kill (\d+)$", re.MULTILINE)


def signal_text(number: int) -> str:
    """'signal 9 (SIGKILL)'."""
    try:
        return f"signal {number} ({signal.Signals(number).name})"
    except ValueError:
        return f"signal {number}"


def oom_kill_count(cgroup_root: Path = CGROUP_ROOT, proc_cgroup: Path = PROC_CGROUP) -> int | None:
    """How many OOM kills the app's memory cgroup has counted; None when unreadable.

    Runs started by the app share its cgroup, so a rise between a run's start and its
    death, with the run killed by SIGKILL, is the kernel's OOM killer.
    """
    for path in _memory_event_files(cgroup_root, proc_cgroup):
        try:
            found = _OOM_KILL_LINE.search(path.read_text())
        except OSError:
            continue
        if found:
            return int(found.group(1))
    return None


def _memory_event_files(cgroup_root: Path, proc_cgroup: Path) -> list[Path]:
    v2_path, v1_path = None, None
    try:
        for line in proc_cgroup.read_text().splitlines():
            _, controllers, path = line.split(":", 2)
            if controllers == "":
                v2_path = path
            elif "memory" in controllers.split(","):
                v1_path = path
    except (OSError, ValueError):
        pass
    candidates = []
    # Inside a container the app's own cgroup is usually mounted as the root.
    if v2_path is not None:
        candidates += [cgroup_root / v2_path.lstrip("/") / "memory.events", cgroup_root / "memory.events"]
    if v1_path is not None:
        candidates += [cgroup_root / "memory" / v1_path.lstrip("/") / "memory.oom_control",
                       cgroup_root / "memory" / "memory.oom_control"]
    return candidates


def oom_victims(kernel_log: str) -> set[int]:
    """The pids the kernel log says the OOM killer killed."""
    return {int(a or b) for a, b in _DMESG_VICTIM.findall(kernel_log)}


def read_kernel_log(timeout_s: float = 2.0) -> str:
    """``dmesg`` output, or "" where the kernel log is not readable (most containers)."""
    dmesg = shutil.which("dmesg")
    if dmesg is None:
        return ""
    try:
        result = subprocess.run([dmesg], capture_output=True, text=True, timeout=timeout_s, check=False)
    except (OSError, subprocess.SubprocessError):
        return ""
    return result.stdout if result.returncode == 0 else ""


def oom_evidence(pids: set[int], oom_kills_at_start: int | None, kernel_log: str | None = None,
                 oom_kills_now: int | None = None) -> str | None:
    """Where the kernel said it OOM-killed one of ``pids``, or None when nothing says so."""
    log_text = read_kernel_log() if kernel_log is None else kernel_log
    if pids & oom_victims(log_text):
        return "the kernel log names it as killed for lack of memory"
    now = oom_kill_count() if oom_kills_now is None else oom_kills_now
    if oom_kills_at_start is not None and now is not None and now > oom_kills_at_start:
        return "the memory cgroup's oom_kill count rose while it ran"
    return None


def describe_signal_death(number: int, pids: set[int], oom_kills_at_start: int | None,
                          **evidence) -> str:
    """One line: which signal killed the run, and the OOM killer when the kernel says so."""
    signal_name = signal_text(number)
    if number == signal.SIGKILL:
        oom = oom_evidence(pids, oom_kills_at_start, **evidence)
        if oom:
            return (f"the training process was killed by the kernel's out-of-memory killer ({signal_name}; "
                    f"{oom}): it needed more memory than the machine could give; lower the batch size or "
                    "max length, use LoRA or gradient checkpointing, or run fewer runs at once")
    return f"the training process was killed by {signal_name} before reporting a final status"
