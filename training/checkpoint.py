"""``checkpoint/last``: everything needed to continue a run after a crash or a stop.

Trainable weights only (the adapter and heads for LoRA, all weights for full), the
optimizer, the scheduler, the step and every RNG state. Written to a temp folder and
swapped in, so a kill mid-save leaves the previous checkpoint intact.
"""
from __future__ import annotations

import json
import random
import shutil
from pathlib import Path

import numpy as np
import torch

from training.errors import RunError


def save_last(folder: Path, model: torch.nn.Module, optimizer, scheduler, scaler, step: int) -> None:
    folder = Path(folder)
    tmp = folder.with_name(folder.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    trainable = {n: p.detach().cpu() for n, p in model.named_parameters() if p.requires_grad}
    torch.save(trainable, tmp / "trainable.pt")
    torch.save(optimizer.state_dict(), tmp / "optimizer.pt")
    torch.save(scheduler.state_dict(), tmp / "scheduler.pt")
    if scaler is not None:
        torch.save(scaler.state_dict(), tmp / "scaler.pt")
    rng = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        rng["cuda"] = torch.cuda.get_rng_state_all()
    torch.save(rng, tmp / "rng.pt")
    (tmp / "state.json").write_text(json.dumps({"step": step}))
    old = folder.with_name(folder.name + ".old")
    shutil.rmtree(old, ignore_errors=True)
    if folder.exists():
        folder.rename(old)
    tmp.rename(folder)
    shutil.rmtree(old, ignore_errors=True)


def _recover_interrupted_save(folder: Path) -> None:
    """A kill between save_last's two renames leaves only ``last.old``: put it back."""
    old = folder.with_name(folder.name + ".old")
    if not (folder / "state.json").exists() and (old / "state.json").exists():
        shutil.rmtree(folder, ignore_errors=True)
        old.rename(folder)


def load_last(folder: Path, model: torch.nn.Module, optimizer, scheduler, scaler) -> int:
    """Restore the state saved by ``save_last``; returns the optimizer step to continue from."""
    folder = Path(folder)
    _recover_interrupted_save(folder)
    if not (folder / "state.json").exists():
        raise RunError(f"--resume: no checkpoint in {folder}; the run never reached its first evaluation")
    saved = torch.load(folder / "trainable.pt", map_location="cpu")
    params = dict(model.named_parameters())
    expected = {n for n, p in params.items() if p.requires_grad}
    if set(saved) != expected:
        raise RunError("--resume: the checkpoint does not match the model the config builds "
                       "(was training_mode or a LoRA setting changed?)")
    with torch.no_grad():
        for name, value in saved.items():
            params[name].copy_(value.to(params[name].device))
    optimizer.load_state_dict(torch.load(folder / "optimizer.pt", map_location="cpu"))
    scheduler.load_state_dict(torch.load(folder / "scheduler.pt"))
    if scaler is not None and (folder / "scaler.pt").exists():
        scaler.load_state_dict(torch.load(folder / "scaler.pt"))
    rng = torch.load(folder / "rng.pt", weights_only=False)
    random.setstate(rng["python"])
    np.random.set_state(rng["numpy"])
    torch.set_rng_state(rng["torch"])
    if "cuda" in rng and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(rng["cuda"])
    return int(json.loads((folder / "state.json").read_text())["step"])
