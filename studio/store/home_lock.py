"""One writer process per STUDIO_HOME: an OS file lock held for the app's (or a CLI tool's) life.

Two apps on one data folder each keep their own in-memory copy of db.json and overwrite
each other's writes (17 of 199 projects were lost that way). The lock is ``flock`` on
``STUDIO_HOME/studio.lock``: the kernel drops it when the holder exits, however it exits,
so a crash never leaves a stale lock. The holder writes who it is (pid, role, address,
start time) into the same file, which the refused process reads to name it.
"""
from __future__ import annotations

import json
import os
import socket
import sys
from datetime import datetime, timezone
from pathlib import Path

from filelock import FileLock, Timeout

from .errors import StoreError

LOCK_FILE = "studio.lock"


class HomeInUseError(StoreError):
    """Another process holds STUDIO_HOME's writer lock."""


class HomeLock:
    """``with HomeLock(home, role="app", url="http://127.0.0.1:7860"):`` (or ``acquire()`` / ``release()``)."""

    def __init__(self, home: Path, role: str, **details: object):
        self.home = Path(home)
        self.path = self.home / LOCK_FILE
        self.owner = {"pid": os.getpid(), "role": role, "host": socket.gethostname(),
                      "started": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                      "command": " ".join(sys.argv)[:300], **details}
        # Not per thread: the app holds it from its main thread for its whole life.
        # preserve_lock_file keeps one inode for everyone (and rules out a soft lock that
        # a crash would leave behind).
        self._lock = FileLock(self.path, timeout=0, thread_local=False, preserve_lock_file=True,
                              on_acquired=self._write_owner)

    def acquire(self) -> "HomeLock":
        self.home.mkdir(parents=True, exist_ok=True)
        try:
            self._lock.acquire()
        except Timeout:
            raise HomeInUseError(in_use_message(self.home, read_owner(self.home))) from None
        except OSError as exc:
            raise StoreError(f"cannot lock the Studio data folder {self.home} ({exc}); "
                             f"it must be on a file system that supports file locks") from exc
        return self

    def release(self) -> None:
        if self._lock.is_locked:
            self._lock.release(force=True)

    @property
    def held(self) -> bool:
        return self._lock.is_locked

    def __enter__(self) -> "HomeLock":
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()

    def _write_owner(self, fd: int) -> None:
        data = json.dumps(self.owner).encode("utf-8")
        os.ftruncate(fd, 0)
        os.pwrite(fd, data, 0)


def read_owner(home: Path) -> dict:
    """What the holder wrote about itself; {} when the file is missing or being rewritten."""
    try:
        owner = json.loads((Path(home) / LOCK_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return owner if isinstance(owner, dict) else {}


def in_use_message(home: Path, owner: dict) -> str:
    what = str(owner.get("role") or "process")
    facts = [f"pid {owner['pid']}" if owner.get("pid") else "pid unknown"]
    if owner.get("url"):
        facts.append(str(owner["url"]))
    if owner.get("host"):
        facts.append(f"on {owner['host']}")
    if owner.get("started"):
        facts.append(f"since {owner['started']}")
    return (f"STUDIO_HOME {home} is in use by a running Studio {what} ({', '.join(facts)}). "
            f"Stop it first, or set STUDIO_HOME to another folder.")
