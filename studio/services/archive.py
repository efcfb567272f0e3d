"""Zip a run's model or logs for download from the UI."""
from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path

LOG_FILES = ("config.yaml", "config.input.yaml", "status.json", "metrics.jsonl", "final_metrics.json",
             "train.log", "system.log", "predictions.parquet")
# Weights barely compress; storing them keeps a multi-GB download from costing minutes of CPU.
STORED_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".gguf", ".parquet", ".zip")
WHAT = ("model", "logs", "all")


class ArchiveError(RuntimeError):
    pass


def build_archive(run_dir: str | os.PathLike, what: str = "model", out_dir: str | os.PathLike | None = None) -> Path:
    """Write ``<run id>-<what>.zip`` and return its path.

    model: checkpoint/model (or checkpoint/adapter when no merged model was saved) + config.yaml;
    logs: config, status, metrics, logs, predictions; all: the whole run folder except the
    resumable training state in checkpoint/last. Default output: STUDIO_HOME/exports/.
    """
    run_dir = Path(run_dir).resolve()
    if what not in WHAT:
        raise ArchiveError(f"what={what!r}: choose one of {', '.join(WHAT)}")
    if not run_dir.is_dir():
        raise ArchiveError(f"no run folder at {run_dir}")
    members = _members(run_dir, what)
    if not members:
        raise ArchiveError(f"{run_dir.name} has nothing to download for '{what}' yet")
    if out_dir is None:
        out_dir = run_dir.parent.parent / "exports" if run_dir.parent.name == "runs" else run_dir.parent
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / f"{run_dir.name}-{what}.zip"
    fd, tmp = tempfile.mkstemp(dir=out_dir, prefix=f".{target.name}.", suffix=".tmp")
    os.close(fd)
    try:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True) as archive:
            for path in members:
                stored = path.suffix in STORED_SUFFIXES
                archive.write(path, f"{run_dir.name}/{path.relative_to(run_dir)}",
                              compress_type=zipfile.ZIP_STORED if stored else zipfile.ZIP_DEFLATED)
        os.replace(tmp, target)  # a half-written zip is never offered for download
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def _members(run_dir: Path, what: str) -> list[Path]:
    if what == "logs":
        return [run_dir / name for name in LOG_FILES if (run_dir / name).is_file()]
    if what == "model":
        model = run_dir / "checkpoint" / "model"
        if not model.is_dir():
            model = run_dir / "checkpoint" / "adapter"
        files = sorted(p for p in model.rglob("*") if p.is_file()) if model.is_dir() else []
        return files + ([run_dir / "config.yaml"] if files and (run_dir / "config.yaml").is_file() else [])
    skip = run_dir / "checkpoint" / "last"
    return sorted(p for p in run_dir.rglob("*") if p.is_file() and skip not in p.parents)
