"""The real engine CLI (``python -m training``) in a subprocess, and reading what it wrote, for the tests that train through it."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
# What a completed run leaves in its folder (the run-folder contract).
RUN_FILES = ["config.yaml", "config.input.yaml", "status.json", "metrics.jsonl", "train.log", "system.log",
             "predictions.parquet", "final_metrics.json", "checkpoint/model/config.json", "checkpoint/last/state.json"]


def write_config(path: Path, cfg: dict, sections: dict) -> Path:
    """Write ``cfg`` as YAML with ``sections`` laid over it: a dict updates that section, anything else replaces it."""
    for section, values in sections.items():
        if isinstance(values, dict):
            cfg.setdefault(section, {}).update(values)
        else:
            cfg[section] = values
    path.write_text(yaml.safe_dump(cfg))
    return path


def engine_env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT) + os.pathsep + env.get("PYTHONPATH", "")
    env.setdefault("OMP_NUM_THREADS", "2")
    env.update(extra)
    return env


def run_engine(*args: str, timeout: int = 300, **extra_env: str) -> subprocess.CompletedProcess:
    """``python -m training *args`` from the repo root; ``extra_env`` is added to its environment."""
    return subprocess.run([sys.executable, "-m", "training", *args], cwd=ROOT, env=engine_env(**extra_env),
                          capture_output=True, text=True, timeout=timeout)


def read_metrics(run_dir: Path) -> list[dict]:
    return [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines() if line.strip()]


def read_status(run_dir: Path) -> dict:
    return json.loads((run_dir / "status.json").read_text())


def run_torchrun(nproc: int, *args: str, timeout: int = 600, **extra_env: str) -> subprocess.CompletedProcess:
    """``torchrun --standalone --nproc_per_node N *args`` (e.g. ``-m training ...``) from the repo root.

    ``--standalone`` gives every launch its own free rendezvous port, so tests may run side by side.
    """
    command = [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc_per_node={nproc}", *args]
    return subprocess.run(command, cwd=ROOT, env=engine_env(OMP_NUM_THREADS="1", **extra_env), capture_output=True,
                          text=True, timeout=timeout)
