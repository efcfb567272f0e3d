"""Removing run folders without making anyone wait for gigabytes of checkpoints to be deleted."""
from __future__ import annotations

import shutil
import threading
import uuid
from pathlib import Path

# A deleted run folder is renamed to this prefix first, then removed in the background.
TRASH_PREFIX = ".deleting-"


def remove_run_folder(run_dir: Path) -> None:
    """Rename now (instant: the run is gone for every reader), delete off the caller's path."""
    if not run_dir.exists():
        return
    trash = run_dir.with_name(f"{TRASH_PREFIX}{run_dir.name}-{uuid.uuid4().hex[:6]}")
    try:
        run_dir.rename(trash)
    except OSError:
        shutil.rmtree(run_dir, ignore_errors=True)
    else:
        delete_in_background([trash])


def delete_left_over_trash(runs_root: Path) -> None:
    """Folders a deletion left half removed when the app stopped."""
    if runs_root.is_dir():
        delete_in_background(list(runs_root.glob(f"{TRASH_PREFIX}*")))


def delete_in_background(folders: list[Path]) -> None:
    if folders:
        threading.Thread(target=lambda: [shutil.rmtree(f, ignore_errors=True) for f in folders],
                         name="studio-runner-delete", daemon=True).start()
