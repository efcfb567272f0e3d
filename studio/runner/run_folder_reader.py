"""Read a run folder while the training process may be writing it.

Pure readers with no state beyond a byte offset: the supervisor, the UI and tests all
read the run through these, so they agree on what a half-written file means.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

from studio.store.storable import with_surrogates_replaced

STATUS_FILE = "status.json"
METRICS_FILE = "metrics.jsonl"
FINAL_METRICS_FILE = "final_metrics.json"
TRAIN_LOG = "train.log"
SYSTEM_LOG = "system.log"

TERMINAL_STATUSES = frozenset({"Completed", "Failed", "Stopped", "Pruned"})  # Pruned: stopped by its study
ACTIVE_STATUSES = frozenset({"Starting", "Training", "Validation"})


RESUME_CHECKPOINT = Path("checkpoint") / "last"


def has_resume_checkpoint(run_dir: str | os.PathLike) -> bool:
    """Whether the engine can ``--resume`` this run: checkpoint/last, or the copy a save
    interrupted between its two renames left as checkpoint/last.old (the engine restores it)."""
    last = Path(run_dir) / RESUME_CHECKPOINT
    return any((folder / "state.json").is_file() for folder in (last, last.with_name(last.name + ".old")))


def read_status(run_dir: str | os.PathLike) -> dict | None:
    """The run's status.json as a dict, or None while it is missing or unreadable.

    status.json is written atomically, but a reader may still race a writer that does
    not (or a copy in progress), so a partial file is treated as "not there yet".
    """
    return _read_json_object(Path(run_dir) / STATUS_FILE)


def read_final_metrics(run_dir: str | os.PathLike) -> dict | None:
    """``final_metrics.json`` ({metric: value}) or None when absent or unreadable."""
    return _read_json_object(Path(run_dir) / FINAL_METRICS_FILE)


def _read_json_object(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    # JSON escapes can carry lone surrogates (an engine error quoting bad data); the store,
    # the logs and the page cannot hold them, so they become U+FFFD here, where they enter.
    return with_surrogates_replaced(data) if isinstance(data, dict) else None


class MetricsTail:
    """Incremental reader of ``metrics.jsonl``: each ``read_new()`` returns only new records.

    It remembers the byte offset after the last complete line, so a line the engine is
    still writing is left for the next call, and each poll costs only the new bytes.
    """

    def __init__(self, path: str | os.PathLike, offset: int = 0):
        self.path = Path(path)
        self.offset = offset

    def read_new(self) -> list[dict]:
        try:
            with self.path.open("rb") as handle:
                size = os.fstat(handle.fileno()).st_size
                if size < self.offset:
                    # The file was replaced (a rerun in the same folder): start over.
                    self.offset = 0
                handle.seek(self.offset)
                chunk = handle.read(size - self.offset)
        except FileNotFoundError:
            return []
        end = chunk.rfind(b"\n")
        if end < 0:
            return []
        complete = chunk[: end + 1]
        self.offset += len(complete)
        lines = [line for line in complete.splitlines() if line.strip()]
        try:
            # One parse of every line at once: a run's thousands of lines cost a fifth of one parse each.
            parsed = json.loads(b"[" + b",".join(lines) + b"]")
        except ValueError:
            parsed = [record for record in map(_parsed_line, lines) if record is not None]
        return [record for record in parsed if isinstance(record, dict)]


def _parsed_line(line: bytes):
    try:
        return json.loads(line)
    except ValueError:
        return None  # a corrupt line must not hide the rest of the run's metrics


def tail_log(path: str | os.PathLike, lines: int = 200, max_bytes: int = 1 << 20) -> str:
    """The last ``lines`` lines of a text file, reading at most ``max_bytes`` from its end.

    Logs of long runs grow to many megabytes; the UI polls this every second or so.
    """
    if lines <= 0:
        return ""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            size = os.fstat(handle.fileno()).st_size
            block = 8192
            data = b""
            position = size
            while position > 0 and data.count(b"\n") <= lines and len(data) < max_bytes:
                step = min(block, position, max_bytes - len(data))
                position -= step
                handle.seek(position)
                data = handle.read(step) + data
                block *= 2
    except OSError:  # missing, or a folder the disk or its permissions took away: nothing to show
        return ""
    text = data.decode("utf-8", errors="replace")
    kept = text.splitlines()
    if position > 0 and kept:
        kept = kept[1:]  # the first line is probably cut in the middle
    return "\n".join(kept[-lines:])
