"""A stand-in for ``python -m training RUN_DIR`` that behaves on command, for runner tests.

Usage: fake_engine.py RUN_DIR MODE [--resume]. It writes status.json / metrics.jsonl /
final_metrics.json like the real engine, and appends "start"/"end" events with times to
STUDIO_HOME/events.log so tests can check order and overlap.

Modes: complete (finish after a short while), wait (finish once RUN_DIR/release exists),
crash (traceback on stderr, exit 1), crash_after_checkpoint (same, after writing
checkpoint/last/), ignore_term (SIGTERM is ignored), spawn_child (a child process that
would outlive us, pid in RUN_DIR/child.pid), silent_exit (exit 0 without a final status),
beat (the engine's own StatusWriter with a fast heartbeat, until RUN_DIR/release exists),
status_until_fail (the engine's StatusWriter rewriting status.json until a write fails, then
failing as the engine does), checkpoint (torch.save to RUN_DIR/checkpoint.pt, reporting a
failure the way the engine's __main__ does).
"""
from __future__ import annotations

import datetime as dt
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from studio.atomic_io import write_json_atomic

run_dir = Path(sys.argv[1])
mode = sys.argv[2]
resuming = "--resume" in sys.argv[3:]
home = Path(os.environ["STUDIO_HOME"])


def now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def event(kind: str) -> None:
    with open(home / "events.log", "a") as handle:
        handle.write(f"{kind} {run_dir.name} {time.time():.6f}\n")


def status(value: str, stage: str, progress: float, error: str | None = None) -> None:
    write_json_atomic(run_dir / "status.json", {
        "status": value, "stage": stage, "progress": progress, "pid": os.getpid(),
        "started": now(), "updated": now(), "error": error,
    })


def metric(step: int, name: str, value: float, split: str = "train") -> None:
    with open(run_dir / "metrics.jsonl", "a") as handle:
        handle.write(json.dumps({"step": step, "epoch": step / 2, "time": time.time(), "split": split,
                                 "name": name, "value": value}) + "\n")


def finish() -> None:
    write_json_atomic(run_dir / "final_metrics.json", {"Perplexity": 3.5, "BLEU": 12.0})
    status("Completed", "done", 1.0)
    event("end")


rank = int(os.environ.get("RANK", "0"))
if rank > 0:  # under torchrun only rank 0 writes the run folder, as the engine does
    (run_dir / f"rank{rank}.json").write_text(json.dumps({
        "pid": os.getpid(), "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES"),
        "WORLD_SIZE": os.environ.get("WORLD_SIZE")}))
    while mode in ("wait", "beat") and not (run_dir / "release").exists():
        time.sleep(0.05)
    sys.exit(0)

(run_dir / "env.json").write_text(json.dumps({
    "pid": os.getpid(), "WORLD_SIZE": os.environ.get("WORLD_SIZE"),
    "CUDA_VISIBLE_DEVICES": os.environ.get("CUDA_VISIBLE_DEVICES"),
    "STUDIO_HOME": os.environ.get("STUDIO_HOME"), "argv": sys.argv,
}))
event("start")
status("Training", "epoch 1/1, step 1/2", 0.1)
metric(1, "loss", 2.0)
print(f"fake engine {mode} resume={resuming}", flush=True)

if resuming:
    (run_dir / "resumed").write_text("yes")
    finish()
elif mode == "complete":
    time.sleep(0.3)
    metric(2, "loss", 1.5)
    finish()
elif mode == "wait":
    while not (run_dir / "release").exists():
        time.sleep(0.05)
    finish()
elif mode in ("crash", "crash_after_checkpoint"):
    if mode == "crash_after_checkpoint":
        (run_dir / "checkpoint" / "last").mkdir(parents=True)
        (run_dir / "checkpoint" / "last" / "state.json").write_text('{"step": 1}')
    print("Traceback (most recent call last):\n  File \"train.py\", line 1, in <module>\n"
          "ValueError: learning_rate must be positive", file=sys.stderr, flush=True)
    sys.exit(1)
elif mode == "ignore_term":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    (run_dir / "ignoring").write_text("yes")
    time.sleep(120)
elif mode == "spawn_child":
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    (run_dir / "child.pid").write_text(str(child.pid))
    time.sleep(120)
elif mode == "silent_exit":
    sys.exit(0)
elif mode == "beat":
    from training.run_folder import StatusWriter
    writer = StatusWriter(run_dir, heartbeat_every_s=0.2)
    writer.update("Training", stage="beating")
    while not (run_dir / "release").exists():
        time.sleep(0.05)
    writer.update("Completed", stage="completed", progress=1.0)
elif mode == "status_until_fail":
    from training.run_folder import StatusWriter
    writer = StatusWriter(run_dir, heartbeat_every_s=0)
    step = 0
    try:
        while True:
            step += 1
            writer.update("Training", stage=f"step {step}", progress=0.5)
            time.sleep(0.05)
    except OSError as exc:
        writer.update("Failed", stage="failed", error=f"{type(exc).__name__}: {exc}")  # fails again
elif mode == "checkpoint":
    import torch
    try:
        torch.save({"weight": torch.zeros(256, 256)}, run_dir / "checkpoint.pt")
    except Exception as exc:
        status("Failed", "saving model", 0.9, error=f"{type(exc).__name__}: {exc}")
        sys.exit(1)
    finish()
else:
    raise SystemExit(f"unknown mode {mode}")
