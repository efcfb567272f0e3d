"""Is there room left under STUDIO_HOME? The Home page shows the warning this returns."""
from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from studio.config.disk_space import LOW_DISK_FREE_BYTES, LOW_DISK_FREE_FRACTION


@dataclass(frozen=True)
class DiskSpace:
    free_bytes: int
    total_bytes: int

    @property
    def free_fraction(self) -> float:
        return self.free_bytes / self.total_bytes if self.total_bytes else 0.0


def disk_space(home: Path) -> DiskSpace | None:
    """Free and total bytes of the file system holding ``home``; None when it cannot be read."""
    try:
        usage = shutil.disk_usage(home)
    except OSError:
        return None
    return DiskSpace(usage.free, usage.total)


def low_disk_warning(home: Path, min_free_bytes: int = LOW_DISK_FREE_BYTES,
                     min_free_fraction: float = LOW_DISK_FREE_FRACTION) -> str | None:
    """A sentence for the user when the disk is nearly full, else None."""
    space = disk_space(home)
    if space is None or (space.free_bytes >= min_free_bytes and space.free_fraction >= min_free_fraction):
        return None
    return (f"Low disk space: the disk holding the Studio data folder ({home}) has only "
            f"{_size(space.free_bytes)} free of {_size(space.total_bytes)} ({space.free_fraction:.0%}); "
            f"Studio warns below {_size(min_free_bytes)} or {min_free_fraction:.0%} free. Runs fail when "
            f"it fills up: delete old experiments, datasets or exports, or free space on it.")


def _size(count: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if count < 1000:
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} TB"
