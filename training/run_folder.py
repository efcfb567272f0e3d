"""The run folder contract, written only by the training process.

``RUN_DIR/status.json`` (atomic), ``metrics.jsonl`` (one JSON object per line, flushed),
``train.log`` (what the user reads: epochs, metrics, LoRA set-up) and ``system.log``
(device, versions, memory, warnings, tracebacks). The runner and the UI only read them.
"""
from __future__ import annotations

import datetime as dt
import json
import logging
import math
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

from studio.atomic_io import write_json_atomic

STATUSES = ("Queued", "Starting", "Training", "Validation", "Completed", "Failed", "Stopped")
# How often status.json's "heartbeat" is refreshed; the runner fails a run whose heartbeat
# is older than its hung-run timeout (minutes), so this only needs to be well below that.
HEARTBEAT_EVERY_S = 10.0


def _now(timespec: str = "seconds") -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec=timespec)


class StatusWriter:
    """Owns status.json: every update rewrites it atomically with the fields the runner polls.

    A daemon thread refreshes ``heartbeat`` every ``heartbeat_every_s``: a long step does
    not stop it, a stopped or frozen process does, which is what the runner's hang check
    looks for. It stops once a final status is written.
    """

    def __init__(self, run_dir: Path, heartbeat_every_s: float = HEARTBEAT_EVERY_S):
        self.path = Path(run_dir) / "status.json"
        self.state: dict[str, Any] = {
            "status": "Starting", "stage": "starting", "progress": 0.0, "pid": os.getpid(),
            "started": _now(), "updated": _now(), "heartbeat": _now("milliseconds"), "error": None,
        }
        self._lock = threading.Lock()
        self._ended = threading.Event()
        if heartbeat_every_s > 0:
            threading.Thread(target=self._beat, args=(heartbeat_every_s,), name="studio-heartbeat",
                             daemon=True).start()

    def _beat(self, every_s: float) -> None:
        while not self._ended.wait(every_s):
            with self._lock:
                self.state["heartbeat"] = _now("milliseconds")
                try:
                    write_json_atomic(self.path, self.state)
                except OSError:
                    pass  # a full disk: the main thread's own write reports it

    def update(self, status: str | None = None, *, stage: str | None = None, progress: float | None = None,
               error: str | None = None) -> None:
        with self._lock:
            if status is not None:
                assert status in STATUSES, status
                self.state["status"] = status
                if status in ("Completed", "Failed", "Stopped"):
                    self._ended.set()
            if stage is not None:
                self.state["stage"] = stage
            if progress is not None:
                self.state["progress"] = round(min(max(float(progress), 0.0), 1.0), 4)
            if error is not None:
                self.state["error"] = " ".join(str(error).split())[:500]  # one line, bounded
            self.state["updated"], self.state["heartbeat"] = _now(), _now("milliseconds")
            write_json_atomic(self.path, self.state)


class MetricsWriter:
    """Appends ``{"step","epoch","time","split","name","value"}`` lines, flushed as written."""

    def __init__(self, run_dir: Path, *, keep_until_step: int | None = None):
        self.path = Path(run_dir) / "metrics.jsonl"
        if keep_until_step is not None and self.path.exists():
            # On resume, drop what was logged after the checkpoint: those steps run again.
            kept = [line for line in self.path.read_text().splitlines()
                    if line.strip() and json.loads(line)["step"] <= keep_until_step]
            self.path.write_text("".join(line + "\n" for line in kept))
        self._file = open(self.path, "a", encoding="utf-8")

    def records(self) -> list[dict]:
        """Every line written so far (including those kept from before a resume)."""
        self._file.flush()
        return [json.loads(line) for line in self.path.read_text(encoding="utf-8").splitlines() if line.strip()]

    def log(self, step: int, epoch: float, split: str, name: str, value: float) -> None:
        value = float(value)
        if not math.isfinite(value):
            return  # JSON has no NaN/inf; a missing point is honest, a fake one is not
        record = {"step": int(step), "epoch": round(float(epoch), 4), "time": round(time.time(), 3),
                  "split": split, "name": name, "value": value}
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()

    def close(self) -> None:
        self._file.close()


class RunLogs:
    """train.log for the user, system.log for the infrastructure; both also echo to stderr.

    The runner points the engine's stderr at system.log (to keep crashes and library output):
    then nothing is echoed, or every line would land in system.log twice.
    """

    def __init__(self, run_dir: Path, *, echo: bool = True):
        run_dir = Path(run_dir)
        system_log = run_dir / "system.log"
        system_log.touch()
        echo = echo and not _stderr_is(system_log)
        self._train = _file_logger(f"studio.train.{id(self)}", run_dir / "train.log", echo)
        self._system = _file_logger(f"studio.system.{id(self)}", system_log, echo)

    def train(self, message: str) -> None:
        self._train.info(message)

    def system(self, message: str) -> None:
        self._system.info(message)

    def warning(self, message: str) -> None:
        self._system.warning(message)

    def error(self, message: str) -> None:
        self._system.error(message)

    def capture_warnings(self) -> None:
        """Route Python warnings and the transformers/peft loggers into system.log."""
        logging.captureWarnings(True)
        for name in ("py.warnings", "transformers", "peft", "torch"):
            logger = logging.getLogger(name)
            for handler in self._system.handlers:
                if handler not in logger.handlers:
                    logger.addHandler(handler)

    def close(self) -> None:
        for logger in (self._train, self._system):
            for handler in list(logger.handlers):
                handler.flush()
                handler.close()
                logger.removeHandler(handler)


def _stderr_is(path: Path) -> bool:
    try:
        stderr, target = os.fstat(sys.stderr.fileno()), os.stat(path)
    except (OSError, ValueError, AttributeError):  # no stderr, or one without a file (pytest capture)
        return False
    return (stderr.st_dev, stderr.st_ino) == (target.st_dev, target.st_ino)


def _file_logger(name: str, path: Path, echo: bool) -> logging.Logger:
    logger = logging.getLogger(name)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(formatter)
    logger.addHandler(handler)
    if echo:
        stream = logging.StreamHandler()
        stream.setFormatter(formatter)
        logger.addHandler(stream)
    return logger
