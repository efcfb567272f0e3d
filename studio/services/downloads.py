"""Per-request, expiring folders for the files the app hands to a browser (issue 9, item 13).

A zip left at a fixed path (STUDIO_HOME/exports/<id>-logs.zip) could be fetched by anyone
at /gradio_api/file=<that path>, forever. Instead each download is written into a fresh
folder named with its expiry time and 128 random bits, inside the web server's file cache
(so it is served as it is, not copied again), and the folder is deleted once it expires:
by a timer in this process, and by the sweep every new download (and the app's start) runs,
which also catches folders left by an app that was stopped before its timers fired.
"""
from __future__ import annotations

import secrets
import shutil
import threading
import time
from pathlib import Path

FOLDER_PREFIX = "studio-download-"


class ExpiringDownloads:
    def __init__(self, root: Path, ttl_s: float):
        self.root = Path(root)
        self.ttl_s = max(0.0, float(ttl_s))

    def new_folder(self) -> Path:
        """An empty folder, private to this request, that is deleted ``ttl_s`` from now."""
        self.sweep()
        expires = time.time() + self.ttl_s
        folder = self.root / f"{FOLDER_PREFIX}{expires:.3f}-{secrets.token_hex(16)}"
        folder.mkdir(parents=True, mode=0o700)
        timer = threading.Timer(self.ttl_s + 0.05, self.sweep)
        timer.daemon = True
        timer.start()
        return folder

    def sweep(self, now: float | None = None) -> list[Path]:
        """Delete every expired download folder under ``root``; returns those deleted."""
        now = time.time() if now is None else now
        removed = []
        for folder in self.root.glob(FOLDER_PREFIX + "*"):
            expires = _expiry(folder.name)
            if expires is not None and expires <= now:
                shutil.rmtree(folder, ignore_errors=True)
                removed.append(folder)
        return removed


def _expiry(name: str) -> float | None:
    try:
        return float(name[len(FOLDER_PREFIX):].split("-", 1)[0])
    except ValueError:
        return None
